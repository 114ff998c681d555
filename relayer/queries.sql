-- name: get_by_key
SELECT * FROM tx_requests WHERE idempotency_key = $1;

-- name: get
SELECT * FROM tx_requests WHERE id = $1;

-- name: claim_pending
SELECT * FROM tx_requests
WHERE status = 'pending' AND not_before <= now()
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: claim_submitted
-- One page of the confirmation sweep: in-flight requests after id $2 (a key stuck with many in flight
-- low in the id order cannot starve the others' confirmations: the sweep goes on past them).
-- Not the history (a growing jsonb array, decoded per row): what confirming and replacing read.
SELECT id, kind, payload, status, attempts, signer, nonce, tx_hash, tx_hashes, raw_tx, block_number,
       cancel_requested_at, cancel_tx_hash, first_submitted_at, submitted_at, submitted_block, updated_at,
       gas_limit, max_fee_per_gas, max_priority_fee_per_gas
FROM tx_requests
WHERE status = 'submitted' AND id > $2
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: ensure_nonce_row
INSERT INTO signer_nonces (chain_id, signer, next_nonce) VALUES ($1, $2, 0)
ON CONFLICT (chain_id, signer) DO NOTHING;

-- name: ensure_nonce_rows
INSERT INTO signer_nonces (chain_id, signer, next_nonce) SELECT $1, unnest($2::text[]), 0
ON CONFLICT (chain_id, signer) DO NOTHING;

-- name: inflight_by_signer
-- The signer pool's load: sent, unconfirmed requests per key.
SELECT signer, count(*) AS n FROM tx_requests WHERE status = 'submitted' AND signer = ANY($1::text[])
GROUP BY signer;

-- name: inflight_count
-- One key's load, read under its nonce lock (every writer of its in-flight set holds that lock).
SELECT count(*) FROM tx_requests WHERE status = 'submitted' AND signer = $1;

-- name: inflight_elsewhere
-- In flight from a key that is not in the configured pool (removed from the settings).
SELECT signer, count(*) AS n FROM tx_requests
WHERE status = 'submitted' AND NOT (signer = ANY($1::text[]))
GROUP BY signer;

-- name: lowest_inflight
-- Per key of the pool: the lowest nonce in flight (relayer/lanes.py: is the key's next nonce one of ours?).
SELECT signer, min(nonce) AS nonce FROM tx_requests
WHERE status = 'submitted' AND signer = ANY($1::text[])
GROUP BY signer;

-- name: lowest_inflight_of
SELECT min(nonce) FROM tx_requests WHERE status = 'submitted' AND signer = $1;

-- name: try_lock_nonce
-- A key's nonce lane, unless another relayer process is sending on it (no row: take another key).
SELECT next_nonce FROM signer_nonces WHERE chain_id = $1 AND signer = $2 FOR UPDATE SKIP LOCKED;

-- name: lock_nonce
SELECT next_nonce FROM signer_nonces WHERE chain_id = $1 AND signer = $2 FOR UPDATE;

-- name: set_nonce
INSERT INTO signer_nonces (chain_id, signer, next_nonce) VALUES ($1, $2, $3)
ON CONFLICT (chain_id, signer) DO UPDATE SET next_nonce = EXCLUDED.next_nonce, updated_at = now();

-- name: mark_submitted
UPDATE tx_requests
SET status = 'submitted', signer = $2, nonce = $3, tx_hash = $4, raw_tx = $5, attempts = attempts + 1,
    last_error = NULL, updated_at = now(), tx_hashes = tx_hashes || $4::text,
    submitted_at = now(), submitted_block = $6, first_submitted_at = coalesce(first_submitted_at, now()),
    gas_limit = $7, max_fee_per_gas = $8, max_priority_fee_per_gas = $9,
    history = history || jsonb_build_array(jsonb_build_object('status', 'submitted', 'at', now(), 'tx_hash', $4::text))
WHERE id = $1;

-- name: mark_final
UPDATE tx_requests
SET status = $2, block_number = $3, last_error = $4, updated_at = now(), tx_hash = coalesce($5, tx_hash),
    history = history || jsonb_build_array(jsonb_build_object('status', $2::text, 'at', now(), 'error', $4::text))
WHERE id = $1;

-- name: mark_mined_final
-- mark_final for a mined transaction, with its block's hash (recheck_unfinal compares it with the chain's).
UPDATE tx_requests
SET status = $2, block_number = $3, last_error = $4, updated_at = now(), tx_hash = coalesce($5, tx_hash),
    block_hash = $6,
    history = history || jsonb_build_array(jsonb_build_object('status', $2::text, 'at', now(), 'error', $4::text))
WHERE id = $1;

-- name: mark_retry
UPDATE tx_requests
SET status = 'pending', attempts = attempts + 1, last_error = $2, not_before = now() + make_interval(secs => $3),
    updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object('status', 'pending', 'at', now(), 'error', $2::text))
