-- Meetings, their access log and notifications (api/meetings/). Tables: migrations/0009_meetings.sql.

-- name: materialize_meetings
-- One meeting per auction that ended with a winner and a pass, created or re-bound (new room)
-- when the indexed winner/pass differs from the row's; a row that already matches is left alone,
-- so concurrent callers insert once. $2: only auctions of these wallets (NULL: all);
-- $3: only auctions updated above this block; $4: seconds from the auction's end to the meeting's.
-- Three index-backed branches (one-time filters pick them): by watermark, by seller, by winner.
WITH candidates AS (
    SELECT a.auction_id, a.seller, a.winner, a.pass_id, a.end_time FROM auctions a
    WHERE $2::text[] IS NULL AND a.chain_id = $1 AND a.status = 'ended' AND a.updated_block > $3
    UNION
    SELECT a.auction_id, a.seller, a.winner, a.pass_id, a.end_time FROM auctions a
    WHERE $2::text[] IS NOT NULL AND a.chain_id = $1 AND a.seller = ANY($2::text[]) AND a.status = 'ended'
    UNION
    SELECT a.auction_id, a.seller, a.winner, a.pass_id, a.end_time FROM auctions a
    WHERE $2::text[] IS NOT NULL AND a.chain_id = $1 AND a.winner = ANY($2::text[]) AND a.status = 'ended'
),
ended AS (
    SELECT a.auction_id, a.seller, a.winner, a.pass_id, a.end_time
    FROM candidates a
    WHERE a.winner IS NOT NULL AND a.pass_id IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM meetings m
          WHERE m.chain_id = $1 AND m.auction_id = a.auction_id AND m.winner = a.winner AND m.pass_id = a.pass_id
      )
)
INSERT INTO meetings (chain_id, auction_id, seller, winner, pass_id, room, starts_at, ends_at)
SELECT $1, e.auction_id, e.seller, e.winner, e.pass_id,
       'meet-' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''),
       to_timestamp(e.end_time), to_timestamp(e.end_time) + make_interval(secs => $4::double precision)
FROM ended e
ORDER BY e.auction_id
ON CONFLICT (chain_id, auction_id) DO UPDATE
SET seller = EXCLUDED.seller, winner = EXCLUDED.winner, pass_id = EXCLUDED.pass_id, room = EXCLUDED.room,
    starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, closed_at = NULL,
    burn_request_id = NULL, burn_holder = NULL, burn_signature = NULL, updated_at = now()
WHERE meetings.winner IS DISTINCT FROM EXCLUDED.winner OR meetings.pass_id IS DISTINCT FROM EXCLUDED.pass_id
RETURNING id, auction_id::text AS auction_id, seller, winner, pass_id::text AS pass_id, room;

-- name: meetings_by_ids
-- Each meeting with what decides its state: does the auction still end this way (standing),
-- who holds the pass, who redeemed it (the indexed PassRedeemed), the relayer burn request.
SELECT m.id, m.chain_id, m.auction_id::text AS auction_id, m.seller, m.winner, m.pass_id::text AS pass_id, m.room,
       m.starts_at, m.ends_at, m.closed_at, m.burn_attempt, m.burn_request_id, m.burn_holder, m.burn_signature,
       m.created_at, a.auction_id IS NOT NULL AS standing, p.owner AS pass_owner,
       r.holder AS redeemed_by, r.block_number AS redeemed_block,
       t.status AS burn_status, t.last_error AS burn_error, t.tx_hash AS burn_tx, now() AS now
FROM meetings m
LEFT JOIN auctions a ON a.chain_id = m.chain_id AND a.auction_id = m.auction_id AND a.status = 'ended'
     AND a.winner = m.winner AND a.pass_id = m.pass_id
LEFT JOIN meeting_passes p ON p.chain_id = m.chain_id AND p.token_id = m.pass_id
LEFT JOIN LATERAL (
    SELECT e.args->>'holder' AS holder, e.block_number FROM chain_events e
    WHERE e.chain_id = m.chain_id AND e.contract = 'MeetingPass' AND e.event = 'PassRedeemed'
      AND e.args->>'token_id' = m.pass_id::text
    ORDER BY e.block_number DESC LIMIT 1
) r ON true
LEFT JOIN tx_requests t ON t.id = m.burn_request_id
WHERE m.id = ANY($1::bigint[]) AND m.chain_id = $2
ORDER BY m.id DESC;

-- name: lock_meeting
SELECT id FROM meetings WHERE id = $1 AND chain_id = $2 FOR UPDATE;

-- name: meeting_id_by_auction
SELECT id FROM meetings WHERE chain_id = $1 AND auction_id = $2::numeric;

-- name: meeting_ids_of
-- The meetings where one of the wallets is the seller, the winner or the redeeming holder; newest first.
SELECT id FROM meetings
WHERE chain_id = $1 AND (seller = ANY($2::text[]) OR winner = ANY($2::text[]) OR burn_holder = ANY($2::text[]))
  AND id < $3
ORDER BY id DESC
LIMIT $4;

-- name: set_burn
UPDATE meetings SET burn_attempt = $2, burn_request_id = $3, burn_holder = $4, burn_signature = $5, updated_at = now()
WHERE id = $1;

-- name: extend_meeting
UPDATE meetings SET ends_at = to_timestamp($2::double precision), updated_at = now() WHERE id = $1;

-- name: close_meeting
UPDATE meetings SET closed_at = now(), updated_at = now() WHERE id = $1 AND closed_at IS NULL;

-- name: log_access
INSERT INTO meeting_access_log (meeting_id, user_id, wallet, action, outcome, reason) VALUES ($1, $2, $3, $4, $5, $6);

-- name: access_log_of
SELECT id, user_id, wallet, action, outcome, reason, at FROM meeting_access_log
WHERE meeting_id = $1 ORDER BY id DESC LIMIT $2;

-- ------------------------------------------------------------- notifications
-- name: insert_notifications
-- Many at once ($5: JSON texts); a dedupe key stored before is skipped.
INSERT INTO notifications (chain_id, recipient, kind, meeting_id, data, dedupe_key)
SELECT $1, t.recipient, t.kind, t.meeting_id, t.data::jsonb, t.dedupe_key
FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS t(recipient, kind, meeting_id, data, dedupe_key)
ORDER BY t.meeting_id, t.dedupe_key
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id, recipient, kind, meeting_id, data, read_at, created_at;

-- name: notifications_page
SELECT id, recipient, kind, meeting_id, data, read_at, created_at FROM notifications
WHERE chain_id = $1 AND recipient = ANY($2::text[]) AND id < $3 AND (NOT $4::boolean OR read_at IS NULL)
ORDER BY id DESC
LIMIT $5;

-- name: unread_count
SELECT count(*) FROM notifications WHERE chain_id = $1 AND recipient = ANY($2::text[]) AND read_at IS NULL;

-- name: mark_read
UPDATE notifications SET read_at = coalesce(read_at, now())
WHERE id = $1 AND chain_id = $2 AND recipient = ANY($3::text[])
RETURNING id, recipient, kind, meeting_id, data, read_at, created_at;

-- name: mark_all_read
UPDATE notifications SET read_at = now()
WHERE chain_id = $1 AND recipient = ANY($2::text[]) AND read_at IS NULL;
