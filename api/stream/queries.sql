-- Live streams (api/stream/). Tables: migrations/0015_streams.sql.

-- name: active_stream
SELECT * FROM streams WHERE creator_id = $1 AND status <> 'ended';

-- name: lock_active_stream
SELECT * FROM streams WHERE creator_id = $1 AND status <> 'ended' FOR UPDATE;

-- name: latest_stream
SELECT * FROM streams WHERE creator_id = $1 ORDER BY (status <> 'ended') DESC, id DESC LIMIT 1;

-- name: insert_stream
-- No row back when the creator already has a stream that has not ended.
INSERT INTO streams (creator_id, room, title, category, thumbnail_url)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (creator_id) WHERE status <> 'ended' DO NOTHING
RETURNING *;

-- name: update_info
UPDATE streams SET title = $2, category = $3, thumbnail_url = $4 WHERE id = $1 RETURNING *;

-- name: update_chat
UPDATE streams SET chat_enabled = $2, chat_followers_only = $3, chat_slow_mode = $4, allow_anonymous = $5
WHERE id = $1 RETURNING *;

-- name: past_streams
SELECT * FROM streams WHERE creator_id = $1 AND status = 'ended' AND id < $2 ORDER BY id DESC LIMIT $3;

-- name: live_ingress
SELECT * FROM stream_ingresses WHERE stream_id = $1 AND deleted_at IS NULL;

-- name: insert_ingress
INSERT INTO stream_ingresses (ingress_id, stream_id, kind, url, key_sha256) VALUES ($1, $2, $3, $4, $5);

-- name: delete_ingress
UPDATE stream_ingresses SET deleted_at = now() WHERE ingress_id = $1 AND deleted_at IS NULL;

-- name: record_event
-- The event's id, once: no row back means it was applied before.
INSERT INTO livekit_events (event_id, kind, room, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (event_id) DO NOTHING RETURNING event_id;

-- name: lock_stream_by_room
SELECT * FROM streams WHERE room = $1 FOR UPDATE;

-- name: room_of_ingress
SELECT s.room FROM stream_ingresses i JOIN streams s ON s.id = i.stream_id WHERE i.ingress_id = $1;

-- name: mark_started
-- A start never revives an ended stream; the earliest start time is kept.
UPDATE streams SET status = CASE WHEN status = 'ended' THEN 'ended' ELSE 'live' END,
    started_at = LEAST(COALESCE(started_at, $2), $2)
WHERE id = $1;

-- name: mark_ended
UPDATE streams SET status = 'ended', ended_at = GREATEST(COALESCE(ended_at, $2), $2),
    started_at = COALESCE(started_at, $2), viewers = 0
WHERE id = $1;

-- name: upsert_participant
-- The newest event per participant wins (LiveKit's createdAt), whatever the delivery order.
INSERT INTO stream_participants (stream_id, identity, present, event_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (stream_id, identity) DO UPDATE SET present = excluded.present, event_at = excluded.event_at
WHERE stream_participants.event_at < excluded.event_at;

-- name: recount_viewers
UPDATE streams SET viewers = c.n, peak_viewers = GREATEST(peak_viewers, c.n)
FROM (SELECT count(*)::int AS n FROM stream_participants WHERE stream_id = $1 AND present) c
WHERE id = $1 AND status <> 'ended';

-- name: is_blocked
SELECT EXISTS (SELECT 1 FROM user_blocks WHERE blocker_id = $1 AND blocked_id = $2);

-- name: follows
SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND creator_id = $2);

-- name: creator_name
SELECT display_name FROM creator_profiles WHERE user_id = $1;

-- name: live_streams
-- Live now, most watched first; the cursor is (viewers, id) of the last row.
SELECT s.*, p.display_name FROM streams s LEFT JOIN creator_profiles p ON p.user_id = s.creator_id
WHERE s.status = 'live' AND (s.viewers::bigint, s.id) < ($1::bigint, $2::bigint)
ORDER BY s.viewers DESC, s.id DESC LIMIT $3;

-- name: recommended_streams
-- Live streams by viewers plus the creator's followers (a follower counts as much as a viewer);
-- the caller's own follows first when signed in ($1, NULL otherwise).
SELECT s.*, p.display_name FROM streams s LEFT JOIN creator_profiles p ON p.user_id = s.creator_id
WHERE s.status = 'live' AND s.creator_id IS DISTINCT FROM $1
ORDER BY EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $1 AND f.creator_id = s.creator_id) DESC,
    s.viewers + (SELECT count(*) FROM follows f WHERE f.creator_id = s.creator_id) DESC, s.id DESC
LIMIT $2;

-- name: following_streams
SELECT s.*, p.display_name FROM streams s JOIN follows f ON f.creator_id = s.creator_id AND f.follower_id = $1
LEFT JOIN creator_profiles p ON p.user_id = s.creator_id
WHERE s.status = 'live' AND s.id < $2 ORDER BY s.id DESC LIMIT $3;

-- name: search_streams
-- Title or creator name, by trigram similarity (pg_trgm); live streams first.
SELECT s.*, p.display_name FROM streams s LEFT JOIN creator_profiles p ON p.user_id = s.creator_id
WHERE s.status <> 'ended' AND (s.title ILIKE '%' || $1 || '%' OR s.title % $1 OR p.display_name ILIKE '%' || $1 || '%')
ORDER BY (s.status = 'live') DESC, GREATEST(similarity(s.title, $1), similarity(COALESCE(p.display_name, ''), $1)) DESC,
    s.id DESC
LIMIT $2;

-- name: gift_catalog
SELECT slug, name, price::text AS price, active FROM gifts WHERE active OR $1 ORDER BY gifts.price, slug;

-- name: upsert_gift
INSERT INTO gifts (slug, name, price, active) VALUES ($1, $2, $3::numeric, $4)
ON CONFLICT (slug) DO UPDATE SET name = excluded.name, price = excluded.price, active = excluded.active,
    updated_at = now()
RETURNING slug, name, price::text AS price, active;
