-- name: insert_upload
INSERT INTO media_objects (id, owner_id, purpose, upload_key, content_type, max_bytes, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
RETURNING *;

-- name: lock_media
SELECT * FROM media_objects WHERE id = $1 FOR UPDATE;

-- name: media_by_id
SELECT * FROM media_objects WHERE id = $1;

-- name: mark_ready
UPDATE media_objects
SET status = 'ready', size_bytes = $2, width = $3, height = $4, variants = $5::jsonb, confirmed_at = now()
WHERE id = $1
RETURNING *;

-- name: delete_media
DELETE FROM media_objects WHERE id = $1;

-- name: claim_orphans
-- Pending uploads past their deadline, claimed by one cleaner at a time (SKIP LOCKED).
SELECT id, upload_key FROM media_objects
WHERE status = 'pending' AND expires_at < now()
ORDER BY expires_at
LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: delete_media_ids
DELETE FROM media_objects WHERE id = ANY($1::uuid[]);
