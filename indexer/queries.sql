-- name: get_checkpoint
SELECT block_number, block_hash FROM indexer_checkpoints WHERE chain_id = $1;

-- name: set_checkpoint
INSERT INTO indexer_checkpoints (chain_id, block_number, block_hash) VALUES ($1, $2, $3)
ON CONFLICT (chain_id) DO UPDATE
SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash, updated_at = now();

-- name: commit_without_flush
SET LOCAL synchronous_commit = off;

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

-- name: undecodable_counts
-- Logs stored raw (event '!undecodable', see indexer/codec.py) per contract.
SELECT contract, count(*) AS n FROM chain_events WHERE chain_id = $1 AND event = '!undecodable'
GROUP BY contract ORDER BY contract;

-- name: undecodable_logs
SELECT block_number, log_index, tx_hash, contract, args FROM chain_events
WHERE chain_id = $1 AND event = '!undecodable' ORDER BY block_number, log_index LIMIT $2;

-- name: undecodable_count_of
SELECT count(*) FROM chain_events
WHERE chain_id = $1 AND event = '!undecodable' AND contract = $2 AND block_number <= $3;

-- name: event_counts_by_address
-- Raw events per address in (from, to]: verify compares them with the chain's eth_getLogs.
SELECT address, count(*) AS n FROM chain_events
WHERE chain_id = $1 AND block_number >= $2 AND block_number <= $3
GROUP BY address;

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

-- ------------------------------------------------------- contract projections
-- name: auction_created
INSERT INTO auctions (chain_id, auction_id, seller, reserve, end_time, fee_bps, metadata, metadata_hex, status,
                      created_block, updated_block)
VALUES ($1, $2::numeric, $3, $4::numeric, $5, $6, $7, $9, 'active', $8, $8);

-- name: auction_bids
-- A run of bids folded per auction: the last bid is the highest (the contract enforces increases).
UPDATE auctions AS a
SET highest_bidder = b.bidder, highest_bid = b.amount::numeric, bid_count = a.bid_count + b.n, updated_block = b.block
FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[]) AS b(auction_id, bidder, amount, n, block)
WHERE a.chain_id = $1 AND a.auction_id = b.auction_id::numeric;

-- name: auction_extended
UPDATE auctions SET end_time = $3, updated_block = $4 WHERE chain_id = $1 AND auction_id = $2::numeric;

-- name: auction_ended
UPDATE auctions SET status = 'ended', winner = $3, fee = $4::numeric, pass_id = $5::numeric, updated_block = $6
WHERE chain_id = $1 AND auction_id = $2::numeric;

-- name: auction_cancelled
UPDATE auctions SET status = 'cancelled', updated_block = $3 WHERE chain_id = $1 AND auction_id = $2::numeric;

-- name: pass_minted
INSERT INTO meeting_passes (chain_id, token_id, auction_id, owner, minted_block, updated_block)
VALUES ($1, $2::numeric, $3::numeric, $4, $5, $5);

-- name: pass_moved
UPDATE meeting_passes SET owner = $3, updated_block = $4 WHERE chain_id = $1 AND token_id = $2::numeric;

-- name: pass_redeemed
UPDATE meeting_passes SET redeemed = true, updated_block = $3 WHERE chain_id = $1 AND token_id = $2::numeric;

-- name: auction_keys_after
SELECT coalesce(array_agg(DISTINCT args->>'auction_id'), '{}') FROM chain_events
WHERE chain_id = $1 AND contract = 'MeetingAuction' AND block_number > $2 AND args ? 'auction_id';

-- name: pass_keys_after
SELECT coalesce(array_agg(DISTINCT args->>'token_id'), '{}') FROM chain_events
WHERE chain_id = $1 AND contract = 'MeetingPass' AND block_number > $2 AND args ? 'token_id';

-- name: auction_events_upto
SELECT block_number, block_hash, tx_hash, log_index, address, contract, event, args FROM chain_events
WHERE chain_id = $1 AND contract = 'MeetingAuction' AND (args->>'auction_id') = ANY($2::text[]) AND block_number <= $3
ORDER BY block_number, log_index;

-- name: pass_events_upto
SELECT block_number, block_hash, tx_hash, log_index, address, contract, event, args FROM chain_events
WHERE chain_id = $1 AND contract = 'MeetingPass' AND (args->>'token_id') = ANY($2::text[]) AND block_number <= $3
ORDER BY block_number, log_index;

-- name: delete_auctions
DELETE FROM auctions WHERE chain_id = $1 AND auction_id::text = ANY($2::text[]);

-- name: delete_passes
DELETE FROM meeting_passes WHERE chain_id = $1 AND token_id::text = ANY($2::text[]);

