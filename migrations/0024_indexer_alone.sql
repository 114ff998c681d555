-- The raw log of the contracts indexed by configuration (INDEXER_CONTRACTS_PATH): every log of a
-- configured event, as the node returned it, with its block's time. `replay` rebuilds the typed
-- tables of custom_events from it (no RPC), `verify` compares it with the chain's logs; rows above
-- a reorg's common ancestor are deleted with the batch's other rows. (The typed tables get their
-- `block_time` column from the indexer when it creates or opens them.)
CREATE TABLE custom_logs (
    chain_id      bigint NOT NULL,
    block_number  bigint NOT NULL,
    log_index     integer NOT NULL,
    block_hash    text NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       text NOT NULL,
    address       text NOT NULL,
    contract      text NOT NULL,
    topics        text[] NOT NULL,
    data          text NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
