-- The tipping jobs (relayer/jobs/intents.py) over the API's tip_intents (migration 0008).

-- name: claim_pending
SELECT id, digest, user_id, sender, receiver, token, amount, kind, nonce, deadline, signature,
       permit_value, permit_deadline
FROM tip_intents
WHERE chain_id = $1 AND status = 'pending'
ORDER BY id
LIMIT $2
FOR UPDATE SKIP LOCKED;

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