-- name: delete_intent_outcomes_after
DELETE FROM intent_outcomes WHERE chain_id = $1 AND block_number > $2;

-- name: reset_chain_intent_outcomes
DELETE FROM intent_outcomes WHERE chain_id = $1;

-- name: delete_withdrawals_after
DELETE FROM withdrawals WHERE chain_id = $1 AND block_number > $2;

-- name: reset_chain_withdrawals
DELETE FROM withdrawals WHERE chain_id = $1;

-- name: delete_router_treasuries_after
DELETE FROM router_treasuries WHERE chain_id = $1 AND block_number > $2;

-- name: reset_chain_router_treasuries
DELETE FROM router_treasuries WHERE chain_id = $1;

-- name: delete_accruals_after
DELETE FROM accruals WHERE chain_id = $1 AND block_number > $2;

-- name: reset_chain_accruals
DELETE FROM accruals WHERE chain_id = $1;

-- name: delete_bids_after
DELETE FROM bids WHERE chain_id = $1 AND block_number > $2;

-- name: reset_chain_bids
DELETE FROM bids WHERE chain_id = $1;

-- name: reset_chain_auctions
DELETE FROM auctions WHERE chain_id = $1;

-- name: reset_chain_meeting_passes
DELETE FROM meeting_passes WHERE chain_id = $1;

-- ------------------------------------------------------- configured contracts
-- name: custom_registered
SELECT contract, event, table_name, signature, topic0, columns, abi FROM custom_event_tables ORDER BY table_name;

-- name: custom_register
-- A new table, or (the swap of a rebuilt one, indexer/custom/rebuild.py) its new definition.
INSERT INTO custom_event_tables (contract, event, table_name, signature, topic0, columns, abi)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)
ON CONFLICT (table_name) DO UPDATE
SET contract = EXCLUDED.contract, event = EXCLUDED.event, signature = EXCLUDED.signature,
    topic0 = EXCLUDED.topic0, columns = EXCLUDED.columns, abi = EXCLUDED.abi;

-- name: custom_register_abi
-- A table registered before the ABI item was kept, whose definition is the configured one.
UPDATE custom_event_tables SET abi = $2::jsonb WHERE table_name = $1 AND abi IS NULL;

-- name: custom_lock_logs
-- Taken first by a batch while a configured table is rebuilt: a swap holds it exclusively.
LOCK TABLE custom_logs IN ROW EXCLUSIVE MODE;

-- name: custom_registered_of
SELECT table_name, signature, columns FROM custom_event_tables WHERE table_name = ANY($1::text[]);

-- name: custom_children
SELECT contract, address, factory, block_number, log_index FROM custom_children
WHERE chain_id = $1 ORDER BY block_number, log_index;

-- name: custom_insert_children
INSERT INTO custom_children (chain_id, contract, address, factory, block_number, log_index)
SELECT $1, c.contract, c.address, c.factory, c.block_number, c.log_index
FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[])
     AS c(contract, address, factory, block_number, log_index)
ON CONFLICT (chain_id, address) DO NOTHING;

-- name: custom_children_add
-- Children discovered in a factory's history (indexer/custom/history.py): only at or below the checkpoint
-- ($8), of the block the indexer holds ($7: the creation block's hash); the ones added are returned.
INSERT INTO custom_children (chain_id, contract, address, factory, block_number, log_index)
SELECT $1, c.contract, c.address, c.factory, c.block_number, c.log_index
FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::text[])
     AS c(contract, address, factory, block_number, log_index, block_hash)
WHERE c.block_number <= $8
  AND NOT EXISTS (SELECT 1 FROM indexed_blocks b
                  WHERE b.chain_id = $1 AND b.number = c.block_number AND b.hash <> c.block_hash)
ON CONFLICT (chain_id, address) DO NOTHING
RETURNING address;

-- name: custom_delete_children_after
DELETE FROM custom_children WHERE chain_id = $1 AND block_number > $2;

-- name: reset_chain_custom_children
DELETE FROM custom_children WHERE chain_id = $1;

-- name: custom_progress
SELECT contract, target, done FROM custom_contract_progress WHERE chain_id = $1;

-- name: custom_progress_add
INSERT INTO custom_contract_progress (chain_id, contract, target, done) VALUES ($1, $2, $3, $4)
ON CONFLICT (chain_id, contract) DO NOTHING;

-- name: custom_progress_done
UPDATE custom_contract_progress SET done = $3 WHERE chain_id = $1 AND contract = $2;

-- name: reset_chain_custom_progress
DELETE FROM custom_contract_progress WHERE chain_id = $1;

-- name: custom_delete_logs_after
DELETE FROM custom_logs WHERE chain_id = $1 AND block_number > $2;