WHERE id = $1;

-- name: requeue
-- Its nonce was taken by another transaction: none of its transactions can be mined any more, so it is
-- unbound from its key and goes to whichever key has room, like a new request.
UPDATE tx_requests
SET status = 'pending', tx_hash = NULL, raw_tx = NULL, nonce = NULL, signer = NULL, not_before = now(), updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object('status', 'pending', 'at', now(), 'error', $2::text))
WHERE id = $1;

-- name: requeue_all_submitted
UPDATE tx_requests
SET status = 'pending', tx_hash = NULL, raw_tx = NULL, nonce = NULL, signer = NULL, not_before = now(), updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object('status', 'pending', 'at', now(), 'error', 'chain was reset'))
WHERE status = 'submitted';

-- name: retire_finished
-- A dev-chain reset: what finished on the old chain is its history, never watched or replayed again.
UPDATE tx_requests
SET previous_chain = true, updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object(
        'status', status, 'at', now(), 'error', 'chain was reset: outcome of the previous chain'))
WHERE NOT previous_chain AND status NOT IN ('pending', 'submitted');

-- name: reset_nonces
DELETE FROM signer_nonces WHERE chain_id = $1;

-- name: cancel
UPDATE tx_requests
SET status = 'cancelled', updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object('status', 'cancelled', 'at', now()))
WHERE id = $1 AND status = 'pending'
RETURNING id;

-- name: request_cancel
UPDATE tx_requests
SET cancel_requested_at = now(), updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object('status', 'cancel_requested', 'at', now()))
WHERE id = $1 AND status = 'submitted' AND cancel_requested_at IS NULL
RETURNING id;

-- name: mark_cancel_sent
-- The zero-value self-transaction that replaces a submitted request's tx at the same nonce.
UPDATE tx_requests
SET tx_hash = $2, raw_tx = $3, tx_hashes = tx_hashes || $2::text, cancel_tx_hash = $2, submitted_at = now(),
    submitted_block = $4, gas_limit = 21000, max_fee_per_gas = $5::numeric, max_priority_fee_per_gas = $6::numeric,
    replacements = replacements + 1, updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object('status', 'cancel_sent', 'at', now(), 'tx_hash', $2::text))
WHERE id = $1;

-- name: retry
UPDATE tx_requests
SET status = 'pending', attempts = 0, not_before = now(), updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object('status', 'pending', 'at', now(), 'error', 'manual retry'))
WHERE id = $1 AND status IN ('failed', 'dead')
RETURNING id;

-- name: list_requests
SELECT id, kind, idempotency_key, status, attempts, tx_hash, last_error, created_at
FROM tx_requests
WHERE ($1::text IS NULL OR status = $1)
ORDER BY id DESC
LIMIT $2;

-- name: status_counts
SELECT status, count(*) AS n FROM tx_requests GROUP BY status;

-- name: mark_replaced
UPDATE tx_requests
SET tx_hash = $2, raw_tx = $3, tx_hashes = tx_hashes || $2::text, submitted_at = now(), submitted_block = $4,
    max_fee_per_gas = $5::numeric, max_priority_fee_per_gas = $6::numeric, replacements = replacements + 1, updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object(
        'status', 'replaced', 'at', now(), 'tx_hash', $2::text, 'max_fee_per_gas', ($5::numeric)::text))
