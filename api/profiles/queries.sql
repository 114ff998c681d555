-- name: profile_of
SELECT u.id, u.role, u.created_at, p.username, coalesce(p.display_name, '') AS display_name,
       coalesce(p.bio, '') AS bio, coalesce(p.first_name, '') AS first_name,
       coalesce(p.last_name, '') AS last_name, p.avatar_id, (c.user_id IS NOT NULL) AS is_creator,
       c.display_name AS creator_display_name, c.bio AS creator_bio, coalesce(c.categories, '{}') AS categories
FROM users u
LEFT JOIN user_profiles p ON p.user_id = u.id
LEFT JOIN creator_profiles c ON c.user_id = u.id
WHERE u.id = $1;

-- name: user_by_username
SELECT user_id FROM user_profiles WHERE lower(username) = lower($1);

-- name: upsert_profile
INSERT INTO user_profiles (user_id, username, display_name, bio, first_name, last_name)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (user_id) DO UPDATE
SET username = EXCLUDED.username, display_name = EXCLUDED.display_name, bio = EXCLUDED.bio,
    first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, updated_at = now();

-- name: update_creator_profile
UPDATE creator_profiles SET display_name = $2, bio = $3, categories = $4 WHERE user_id = $1;

-- name: set_avatar
INSERT INTO user_profiles (user_id, avatar_id) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET avatar_id = EXCLUDED.avatar_id, updated_at = now();

-- name: password_hash
SELECT password_hash FROM users WHERE id = $1;

-- name: statistics
SELECT
    (SELECT count(*) FROM follows WHERE follower_id = $1) AS following,
    (SELECT count(*) FROM follows WHERE creator_id = $1) AS followers,
    (SELECT count(*) FROM tip_intents WHERE user_id = $1) AS tips_sent,
    (SELECT count(*) FROM user_wallets WHERE user_id = $1) AS wallets,
    (SELECT count(*) FROM media_objects WHERE owner_id = $1 AND status = 'ready') AS media,
    (SELECT created_at FROM users WHERE id = $1) AS member_since;

-- name: followers_page
-- Followers of $1 after cursor $2 (follower id), hiding users in a block with the viewer $4 (0: none).
SELECT f.follower_id AS id, p.username, coalesce(p.display_name, '') AS display_name
FROM follows f LEFT JOIN user_profiles p ON p.user_id = f.follower_id
WHERE f.creator_id = $1 AND f.follower_id > $2
  AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $4 AND b.blocked_id = f.follower_id)
                                              OR (b.blocker_id = f.follower_id AND b.blocked_id = $4))
ORDER BY f.follower_id LIMIT $3;

-- name: following_page
SELECT f.creator_id AS id, p.username, coalesce(p.display_name, '') AS display_name
FROM follows f LEFT JOIN user_profiles p ON p.user_id = f.creator_id
WHERE f.follower_id = $1 AND f.creator_id > $2
  AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $4 AND b.blocked_id = f.creator_id)
                                              OR (b.blocker_id = f.creator_id AND b.blocked_id = $4))
ORDER BY f.creator_id LIMIT $3;

-- name: follow_state
SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND creator_id = $2) AS following,
       EXISTS (SELECT 1 FROM follows WHERE follower_id = $2 AND creator_id = $1) AS followed_by;

-- name: blocked_between
SELECT EXISTS (
    SELECT 1 FROM user_blocks
    WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1)
);

-- name: search
-- Users with a username or a creator profile, matching the words $1 (full text, 'simple' dictionary,
-- in the user's or the creator's profile) or whose username starts with the LIKE-escaped prefix $2;
-- ranked: exact username, prefix, text rank. $5 true: creators only. $6: the viewer (0: anonymous),
-- blocks hidden both ways. The candidates come from the three indexes (migration 0025), each source
-- capped at 1,050 (the deepest page: offset 1,000 + limit 50), so a word in every profile ("user")
-- ranks 3,150 rows, not the table; the prefix source keeps the alphabetically first. Profiles cascade
-- from users, so no join to users is needed.
WITH candidates AS (
    (SELECT p.user_id FROM user_profiles p WHERE p.search_doc @@ plainto_tsquery('simple', $1) LIMIT 1050)
    UNION
    (SELECT p.user_id FROM user_profiles p WHERE lower(p.username) LIKE $2 || '%' ORDER BY lower(p.username) LIMIT 1050)
    UNION
    (SELECT c.user_id FROM creator_profiles c WHERE c.search_doc @@ plainto_tsquery('simple', $1) LIMIT 1050)
)
SELECT k.user_id AS id, p.username, coalesce(p.display_name, c.display_name, '') AS display_name,
       (c.user_id IS NOT NULL) AS is_creator,
       (CASE WHEN lower(p.username) = lower($1) THEN 2 ELSE 0 END
        + CASE WHEN lower(p.username) LIKE $2 || '%' THEN 1 ELSE 0 END
        + ts_rank(coalesce(p.search_doc, ''::tsvector) || coalesce(c.search_doc, ''::tsvector),
                  plainto_tsquery('simple', $1)))::float8 AS rank
FROM candidates k
LEFT JOIN user_profiles p ON p.user_id = k.user_id
LEFT JOIN creator_profiles c ON c.user_id = k.user_id
WHERE (p.username IS NOT NULL OR c.user_id IS NOT NULL)
  AND (NOT $5 OR c.user_id IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $6 AND b.blocked_id = k.user_id)
                                              OR (b.blocker_id = k.user_id AND b.blocked_id = $6))
ORDER BY rank DESC, k.user_id
LIMIT $3 OFFSET $4;
