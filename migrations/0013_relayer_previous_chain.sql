-- A dev-chain reset (README "Providers"): requests finished on the old chain stay as the history of
-- that chain; the relayer no longer watches them for reorgs (which would replay them on the new chain).
ALTER TABLE tx_requests ADD COLUMN previous_chain boolean NOT NULL DEFAULT false;
