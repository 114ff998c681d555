-- The token_balances projection, rebuilt set-based from the raw log (chain_events) into the
-- shadow schema. Any change to this file changes the projection's version.

-- name: create
-- No key while the bulk build runs (one INSERT ... GROUP BY); `finish_table` adds it.
CREATE TABLE projection_shadow.token_balances (
    chain_id      bigint NOT NULL,
    token         text NOT NULL,
    account       text NOT NULL,
    balance       numeric(78, 0) NOT NULL,
    updated_block bigint NOT NULL
);

-- name: key_table
ALTER TABLE projection_shadow.token_balances ADD PRIMARY KEY (chain_id, account, token);

-- name: check_table
ALTER TABLE projection_shadow.token_balances ADD CONSTRAINT token_balances_balance_check CHECK (balance >= 0);

-- name: build
-- Net change and last touching block per (token, account) for the Transfers in ($6, $7]; the
-- zero address is skipped (as indexer/rows.py balance_deltas). Added onto what is there.
WITH f AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS f(contract, src, dst, val)
), t AS (
    SELECT e.address AS token, e.args->>f.src AS src, e.args->>f.dst AS dst,
           (e.args->>f.val)::numeric AS amount, e.block_number
    FROM chain_events e JOIN f ON f.contract = e.contract
    WHERE e.chain_id = $1 AND e.event = 'Transfer' AND e.block_number > $6 AND e.block_number <= $7
), d AS (
    SELECT token, src AS account, -amount AS delta, block_number FROM t
    WHERE src <> '0x0000000000000000000000000000000000000000'
    UNION ALL
    SELECT token, dst, amount, block_number FROM t
    WHERE dst <> '0x0000000000000000000000000000000000000000'
)
INSERT INTO projection_shadow.token_balances AS tb (chain_id, token, account, balance, updated_block)
SELECT $1, token, account, sum(delta), max(block_number) FROM d GROUP BY token, account
ON CONFLICT (chain_id, account, token) DO UPDATE
SET balance = tb.balance + EXCLUDED.balance, updated_block = GREATEST(tb.updated_block, EXCLUDED.updated_block);

-- name: build_unkeyed
-- The first, bulk pass (no key yet, nothing to add onto).
WITH f AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS f(contract, src, dst, val)
), t AS (
    SELECT e.address AS token, e.args->>f.src AS src, e.args->>f.dst AS dst,
           (e.args->>f.val)::numeric AS amount, e.block_number
    FROM chain_events e JOIN f ON f.contract = e.contract
    WHERE e.chain_id = $1 AND e.event = 'Transfer' AND e.block_number > $6 AND e.block_number <= $7
), d AS (
    SELECT token, src AS account, -amount AS delta, block_number FROM t
    WHERE src <> '0x0000000000000000000000000000000000000000'
    UNION ALL
    SELECT token, dst, amount, block_number FROM t
    WHERE dst <> '0x0000000000000000000000000000000000000000'
)
INSERT INTO projection_shadow.token_balances (chain_id, token, account, balance, updated_block)
SELECT $1, token, account, sum(delta), max(block_number) FROM d GROUP BY token, account;

-- name: copy_other_chains
INSERT INTO projection_shadow.token_balances (chain_id, token, account, balance, updated_block)
SELECT chain_id, token, account, balance, updated_block FROM public.token_balances WHERE chain_id <> $1;
