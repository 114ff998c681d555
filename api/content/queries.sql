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

-- name: feed_page
-- Newest first, before cursor $2; $3 limit; $1 viewer (0: anonymous); $4 author (0: any);
-- $5 true: the viewer's personalised feed (followed creators and self).
SELECT p.*, u.username, EXISTS (SELECT 1 FROM post_likes l WHERE l.post_id = p.id AND l.user_id = $1) AS liked
FROM posts p LEFT JOIN user_profiles u ON u.user_id = p.author_id
WHERE p.id < $2
  AND ($4 = 0 OR p.author_id = $4)
  AND (NOT $5 OR p.author_id = $1
       OR EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $1 AND f.creator_id = p.author_id))
  AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $1 AND b.blocked_id = p.author_id)
                                              OR (b.blocker_id = p.author_id AND b.blocked_id = $1))
ORDER BY p.id DESC
LIMIT $3;

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
