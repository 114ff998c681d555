-- Creator verification and payout details (api/verify/): identity_verifications, their documents and
-- the admins' reads of them, payout_details (migration 0021).

-- name: insert_verification
INSERT INTO identity_verifications (user_id, document_kind) VALUES ($1, $2)
RETURNING id, user_id, document_kind, status, reason, created_at, reviewed_at;

-- name: insert_document
INSERT INTO verification_documents (verification_id, media_id, position) VALUES ($1, $2, $3);

-- name: latest_of_user
SELECT v.id, v.user_id, v.document_kind, v.status, v.reason, v.created_at, v.reviewed_at,
       (SELECT count(*) FROM verification_documents d WHERE d.verification_id = v.id) AS documents
FROM identity_verifications v WHERE v.user_id = $1
ORDER BY v.id DESC LIMIT 1;

-- name: verification_by_id
SELECT v.id, v.user_id, v.document_kind, v.status, v.reason, v.created_at, v.reviewed_at,
       (SELECT count(*) FROM verification_documents d WHERE d.verification_id = v.id) AS documents
FROM identity_verifications v WHERE v.id = $1;

-- name: verifications_page
SELECT v.id, v.user_id, v.document_kind, v.status, v.reason, v.created_at, v.reviewed_at,
       (SELECT count(*) FROM verification_documents d WHERE d.verification_id = v.id) AS documents
FROM identity_verifications v WHERE v.status = $1 AND v.id > $2
ORDER BY v.id LIMIT $3;

-- name: documents_of
SELECT m.* FROM verification_documents d JOIN media_objects m ON m.id = d.media_id
WHERE d.verification_id = $1 ORDER BY d.position;

-- name: log_view
INSERT INTO verification_document_views (verification_id, media_id, admin_id) VALUES ($1, $2, $3);

-- name: views_of
SELECT id, media_id::text AS media_id, admin_id, viewed_at FROM verification_document_views
WHERE verification_id = $1 AND id > $2 ORDER BY id LIMIT $3;

-- name: review
-- Decided once: only a verification still under review moves.
UPDATE identity_verifications SET status = $2, reason = $3, reviewed_by = $4, reviewed_at = now()
WHERE id = $1 AND status = 'pending'
RETURNING id;

-- name: password_hash
SELECT password_hash FROM users WHERE id = $1;

-- name: upsert_payout
INSERT INTO payout_details (user_id, method, masked, ciphertext) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id) DO UPDATE SET method = EXCLUDED.method, masked = EXCLUDED.masked,
    ciphertext = EXCLUDED.ciphertext, updated_at = now()
RETURNING method, masked, updated_at;

-- name: payout
SELECT method, masked, ciphertext, updated_at FROM payout_details WHERE user_id = $1;
