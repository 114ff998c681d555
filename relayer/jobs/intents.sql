-- The tipping jobs (relayer/jobs/intents.py) over the API's tip_intents (migration 0008).

-- name: try_lock
-- One approver per chain at a time (the caps and reservations are computed over all of a
-- sender's intents); held until the transaction ends.
SELECT pg_try_advisory_xact_lock(hashtextextended(format('relayer.tips.%s.%s', $2::text, $1::bigint), 0));

-- name: claim_pending
SELECT id, digest, user_id, sender, receiver, token, amount, kind, nonce, deadline, signature,
       permit_value, permit_deadline
FROM tip_intents
WHERE chain_id = $1 AND status = 'pending'
ORDER BY id
LIMIT $2
FOR UPDATE SKIP LOCKED;

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

-- name: decide
UPDATE tip_intents SET status = $2, reason = $3, decided_at = now() WHERE id = $1 AND status = 'pending';

-- name: requeue_failed
-- Intents whose settle request failed (pre-flight revert, e.g. the router paused) or went dead,
-- and that have no on-chain outcome, are approved again for the next batch.
UPDATE tip_intents i
SET status = 'approved', tx_request_id = NULL, submitted_at = NULL, settle_tries = i.settle_tries + 1
FROM tx_requests r
WHERE r.id = i.tx_request_id AND i.chain_id = $1 AND i.status = 'submitted' AND r.status IN ('failed', 'dead')
  AND NOT EXISTS (SELECT 1 FROM intent_outcomes o WHERE o.chain_id = i.chain_id AND o.digest = i.digest)
RETURNING i.id;

-- name: claim_approved
SELECT id, digest, settle_tries, sender, receiver, token, amount::text AS amount, kind, nonce::text AS nonce,
       deadline::text AS deadline, signature, permit_value::text AS permit_value,
       permit_deadline::text AS permit_deadline, permit_signature
FROM tip_intents
WHERE chain_id = $1 AND status = 'approved'
ORDER BY id
LIMIT $2
FOR UPDATE SKIP LOCKED;

-- name: expire
UPDATE tip_intents SET status = 'refused', reason = 'expired', decided_at = now()
WHERE id = ANY($1::bigint[]) AND status = 'approved';

-- name: mark_submitted
UPDATE tip_intents SET status = 'submitted', tx_request_id = $2, submitted_at = now()
WHERE id = ANY($1::bigint[]) AND status = 'approved';

-- name: approved_backlog
SELECT count(*) FROM tip_intents WHERE chain_id = $1 AND status = 'approved';
