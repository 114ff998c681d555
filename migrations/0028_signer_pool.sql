-- The relayer's signer pool (README "Relayer"): each key's in-flight requests are counted to route new
-- requests to the least-loaded key with room, and under a key's nonce lock to hold its cap.
CREATE INDEX tx_requests_inflight_signer ON tx_requests (signer, nonce) WHERE status = 'submitted';

-- The hash of the block that mined a finished request's transaction: the reorg re-check compares it with
-- the chain's block at that height (one header per block) and asks for receipts only where they differ.
ALTER TABLE tx_requests ADD COLUMN block_hash text;
