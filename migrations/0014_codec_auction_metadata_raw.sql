-- The storable-value rule (README "Decoding"): an auction's metadata that is not valid UTF-8 or
-- holds NUL is stored in `metadata` with U+FFFD in place of each bad sequence and NUL; the
-- original bytes are kept here as 0x hex (NULL when `metadata` is the metadata exactly).
ALTER TABLE auctions ADD COLUMN metadata_hex text;

-- Logs stored raw because they could not be decoded (event '!undecodable', never skipped):
-- `indexer status` and `indexer verify` list them.
CREATE INDEX chain_events_undecodable ON chain_events (chain_id, block_number, log_index) WHERE event = '!undecodable';