WHERE id = $1;

-- name: mark_resent
UPDATE tx_requests
SET submitted_at = now(), submitted_block = $2, updated_at = now()
WHERE id = $1;

-- name: inflight_nonces
SELECT nonce FROM tx_requests WHERE status = 'submitted' AND signer = $1 AND nonce IS NOT NULL ORDER BY nonce;

-- name: queue_depth
SELECT kind, status, count(*) AS n FROM tx_requests GROUP BY kind, status;

-- ---------------------------------------------------------------- schedules
-- name: schedule_last_due
SELECT max(due_at) FROM schedule_runs WHERE job = $1 AND period_key NOT LIKE 'trigger:%';

-- name: schedule_start
INSERT INTO schedule_runs (job, period_key, due_at, runner)
VALUES ($1, $2, $3, $4)
ON CONFLICT (job, period_key) DO NOTHING
RETURNING id;

-- name: schedule_resume
UPDATE schedule_runs
SET status = 'running', attempts = attempts + 1, runner = $2, started_at = now(), finished_at = NULL
WHERE id = $1 AND status <> 'succeeded'
RETURNING id;

-- name: schedule_finish
UPDATE schedule_runs
SET status = $2, summary = $3, error = $4, finished_at = now()
WHERE id = $1;

-- name: schedule_open_runs
-- Runs to pick up again: left 'running' by a crashed leader, or failed with attempts left (after a backoff).
SELECT id, job, period_key, due_at, status, attempts FROM schedule_runs
WHERE ($2 AND status = 'running') OR (status = 'failed' AND attempts < $1
      AND finished_at + make_interval(secs => least(300, 2 ^ attempts)) <= now())
ORDER BY id;

-- name: schedule_runs
SELECT id, job, period_key, due_at, status, attempts, runner, started_at, finished_at, summary, error
FROM schedule_runs
WHERE ($1::text IS NULL OR job = $1)
ORDER BY id DESC
LIMIT $2;

-- name: schedule_running
SELECT count(*) FROM schedule_runs WHERE job = $1 AND status = 'running';

-- name: accrual_accounts
-- One wallet per account (its first linked), as of the run's due time.
SELECT DISTINCT ON (user_id) address FROM user_wallets WHERE linked_at < $1 ORDER BY user_id, linked_at, address;

-- name: expired_auctions
SELECT auction_id FROM auctions
WHERE chain_id = $1 AND status = 'active' AND end_time <= $2
ORDER BY end_time, auction_id
LIMIT $3;

-- name: block_of_nonce
SELECT block_number FROM tx_requests WHERE signer = $1 AND nonce = $2 AND block_number IS NOT NULL
  AND NOT previous_chain
ORDER BY id DESC LIMIT 1;

-- name: recent_finished
-- Finished requests whose tx was mined above the finality horizon ($1): still reorgable.
SELECT id, kind, status, tx_hash, block_number, block_hash FROM tx_requests
WHERE block_number > $1 AND status IN ('confirmed', 'failed', 'cancelled') AND tx_hash IS NOT NULL
  AND NOT previous_chain
ORDER BY block_number DESC
LIMIT $2;

-- name: reopen
-- A finished request whose mined tx a reorg dropped goes back in flight (unless it moved meanwhile).
UPDATE tx_requests
SET status = 'submitted', block_number = NULL, block_hash = NULL, updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object(
        'status', 'submitted', 'at', now(), 'error', 'reorged out after ' || $2::text))
WHERE id = $1 AND status = $2;

-- name: end_auction_attempts
-- Requests made to end one auction (key, then key:1, key:2, ...) and how many may still end it.
SELECT count(*) AS attempts,
       count(*) FILTER (WHERE status NOT IN ('failed', 'dead', 'cancelled')) AS live
FROM tx_requests
WHERE kind = 'end_auction' AND (idempotency_key = $1 OR idempotency_key LIKE $1 || ':%');

-- name: last_mined_block
-- The highest block that mined one of the signer's transactions on this chain (0: none).
SELECT coalesce(max(block_number), 0) FROM tx_requests WHERE signer = $1 AND NOT previous_chain;
