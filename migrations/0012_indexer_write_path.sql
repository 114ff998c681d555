-- Indexer write path: fewer indexes to maintain on every backfilled event.
--
-- No query filters chain_events by tx_hash, and the live feed's and the rollback's
-- "(contract, event) in a block range" reads are served by the primary key's block range
-- (the API's PassRedeemed lookup uses the partial chain_events_token index). These two
-- indexes cost about as much as the rest of the table's insert path together.
DROP INDEX IF EXISTS chain_events_tx;
DROP INDEX IF EXISTS chain_events_event;

-- The rollback's "last transfer of (token, account)" reads the cursor-pagination indexes
-- (chain_id, sender|receiver, block_number, log_index) backwards; the token-first pair
-- duplicated them.
DROP INDEX IF EXISTS token_transfers_sender;
DROP INDEX IF EXISTS token_transfers_receiver;

-- No query looks bids up by bidder (an auction's bids use bids_auction).
DROP INDEX IF EXISTS bids_bidder;
