-- Contracts indexed by configuration (INDEXER_CONTRACTS_PATH): one table per event, created
-- by the indexer from the ABI in the schema custom_events; this registry says which tables
-- exist and what their columns are (the API reads it to serve /api/events/...).

CREATE SCHEMA IF NOT EXISTS custom_events;

CREATE TABLE custom_event_tables (
    contract      text NOT NULL,
    event         text NOT NULL,
    table_name    text NOT NULL UNIQUE,
    signature     text NOT NULL,
    topic0        text NOT NULL,
    -- [{"name": ABI name, "column": SQL column, "type": ABI type, "sql": SQL type, "indexed": bool}]
    columns       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contract, event)
);

-- Children discovered from a factory event; rolled back by block like every indexed row.
CREATE TABLE custom_children (
    chain_id      bigint NOT NULL,
    contract      text NOT NULL,
    address       text NOT NULL,
    factory       text NOT NULL,
    block_number  bigint NOT NULL,
    log_index     integer NOT NULL,
    PRIMARY KEY (chain_id, address)
);
CREATE INDEX custom_children_block ON custom_children (chain_id, block_number);

-- Per chain, each configured contract's history catch-up: a contract added to the configuration
-- after indexing began is indexed from its start block up to `target` (the checkpoint when it
-- was added) range by range, `done` moving in each range's transaction; the main loop covers
-- the blocks after `target`.
CREATE TABLE custom_contract_progress (
    chain_id      bigint NOT NULL,
    contract      text NOT NULL,
    target        bigint NOT NULL,
    done          bigint NOT NULL,
    PRIMARY KEY (chain_id, contract)
);

-- The expression indexes that recompute one auction or pass on a rollback only ever serve
-- those contracts' rows: partial, so the other events (most of them) skip two index inserts
-- and their jsonb expressions.
DROP INDEX IF EXISTS chain_events_entity;
DROP INDEX IF EXISTS chain_events_token;
CREATE INDEX chain_events_entity ON chain_events (chain_id, ((args->>'auction_id')), block_number, log_index)
    WHERE contract = 'MeetingAuction';
CREATE INDEX chain_events_token ON chain_events (chain_id, ((args->>'token_id')), block_number, log_index)
    WHERE contract = 'MeetingPass';
