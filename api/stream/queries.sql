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

-- name: gift_stream
-- The stream a gift is sent in, and whether `to` ($2) is a wallet of its creator.
SELECT s.id, s.creator_id, s.status, s.title,
       EXISTS (SELECT 1 FROM user_wallets w WHERE w.user_id = s.creator_id AND w.address = $2) AS to_creator
FROM streams s WHERE s.id = $1;

-- name: active_gift
SELECT slug, name, price::text AS price FROM gifts WHERE slug = $1 AND active;

-- name: insert_stream_gift
INSERT INTO stream_gifts (intent_id, stream_id, gift_slug, gift_name, price) VALUES ($1, $2, $3, $4, $5::numeric);

-- name: retract_gifts
-- Gifts whose intent was refused after its approval (e.g. expired before its batch) or rejected on
-- chain (and not settled by a replay): marked retracted once, returned for the live channel.
UPDATE stream_gifts g SET retracted_at = now(),
    retract_reason = CASE WHEN i.status = 'refused' THEN coalesce(i.reason, 'refused') ELSE 'rejected' END
FROM tip_intents i
WHERE g.retracted_at IS NULL AND i.id = g.intent_id
  AND (i.status = 'refused'
       OR (EXISTS (SELECT 1 FROM intent_outcomes o WHERE o.chain_id = i.chain_id AND o.digest = i.digest
                   AND o.status = 'rejected')
           AND NOT EXISTS (SELECT 1 FROM intent_outcomes o WHERE o.chain_id = i.chain_id AND o.digest = i.digest
                           AND o.status = 'settled')))
RETURNING g.intent_id, g.stream_id, g.gift_slug, i.digest, i.sender, i.receiver, g.retract_reason,
    (SELECT o.reason FROM intent_outcomes o WHERE o.chain_id = i.chain_id AND o.digest = i.digest
     AND o.status = 'rejected' ORDER BY o.block_number DESC LIMIT 1) AS outcome_reason;

-- name: gifts_page
-- On-stream gifts sent ($5 = 'sent': by the user or their wallets) or received (by their wallets), newest
-- first, with the intent's on-chain outcome and the stream they were given in.
SELECT g.intent_id AS id, g.stream_id, g.gift_slug, g.gift_name, g.retracted_at, g.retract_reason,
       s.title AS stream_title, s.creator_id AS stream_creator_id,
       i.digest, i.sender, i.receiver, i.token, i.amount::text AS amount, i.kind, i.nonce::text AS nonce,
       i.deadline::text AS deadline, i.status, i.reason, i.tx_request_id, i.created_at,
       i.permit_signature IS NOT NULL AS gasless,
       o.status AS outcome, o.reason AS outcome_reason, o.tx_hash AS outcome_tx, o.block_number AS outcome_block,
       o.fee::text AS fee, r.status AS request_status, r.tx_hash AS request_tx, r.last_error
FROM stream_gifts g
JOIN tip_intents i ON i.id = g.intent_id
JOIN streams s ON s.id = g.stream_id
LEFT JOIN LATERAL (
    SELECT status, reason, tx_hash, block_number, fee FROM intent_outcomes o
    WHERE o.chain_id = i.chain_id AND o.digest = i.digest
    ORDER BY (o.status = 'settled') DESC, o.block_number DESC, o.log_index DESC LIMIT 1
) o ON true
LEFT JOIN tx_requests r ON r.id = i.tx_request_id
WHERE i.chain_id = $1 AND g.intent_id < $4
  AND CASE $5::text
      WHEN 'sent' THEN i.user_id = $2 OR i.sender = ANY($3::text[])
      ELSE i.receiver = ANY($3::text[])
  END
ORDER BY g.intent_id DESC
LIMIT $6;