-- name: reset_chain_custom_logs
DELETE FROM custom_logs WHERE chain_id = $1;

-- name: custom_logs_page
SELECT block_number, log_index, block_hash, block_time, tx_hash, address, topics, data FROM custom_logs
WHERE chain_id = $1 AND contract = ANY($2::text[]) AND (block_number, log_index) > ($3, $4)
ORDER BY block_number, log_index LIMIT $5;

-- name: custom_logs_of
-- The raw logs of the configured events ($4: their topic0s; a changed event's old logs stay kept).
SELECT block_number, log_index, block_hash, tx_hash, address, topics, data FROM custom_logs
WHERE chain_id = $1 AND contract = $2 AND block_number <= $3 AND topics[1] = ANY($4::text[])
ORDER BY block_number, log_index;

-- name: custom_logs_of_event
-- One event's raw logs up to block $4 (a rebuild's build and catch-up), in pages after (block $5, log
-- index $6): the key's row comparison lets each page start where the last one ended.
SELECT block_number, log_index, block_hash, block_time, tx_hash, address, topics, data FROM custom_logs
WHERE chain_id = $1 AND contract = $2 AND topics[1] = $3 AND block_number <= $4
  AND (chain_id, block_number, log_index) > ($1, $5, $6)
ORDER BY chain_id, block_number, log_index LIMIT $7;

-- name: custom_logs_add
-- History fetched from the node for an event new to a contract (indexer/custom/rebuild.py): only
-- logs at or below the checkpoint, of the block the indexer holds (a stale branch's are dropped;
-- the main loop re-indexes a replaced block with the event's raw log kept).
INSERT INTO custom_logs (chain_id, block_number, log_index, block_hash, block_time, tx_hash, address, contract,
                         topics, data)
SELECT $1, l.block_number, l.log_index, l.block_hash, l.block_time, l.tx_hash, l.address, $2,
       string_to_array(l.topics, ','), l.data
FROM unnest($3::bigint[], $4::int[], $5::text[], $6::timestamptz[], $7::text[], $8::text[], $9::text[], $10::text[])
     AS l(block_number, log_index, block_hash, block_time, tx_hash, address, topics, data)
WHERE l.block_number <= $11
  AND NOT EXISTS (SELECT 1 FROM indexed_blocks b
                  WHERE b.chain_id = $1 AND b.number = l.block_number AND b.hash <> l.block_hash)
ON CONFLICT (chain_id, block_number, log_index) DO NOTHING;

-- name: custom_checkpoint_share
-- Held while history is added: a rollback (which moves the checkpoint) waits, so none slips in between.
SELECT block_number FROM indexer_checkpoints WHERE chain_id = $1 FOR SHARE;

-- name: custom_history_progress
-- How far a rebuild's history fetch got per topic0 of a contract (indexer/custom/rebuild.py).
SELECT topic0, done, fetched_blocks FROM custom_history_progress
WHERE chain_id = $1 AND contract = $2 AND topic0 = ANY($3::text[]);

-- name: custom_history_start
INSERT INTO custom_history_progress (chain_id, contract, topic0, done) SELECT $1, $2, t, $4
FROM unnest($3::text[]) AS t ON CONFLICT (chain_id, contract, topic0) DO NOTHING;

-- name: custom_history_done
-- One range (from $4 to $5) fetched: written in the range's transaction, with its logs.
UPDATE custom_history_progress SET done = GREATEST(done, $5), fetched_blocks = fetched_blocks + ($5 - $4 + 1)
WHERE chain_id = $1 AND contract = $2 AND topic0 = ANY($3::text[]);

-- name: custom_history_rollback
-- A rollback deletes the raw log above the common ancestor: what was fetched there is fetched again.
UPDATE custom_history_progress SET done = $2 WHERE chain_id = $1 AND done > $2;

-- name: reset_chain_custom_history
DELETE FROM custom_history_progress WHERE chain_id = $1;

-- name: deferrable_indexes_present
-- The indexes of these tables (schema '' = the search path's, where the migrations made ours) that
-- exist (indexer/indexes.py).
SELECT k.schema, i.indexname
FROM unnest($1::text[], $2::text[]) AS k(schema, table_name)
JOIN pg_indexes i ON i.schemaname = coalesce(nullif(k.schema, ''), current_schema()) AND i.tablename = k.table_name;

-- name: deferrable_table_rows
-- The planner's row estimate of these tables (0 before their first ANALYZE or VACUUM).
SELECT k.schema, k.table_name, greatest(c.reltuples, 0)::bigint AS rows
FROM unnest($1::text[], $2::text[]) AS k(schema, table_name)
JOIN pg_namespace n ON n.nspname = coalesce(nullif(k.schema, ''), current_schema())
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = k.table_name;
