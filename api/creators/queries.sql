-- Creators (api/creators/service.py): applications, profiles, follows, block lists.

-- name: is_creator
SELECT EXISTS (SELECT 1 FROM creator_profiles WHERE user_id = $1);

-- name: insert_application
INSERT INTO creator_applications (user_id, display_name, bio, categories) VALUES ($1, $2, $3, $4)
RETURNING id, user_id, display_name, bio, categories, status, reason, created_at, reviewed_at;

-- name: open_application_for_update
SELECT id, user_id, display_name, bio, categories, status, reason, created_at, reviewed_at
FROM creator_applications WHERE user_id = $1 AND status = 'pending'
FOR UPDATE;

-- name: review_application
UPDATE creator_applications SET status = $2, reason = $3, reviewed_by = $4, reviewed_at = now() WHERE id = $1
RETURNING id, user_id, display_name, bio, categories, status, reason, created_at, reviewed_at;

-- name: upsert_profile
INSERT INTO creator_profiles (user_id, display_name, bio, categories) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name, bio = EXCLUDED.bio,
    categories = EXCLUDED.categories, approved_at = now();

-- name: make_creator
-- An admin stays an admin (admin passes every role check).
UPDATE users SET role = 'creator', updated_at = now() WHERE id = $1 AND role = 'user';

-- name: applications_page
SELECT id, user_id, display_name, bio, categories, status, reason, created_at, reviewed_at
FROM creator_applications WHERE status = $1 AND id > $2
ORDER BY id LIMIT $3;

-- name: profile
SELECT p.user_id AS id, p.display_name, p.bio, p.categories, p.approved_at,
       (SELECT count(*) FROM follows f WHERE f.creator_id = p.user_id) AS followers,
       (SELECT count(*) FROM follows f WHERE f.follower_id = p.user_id) AS following
FROM creator_profiles p WHERE p.user_id = $1;

-- name: creators_page
SELECT p.user_id AS id, p.display_name, p.categories,
       (SELECT count(*) FROM follows f WHERE f.creator_id = p.user_id) AS followers
FROM creator_profiles p WHERE p.user_id > $1
ORDER BY p.user_id LIMIT $2;

-- name: received
-- Claps and gifts settled to the creator's wallets, as indexed.
SELECT o.kind, o.token, count(*) AS n, sum(o.amount)::text AS amount, sum(o.fee)::text AS fee
FROM intent_outcomes o
WHERE o.chain_id = $1 AND o.status = 'settled' AND o.receiver = ANY($2::text[])
GROUP BY o.kind, o.token
ORDER BY o.kind, o.token;

-- name: earnings
SELECT token, sum(amount)::text AS amount FROM router_earnings
WHERE chain_id = $1 AND account = ANY($2::text[])
GROUP BY token ORDER BY token;

-- name: is_following
SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND creator_id = $2);

-- name: blocked_between
SELECT EXISTS (
    SELECT 1 FROM user_blocks
    WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1)
);

-- name: follow
INSERT INTO follows (follower_id, creator_id) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- name: unfollow
DELETE FROM follows WHERE follower_id = $1 AND creator_id = $2;

-- name: followers_count
SELECT count(*) FROM follows WHERE creator_id = $1;

-- name: user_exists
SELECT EXISTS (SELECT 1 FROM users WHERE id = $1);

-- name: block
INSERT INTO user_blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- name: drop_follows_between
DELETE FROM follows WHERE (follower_id = $1 AND creator_id = $2) OR (follower_id = $2 AND creator_id = $1);

-- name: unblock
DELETE FROM user_blocks WHERE blocker_id = $1 AND blocked_id = $2;

-- name: block_address
INSERT INTO blocked_addresses (address, reason, blocked_by) VALUES ($1, $2, $3)
ON CONFLICT (address) DO UPDATE SET reason = EXCLUDED.reason, blocked_by = EXCLUDED.blocked_by;

-- name: unblock_address
DELETE FROM blocked_addresses WHERE address = $1;

-- name: identity_verified
-- README "Creator verification": an approved identity verification (API_CREATOR_REQUIRES_VERIFICATION).
SELECT EXISTS (SELECT 1 FROM identity_verifications WHERE user_id = $1 AND status = 'approved');
