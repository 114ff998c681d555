-- Read paths of the API over the contract projections, and the cleanup of expired credentials.

-- Open auctions, soonest ending first, cursor (end_time, auction_id).
CREATE INDEX auctions_open_page ON auctions (chain_id, end_time, auction_id) WHERE status = 'active';
-- A wallet's passes, cursor token_id.
CREATE INDEX meeting_passes_owner_page ON meeting_passes (chain_id, owner, token_id);
-- A creator's withdrawals, newest first, cursor (block_number, log_index).
CREATE INDEX withdrawals_creator_page ON withdrawals (chain_id, creator, block_number, log_index);

-- The periodic cleanup deletes expired refresh tokens and one-time codes.
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
CREATE INDEX email_otps_expiry ON email_otps (expires_at);
