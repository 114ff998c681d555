-- Foundation schema: chain identity, the indexer's blocks/checkpoint/raw events/balances,
-- the relayer's request queue and nonces.

-- Per process and chain id, the genesis hash it last worked on: tells a reset dev chain
-- (a new anvil, same chain id) from the one the owner's rows describe.
CREATE TABLE chain_identity (
    owner         text NOT NULL,
    chain_id      bigint NOT NULL,
    genesis_hash  text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, chain_id)
);

-- ---------------------------------------------------------------- indexer
-- Unfinalized (and recent) blocks, linked by parent hash, for reorg detection.
CREATE TABLE indexed_blocks (
    chain_id      bigint NOT NULL,
    number        bigint NOT NULL,
    hash          text NOT NULL,
    parent_hash   text NOT NULL,
    timestamp     bigint NOT NULL,
    PRIMARY KEY (chain_id, number)
);

-- The checkpoint moves in the same transaction as the rows it covers.
CREATE TABLE indexer_checkpoints (
    chain_id      bigint PRIMARY KEY,
    block_number  bigint NOT NULL,
    block_hash    text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Raw decoded event log.
CREATE TABLE chain_events (
    chain_id      bigint NOT NULL,
    block_number  bigint NOT NULL,
    block_hash    text NOT NULL,
    tx_hash       text NOT NULL,
    log_index     integer NOT NULL,
    address       text NOT NULL,
    contract      text NOT NULL,
    event         text NOT NULL,
    args          jsonb NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX chain_events_tx ON chain_events (tx_hash);
CREATE INDEX chain_events_event ON chain_events (chain_id, contract, event, block_number);

-- Projection: ERC-20 balances (TK, TKI), kept in the same transaction as chain_events.
CREATE TABLE token_balances (
    chain_id      bigint NOT NULL,
    token         text NOT NULL,
    account       text NOT NULL,
    balance       numeric(78, 0) NOT NULL CHECK (balance >= 0),
    updated_block bigint NOT NULL,
    PRIMARY KEY (chain_id, account, token)
);

-- Projection: ERC-20 transfers, narrow and typed (transfer history; exact reorg rollback).
CREATE TABLE token_transfers (
    chain_id      bigint NOT NULL,
    block_number  bigint NOT NULL,
    log_index     integer NOT NULL,
    token         text NOT NULL,
    sender        text NOT NULL,
    receiver      text NOT NULL,
    amount        numeric(78, 0) NOT NULL,
    tx_hash       text NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX token_transfers_sender ON token_transfers (chain_id, sender, token, block_number);
CREATE INDEX token_transfers_receiver ON token_transfers (chain_id, receiver, token, block_number);

-- Projection: mints by payment reference (Coin.Minted).
CREATE TABLE token_mints (
    chain_id      bigint NOT NULL,
    payment_ref   text NOT NULL,
    token         text NOT NULL,
    account       text NOT NULL,
    amount        numeric(78, 0) NOT NULL,
    tx_hash       text NOT NULL,
    block_number  bigint NOT NULL,
    PRIMARY KEY (chain_id, payment_ref)
);

-- ---------------------------------------------------------------- relayer
CREATE TABLE tx_requests (
    id               bigserial PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('mint', 'settle', 'accrue', 'burn_pass', 'end_auction', 'withdraw_for')),
    idempotency_key  text NOT NULL UNIQUE,
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'submitted', 'confirmed', 'failed', 'dead', 'cancelled')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    signer           text,
    nonce            bigint,
    tx_hash          text,
    raw_tx           text,
    block_number     bigint,
    not_before       timestamptz NOT NULL DEFAULT now(),
    history          jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tx_requests_ready ON tx_requests (id) WHERE status = 'pending';
CREATE INDEX tx_requests_inflight ON tx_requests (id) WHERE status = 'submitted';

-- The nonce manager's persisted state, one row per signer and chain.
CREATE TABLE signer_nonces (
    chain_id      bigint NOT NULL,
    signer        text NOT NULL,
    next_nonce    bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, signer)
);
