-- Relayer: every transaction a request used (replacements), when/where it was last sent,
-- and the fields needed to re-sign it with the same nonce and bumped fees.
ALTER TABLE tx_requests
    ADD COLUMN tx_hashes                text[] NOT NULL DEFAULT '{}',
    ADD COLUMN submitted_at             timestamptz,
    ADD COLUMN submitted_block          bigint,
    ADD COLUMN first_submitted_at       timestamptz,
    ADD COLUMN gas_limit                bigint,
    ADD COLUMN max_fee_per_gas          numeric(78, 0),
    ADD COLUMN max_priority_fee_per_gas numeric(78, 0),
    ADD COLUMN replacements             integer NOT NULL DEFAULT 0;
