-- name: indexed_block
SELECT block_number, block_hash FROM indexer_checkpoints WHERE chain_id = $1;

-- name: balances_of
SELECT token, balance::text AS balance, updated_block FROM token_balances
WHERE chain_id = $1 AND account = $2;
