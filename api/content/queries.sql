-- name: insert_post
INSERT INTO posts (author_id, body, media_ids) VALUES ($1, $2, $3::uuid[]) RETURNING *;

-- name: update_post
UPDATE posts SET body = $3, media_ids = $4::uuid[], updated_at = now()
WHERE id = $1 AND author_id = $2 RETURNING *;

-- name: delete_post
DELETE FROM posts WHERE id = $1 AND author_id = $2 RETURNING id;

-- name: post_by_id
-- A post, unless a block stands between its author and the viewer $2 (0: anonymous).
SELECT p.*, u.username, EXISTS (SELECT 1 FROM post_likes l WHERE l.post_id = p.id AND l.user_id = $2) AS liked
FROM posts p LEFT JOIN user_profiles u ON u.user_id = p.author_id
WHERE p.id = $1
  AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $2 AND b.blocked_id = p.author_id)
                                              OR (b.blocker_id = p.author_id AND b.blocked_id = $2));

-- name: public_feed
-- Newest first, before cursor $2; $3 limit; $1 viewer (0: anonymous), blocks hidden both ways.
SELECT p.*, u.username, EXISTS (SELECT 1 FROM post_likes l WHERE l.post_id = p.id AND l.user_id = $1) AS liked
FROM posts p LEFT JOIN user_profiles u ON u.user_id = p.author_id
WHERE p.id < $2
  AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $1 AND b.blocked_id = p.author_id)
                                              OR (b.blocker_id = p.author_id AND b.blocked_id = $1))
ORDER BY p.id DESC
LIMIT $3;

-- name: author_posts
-- The posts of author $4, newest first, before cursor $2; $3 limit; $1 viewer (0: anonymous).
-- Its own query (not "$4 = 0 OR …"), so a generic plan still walks posts_author.
SELECT p.*, u.username, EXISTS (SELECT 1 FROM post_likes l WHERE l.post_id = p.id AND l.user_id = $1) AS liked
FROM posts p LEFT JOIN user_profiles u ON u.user_id = p.author_id
WHERE p.author_id = $4 AND p.id < $2
  AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $1 AND b.blocked_id = p.author_id)
                                              OR (b.blocker_id = p.author_id AND b.blocked_id = $1))
ORDER BY p.id DESC
LIMIT $3;

-- name: personal_feed
-- Viewer $1's feed: followed creators and self, newest first, before cursor $2; $3 limit. The page's
-- posts come from at most $3 authors, and each of them has its newest post (before the cursor) among
-- the page, so: each followed author's newest post id (one probe of posts_author each), the $3 authors
-- with the newest, then their newest $3 posts each, merged. The cost follows the number of follows,
-- not the size of posts (1 + $3 rows an author instead of $3: 0.89 → 0.53 ms at 100 follows, bench.social_feed).
SELECT p.*, u.username, EXISTS (SELECT 1 FROM post_likes l WHERE l.post_id = p.id AND l.user_id = $1) AS liked
FROM (
    SELECT latest.id
    FROM (
        SELECT authors.author_id
        FROM (SELECT f.creator_id AS author_id FROM follows f WHERE f.follower_id = $1
              UNION SELECT $1) authors
        CROSS JOIN LATERAL (SELECT q.id FROM posts q WHERE q.author_id = authors.author_id AND q.id < $2
                            ORDER BY q.id DESC LIMIT 1) newest
        ORDER BY newest.id DESC
        LIMIT $3
    ) top_authors
    CROSS JOIN LATERAL (SELECT q.id FROM posts q WHERE q.author_id = top_authors.author_id AND q.id < $2
                        ORDER BY q.id DESC LIMIT $3) latest
    ORDER BY latest.id DESC
    LIMIT $3
) page
JOIN posts p ON p.id = page.id
LEFT JOIN user_profiles u ON u.user_id = p.author_id
WHERE NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $1 AND b.blocked_id = p.author_id)
                                              OR (b.blocker_id = p.author_id AND b.blocked_id = $1))
ORDER BY p.id DESC;

-- name: lock_post
SELECT id, author_id FROM posts WHERE id = $1 FOR UPDATE;

-- name: like
INSERT INTO post_likes (post_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING post_id;

-- name: unlike
DELETE FROM post_likes WHERE post_id = $1 AND user_id = $2 RETURNING post_id;

-- name: bump_likes
UPDATE posts SET like_count = like_count + $2 WHERE id = $1 RETURNING like_count;

-- name: like_count
SELECT like_count FROM posts WHERE id = $1;

-- name: insert_comment
INSERT INTO post_comments (post_id, author_id, body) VALUES ($1, $2, $3) RETURNING *;

-- name: bump_comments
UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1;

-- name: comments_page
SELECT c.*, u.username FROM post_comments c LEFT JOIN user_profiles u ON u.user_id = c.author_id
WHERE c.post_id = $1 AND c.id > $2
  AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $4 AND b.blocked_id = c.author_id)
                                              OR (b.blocker_id = c.author_id AND b.blocked_id = $4))
ORDER BY c.id LIMIT $3;
