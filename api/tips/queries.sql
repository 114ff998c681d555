-- Tips (api/tips/service.py): fans' signed intents, their outcomes, creators' signed withdrawals.

-- name: creator_of_wallet
-- The approved creator (user id) a wallet belongs to, if any.
SELECT w.user_id FROM user_wallets w JOIN creator_profiles p ON p.user_id = w.user_id WHERE w.address = $1;

-- name: insert_intent
-- Intents and withdrawals share the signer's nonce space on chain: a nonce already queued for
-- a withdrawal is refused here too (no row returned). A gasless gift carries its permit ($12-$14);
-- an on-stream gift comes decided ($15, $16).
INSERT INTO tip_intents (chain_id, digest, user_id, sender, receiver, token, amount, kind, nonce, deadline, signature,
                         permit_value, permit_deadline, permit_signature, status, reason, decided_at)
SELECT $1, $2, $3, $4, $5, $6, $7::numeric, $8, $9::numeric, $10::numeric, $11, $12::numeric, $13::numeric, $14,
       $15, $16, CASE WHEN $15::text = 'pending' THEN NULL ELSE now() END
WHERE NOT EXISTS (SELECT 1 FROM tx_requests WHERE idempotency_key = 'withdraw_for:' || $4 || ':' || $9)
RETURNING id;

-- name: intents_page
-- The user's intents (submitted by them, or sent/received by their wallets), newest first, with
-- the on-chain outcome of the digest (a settlement wins over a later rejection of a replay)
-- and the settle request that carries it. The page's ids come from one index walk per source
-- (tip_intents_user_page, and per wallet tip_intents_sender / tip_intents_receiver), each stopped
-- after $6 rows, so the cost follows the page and the wallets, not the table ($5: NULL for both
-- directions, 'sent' or 'received').
SELECT i.id, i.digest, i.sender, i.receiver, i.token, i.amount::text AS amount, i.kind, i.nonce::text AS nonce,
       i.deadline::text AS deadline, i.status, i.reason, i.tx_request_id, i.created_at,
       i.permit_signature IS NOT NULL AS gasless,
       o.status AS outcome, o.reason AS outcome_reason, o.tx_hash AS outcome_tx, o.block_number AS outcome_block,
       o.fee::text AS fee, r.status AS request_status, r.tx_hash AS request_tx, r.last_error
FROM (
    SELECT ids.id FROM (
        (SELECT id FROM tip_intents
         WHERE user_id = $2 AND chain_id = $1 AND id < $4 AND $5::text IS DISTINCT FROM 'received'
         ORDER BY id DESC LIMIT $6)
        UNION
        (SELECT s.id FROM unnest($3::text[]) AS w(address)
         CROSS JOIN LATERAL (SELECT id FROM tip_intents
                             WHERE chain_id = $1 AND sender = w.address AND id < $4
                               AND $5::text IS DISTINCT FROM 'received'
                             ORDER BY id DESC LIMIT $6) s)
        UNION
        (SELECT r.id FROM unnest($3::text[]) AS w(address)
         CROSS JOIN LATERAL (SELECT id FROM tip_intents
                             WHERE chain_id = $1 AND receiver = w.address AND id < $4
                               AND $5::text IS DISTINCT FROM 'sent'
                             ORDER BY id DESC LIMIT $6) r)
    ) ids
    ORDER BY ids.id DESC
    LIMIT $6
) page
JOIN tip_intents i ON i.id = page.id
LEFT JOIN LATERAL (
    SELECT status, reason, tx_hash, block_number, fee FROM intent_outcomes o
    WHERE o.chain_id = i.chain_id AND o.digest = i.digest
    ORDER BY (o.status = 'settled') DESC, o.block_number DESC, o.log_index DESC LIMIT 1
) o ON true
LEFT JOIN tx_requests r ON r.id = i.tx_request_id
ORDER BY i.id DESC;

-- name: intent_by_digest
SELECT i.id, i.digest, i.user_id, i.sender, i.receiver, i.token, i.amount::text AS amount, i.kind,
       i.nonce::text AS nonce, i.deadline::text AS deadline, i.status, i.reason, i.tx_request_id, i.created_at,
       i.permit_signature IS NOT NULL AS gasless,
       o.status AS outcome, o.reason AS outcome_reason, o.tx_hash AS outcome_tx, o.block_number AS outcome_block,
       o.fee::text AS fee, r.status AS request_status, r.tx_hash AS request_tx, r.last_error
FROM tip_intents i
LEFT JOIN LATERAL (
    SELECT status, reason, tx_hash, block_number, fee FROM intent_outcomes o
    WHERE o.chain_id = i.chain_id AND o.digest = i.digest
    ORDER BY (o.status = 'settled') DESC, o.block_number DESC, o.log_index DESC LIMIT 1
) o ON true
LEFT JOIN tx_requests r ON r.id = i.tx_request_id
WHERE i.chain_id = $1 AND i.digest = $2;

-- name: nonce_taken_by_intent
SELECT 1 FROM tip_intents WHERE chain_id = $1 AND sender = $2 AND nonce = $3::numeric;

-- name: withdrawal_request
SELECT id, kind, payload, status, tx_hash, last_error, created_at FROM tx_requests WHERE idempotency_key = $1;

-- name: withdrawals_page
SELECT id, kind, payload, status, tx_hash, last_error, created_at FROM tx_requests
WHERE kind = 'withdraw_for' AND payload ->> 'creator' = ANY($1::text[]) AND id < $2
ORDER BY id DESC
LIMIT $3;

-- ------------------------------------------------------------------ manual review (api/tips/review.py)
-- The reads below mirror relayer/jobs/intents.sql: the verdict is the hourly job's policy over the same facts.

-- name: pending_page
SELECT id, digest, user_id, sender, receiver, token, amount, kind, nonce, deadline, signature, created_at
FROM tip_intents
WHERE chain_id = $1 AND status = 'pending' AND id > $2
ORDER BY id
LIMIT $3;

-- name: intent_for_update
SELECT id, digest, user_id, sender, receiver, token, amount, kind, nonce, deadline, signature, created_at, status
FROM tip_intents WHERE chain_id = $1 AND id = $2
FOR UPDATE;

-- name: decide_manually
-- Decided once: only a pending intent moves (the hourly job's decide has the same condition).
UPDATE tip_intents SET status = $2, reason = $3, decided_at = now(), decided_by = $4, review_note = $5
WHERE id = $1 AND status = 'pending'
RETURNING id, status, reason, decided_by, review_note, decided_at;

-- ------------------------------------------------------------------ the coin wallet (GET /api/payment/wallet)
-- name: coin_balances
SELECT account, balance::text AS balance FROM token_balances
WHERE chain_id = $1 AND token = $2 AND account = ANY($3::text[])
ORDER BY account;

-- name: pending_gifts
-- Gift intents (kind 1) of these wallets, sent or received, not settled on chain yet (no outcome indexed).
SELECT (i.sender = ANY($2::text[])) AS sent, count(*) AS n, coalesce(sum(i.amount), 0)::text AS amount
FROM tip_intents i
WHERE i.chain_id = $1 AND i.kind = 1 AND i.status IN ('pending', 'approved', 'submitted')
  AND (i.sender = ANY($2::text[]) OR i.receiver = ANY($2::text[]))
  AND NOT EXISTS (SELECT 1 FROM intent_outcomes o WHERE o.chain_id = i.chain_id AND o.digest = i.digest)
GROUP BY 1;
