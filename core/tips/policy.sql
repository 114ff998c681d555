-- The tip approval policy's reads (core/tips/policy.py) over tip_intents (migration 0008).

-- name: lock
-- One approver per chain at a time (the caps and reservations are computed over all of a sender's
-- intents): the relayer's hourly run and the API's on-stream gifts take the same lock; held until
-- the transaction ends. The caller bounds the wait (lock_timeout).
SELECT pg_advisory_xact_lock(hashtextextended(format('relayer.tips.%s.%s', 'approve', $1::bigint), 0));

-- name: blocked
-- The positions (1-based) of the (sender, receiver, user) triples whose sender may not tip:
-- on the admin block list, or on the receiving creator's block list (by wallet or by account).
SELECT k.i FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS k(sender, receiver, user_id, i)
WHERE EXISTS (SELECT 1 FROM blocked_addresses b WHERE b.address = k.sender)
   OR EXISTS (
       SELECT 1 FROM user_wallets rw
       JOIN user_blocks ub ON ub.blocker_id = rw.user_id
       WHERE rw.address = k.receiver
         AND (ub.blocked_id = k.user_id
              OR ub.blocked_id = (SELECT sw.user_id FROM user_wallets sw WHERE sw.address = k.sender))
   );

-- name: daily_usage
-- Intents approved in the last 24 h per account (or sender address without one) and kind.
SELECT coalesce('u' || user_id::text, sender) AS who, kind, count(*) AS n, sum(amount) AS amount
FROM tip_intents
WHERE chain_id = $1 AND status IN ('approved', 'submitted') AND decided_at > now() - interval '1 day'
  AND (user_id = ANY($2::bigint[]) OR sender = ANY($3::text[]))
GROUP BY 1, 2;

-- name: reserved
-- What approved intents not yet settled on chain will still take from each sender, per token.
SELECT i.sender, i.token, sum(i.amount) AS amount
FROM tip_intents i
LEFT JOIN tx_requests r ON r.id = i.tx_request_id
WHERE i.chain_id = $1 AND i.sender = ANY($2::text[])
  AND (i.status = 'approved' OR (i.status = 'submitted' AND r.status IN ('pending', 'submitted')))
GROUP BY 1, 2;
