-- name: get_checkpoint
SELECT block_number, block_hash FROM indexer_checkpoints WHERE chain_id = $1;

-- name: set_checkpoint
INSERT INTO indexer_checkpoints (chain_id, block_number, block_hash) VALUES ($1, $2, $3)
ON CONFLICT (chain_id) DO UPDATE
SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash, updated_at = now();

-- name: upsert_blocks
INSERT INTO indexed_blocks (chain_id, number, hash, parent_hash, timestamp)
SELECT $1, b.number, b.hash, b.parent_hash, b.ts
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[]) AS b(number, hash, parent_hash, ts)
ON CONFLICT (chain_id, number) DO UPDATE
SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash, timestamp = EXCLUDED.timestamp;

-- name: recent_blocks
SELECT number, hash FROM indexed_blocks
WHERE chain_id = $1 AND number <= $2
ORDER BY number DESC
LIMIT $3;

-- name: prune_blocks
DELETE FROM indexed_blocks WHERE chain_id = $1 AND number < $2;

-- name: events_page
SELECT block_number, block_hash, tx_hash, log_index, address, contract, event, args FROM chain_events
WHERE chain_id = $1 AND (block_number, log_index) > ($2, $3)
ORDER BY block_number, log_index
LIMIT $4;

-- name: transfers_after
SELECT token, sender, receiver, amount::text AS amount, block_number FROM token_transfers
WHERE chain_id = $1 AND block_number > $2;

-- name: delete_transfers_after
DELETE FROM token_transfers WHERE chain_id = $1 AND block_number > $2;

-- name: refresh_balance_blocks
-- After a rollback: each touched balance's updated_block is its last remaining transfer's
-- block; a balance with no transfer left did not exist before and is removed.
WITH keys AS (
    SELECT k.token, k.account FROM unnest($2::text[], $3::text[]) AS k(token, account)
), last AS (
    SELECT keys.token, keys.account, GREATEST(
        (SELECT max(t.block_number) FROM token_transfers t
         WHERE t.chain_id = $1 AND t.sender = keys.account AND t.token = keys.token),
        (SELECT max(t.block_number) FROM token_transfers t
         WHERE t.chain_id = $1 AND t.receiver = keys.account AND t.token = keys.token)
    ) AS block
    FROM keys
), gone AS (
    DELETE FROM token_balances tb USING last
    WHERE tb.chain_id = $1 AND tb.token = last.token AND tb.account = last.account AND last.block IS NULL
    RETURNING tb.account
)
UPDATE token_balances tb SET updated_block = last.block
FROM last
WHERE tb.chain_id = $1 AND tb.token = last.token AND tb.account = last.account AND last.block IS NOT NULL;

-- name: delete_events_after
DELETE FROM chain_events WHERE chain_id = $1 AND block_number > $2;

-- name: delete_blocks_after
DELETE FROM indexed_blocks WHERE chain_id = $1 AND number > $2;

-- name: delete_mints_after
DELETE FROM token_mints WHERE chain_id = $1 AND block_number > $2;

-- name: add_balance_deltas
INSERT INTO token_balances AS tb (chain_id, token, account, balance, updated_block)
SELECT $1, d.token, d.account, d.delta::numeric, d.block
FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS d(token, account, delta, block)
ON CONFLICT (chain_id, account, token) DO UPDATE
SET balance = tb.balance + EXCLUDED.balance, updated_block = GREATEST(tb.updated_block, EXCLUDED.updated_block);

-- name: subtract_balance_deltas
-- Negative deltas update existing rows (an INSERT ... ON CONFLICT would hit the CHECK first).
UPDATE token_balances AS tb
SET balance = tb.balance + d.delta::numeric, updated_block = GREATEST(tb.updated_block, d.block)
FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS d(token, account, delta, block)
WHERE tb.chain_id = $1 AND tb.token = d.token AND tb.account = d.account;

-- name: insert_mints
INSERT INTO token_mints (chain_id, payment_ref, token, account, amount, tx_hash, block_number)
SELECT $1, m.payment_ref, m.token, m.account, m.amount::numeric, m.tx_hash, m.block_number
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
     AS m(payment_ref, token, account, amount, tx_hash, block_number);

-- name: reset_chain_events
DELETE FROM chain_events WHERE chain_id = $1;

-- name: reset_chain_blocks
DELETE FROM indexed_blocks WHERE chain_id = $1;

-- name: reset_chain_balances
DELETE FROM token_balances WHERE chain_id = $1;

-- name: reset_chain_mints
DELETE FROM token_mints WHERE chain_id = $1;

-- name: reset_chain_transfers
DELETE FROM token_transfers WHERE chain_id = $1;

-- name: reset_chain_checkpoint
DELETE FROM indexer_checkpoints WHERE chain_id = $1;

-- name: notify
SELECT pg_notify('chain_events', $1);
