-- Relayer: finished requests are re-checked until their block is final (a reorg can drop them).
CREATE INDEX tx_requests_mined_block ON tx_requests (block_number) WHERE block_number IS NOT NULL;
