-- Configured contracts' tables are versioned projections (README "Upgrading projections"): a changed
-- definition is rebuilt beside the served table and swapped in. The registry keeps the ABI event item
-- each table was created from, so any process decodes with the served definition exactly while the
-- new one is being built (NULL for tables registered before: rebuilt from `columns`).
ALTER TABLE custom_event_tables ADD COLUMN abi jsonb;
