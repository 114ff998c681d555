-- The relayer's signer pool (README "Relayer"): each key's in-flight requests are counted to route new
-- requests to the least-loaded key with room, and under a key's nonce lock to hold its cap.
CREATE INDEX tx_requests_inflight_signer ON tx_requests (signer, nonce) WHERE status = 'submitted';
