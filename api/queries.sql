-- ------------------------------------------------------------- indexed reads
-- name: indexed_block
SELECT block_number, block_hash FROM indexer_checkpoints WHERE chain_id = $1;

-- name: indexed_block_lsn
-- The checkpoint and the primary's WAL position, taken after the statement's snapshot: a replica that has
-- replayed up to it sees this checkpoint (or a later one).
SELECT block_number, block_hash, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS lsn
FROM indexer_checkpoints WHERE chain_id = $1;

-- name: balances_of
SELECT token, balance::text AS balance, updated_block FROM token_balances
WHERE chain_id = $1 AND account = $2;

-- name: balances_of_many
SELECT account, token, balance::text AS balance, updated_block FROM token_balances
WHERE chain_id = $1 AND account = ANY($2::text[]);

-- name: mint_by_ref
SELECT payment_ref, token, account, amount::text AS amount, tx_hash, block_number FROM token_mints
WHERE chain_id = $1 AND payment_ref = $2;

-- name: mints_page
-- Newest first; the cursor is the last row's (block_number, payment_ref).
SELECT payment_ref, token, account, amount::text AS amount, tx_hash, block_number FROM token_mints
WHERE chain_id = $1 AND account = $2 AND (block_number, payment_ref) < ($3, $4)
ORDER BY block_number DESC, payment_ref DESC
LIMIT $5;

-- name: transfers_page
-- An account's transfers (sent or received), newest first, before the cursor (block, log index).
SELECT t.block_number, t.log_index, t.token, t.sender, t.receiver, t.amount::text AS amount, t.tx_hash
FROM (
    (SELECT * FROM token_transfers
     WHERE chain_id = $1 AND sender = $2 AND (block_number, log_index) < ($3, $4)
     ORDER BY block_number DESC, log_index DESC LIMIT $5)
    UNION
    (SELECT * FROM token_transfers
     WHERE chain_id = $1 AND receiver = $2 AND (block_number, log_index) < ($3, $4)
     ORDER BY block_number DESC, log_index DESC LIMIT $5)
) AS t
ORDER BY t.block_number DESC, t.log_index DESC
LIMIT $5;

-- name: transfers_between
-- What the live feed announces for blocks (after, upto]; one more row than the cap tells "too many".
SELECT block_number, log_index, token, sender, receiver, amount::text AS amount, tx_hash FROM token_transfers
WHERE chain_id = $1 AND block_number > $2 AND block_number <= $3
ORDER BY block_number, log_index
LIMIT $4;

-- name: balances_for_keys
SELECT b.token, b.account, b.balance::text AS balance, b.updated_block
FROM unnest($2::text[], $3::text[]) AS k(token, account)
LEFT JOIN token_balances b ON b.chain_id = $1 AND b.token = k.token AND b.account = k.account;

-- ------------------------------------------------------------- auctions, passes, withdrawals
-- name: indexed_time
-- The chain time of the indexed block: an auction is open while its end_time is after it.
SELECT b.timestamp FROM indexer_checkpoints c
JOIN indexed_blocks b ON b.chain_id = c.chain_id AND b.number = c.block_number
WHERE c.chain_id = $1;

-- name: open_auctions_page
-- Open auctions, soonest ending first, after the cursor (end_time, auction_id).
SELECT auction_id::text AS auction_id, seller, reserve::text AS reserve, end_time, fee_bps, metadata, metadata_hex, status,
       highest_bidder, highest_bid::text AS highest_bid, bid_count, winner, fee::text AS fee, pass_id::text AS pass_id,
       created_block, updated_block
FROM auctions
WHERE chain_id = $1 AND status = 'active' AND end_time > $2 AND (end_time, auction_id) > ($3, $4::numeric)
ORDER BY end_time, auction_id
LIMIT $5;

-- name: auction_by_id
SELECT auction_id::text AS auction_id, seller, reserve::text AS reserve, end_time, fee_bps, metadata, metadata_hex, status,
       highest_bidder, highest_bid::text AS highest_bid, bid_count, winner, fee::text AS fee, pass_id::text AS pass_id,
       created_block, updated_block
FROM auctions WHERE chain_id = $1 AND auction_id = $2::numeric;

-- name: bids_of_auction
-- An auction's bids, newest first (at most $3).
SELECT block_number, log_index, bidder, amount::text AS amount, previous_bidder,
       previous_amount::text AS previous_amount, tx_hash
FROM bids WHERE chain_id = $1 AND auction_id = $2::numeric
ORDER BY block_number DESC, log_index DESC
LIMIT $3;

-- name: auctions_by_seller_page
-- Auctions created by any of the wallets, newest first, before the cursor auction_id.
SELECT auction_id::text AS auction_id, seller, reserve::text AS reserve, end_time, fee_bps, metadata, metadata_hex, status,
       highest_bidder, highest_bid::text AS highest_bid, bid_count, winner, fee::text AS fee, pass_id::text AS pass_id,
       created_block, updated_block
FROM auctions
WHERE chain_id = $1 AND seller = ANY($2::text[]) AND auction_id < $3::numeric
ORDER BY auction_id DESC
LIMIT $4;

-- name: auctions_won_page
-- Ended auctions won by any of the wallets, newest first, before the cursor auction_id.
SELECT auction_id::text AS auction_id, seller, reserve::text AS reserve, end_time, fee_bps, metadata, metadata_hex, status,
       highest_bidder, highest_bid::text AS highest_bid, bid_count, winner, fee::text AS fee, pass_id::text AS pass_id,
       created_block, updated_block
FROM auctions
WHERE chain_id = $1 AND winner = ANY($2::text[]) AND status = 'ended' AND auction_id < $3::numeric
ORDER BY auction_id DESC
LIMIT $4;

-- name: passes_page
-- Meeting passes held by any of the wallets, by token id, after the cursor token_id.
SELECT token_id::text AS token_id, auction_id::text AS auction_id, owner, redeemed, minted_block, updated_block
FROM meeting_passes
WHERE chain_id = $1 AND owner = ANY($2::text[]) AND token_id > $3::numeric
ORDER BY token_id
LIMIT $4;

-- name: withdrawals_page
-- A creator's TipRouter withdrawals, newest first, before the cursor (block, log index).
SELECT block_number, log_index, creator, token, amount::text AS amount, tx_hash
FROM withdrawals
WHERE chain_id = $1 AND creator = $2 AND (block_number, log_index) < ($3, $4)
ORDER BY block_number DESC, log_index DESC
LIMIT $5;

-- name: earnings_of_many
-- What the TipRouter owes each wallet (net tips received minus withdrawals), per token.
SELECT account, token, amount::text AS amount FROM router_earnings
WHERE chain_id = $1 AND account = ANY($2::text[]);

-- name: contract_events_between
-- What the live feed announces from the auction and tipping contracts for blocks (after, upto].
SELECT block_number, log_index, tx_hash, contract, event, args FROM chain_events
WHERE chain_id = $1 AND block_number > $2 AND block_number <= $3 AND contract = ANY($4::text[])
  AND event = ANY($5::text[])
ORDER BY block_number, log_index
LIMIT $6;

-- name: sellers_of
SELECT auction_id::text AS auction_id, seller FROM auctions WHERE chain_id = $1 AND auction_id = ANY($2::numeric[]);

-- ------------------------------------------------------------- accounts
-- name: create_user
INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3)
RETURNING id, email, email_verified, role, created_at;

-- name: user_by_email
SELECT id, email, password_hash, email_verified, role, created_at FROM users WHERE email = $1;

-- name: user_by_id
SELECT id, email, password_hash, email_verified, role, created_at FROM users WHERE id = $1;

-- name: set_password
UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1;

-- name: set_email_verified
UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1;

-- name: set_role
UPDATE users SET role = $2, updated_at = now() WHERE id = $1
RETURNING id, email, email_verified, role, created_at;

-- name: wallets_of
SELECT address FROM user_wallets WHERE user_id = $1 ORDER BY linked_at, address;

-- name: wallet_owner
SELECT user_id FROM user_wallets WHERE address = $1;

-- name: link_wallet
INSERT INTO user_wallets (address, user_id) VALUES ($1, $2);

-- ------------------------------------------------------------- refresh tokens
-- name: insert_refresh_token
INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
VALUES ($1, $2, $3, now() + make_interval(secs => $4));

-- name: refresh_token_for_update
SELECT id, user_id, family_id, expires_at, used_at, revoked_at, expires_at <= now() AS expired
FROM refresh_tokens WHERE token_hash = $1
FOR UPDATE;

-- name: use_refresh_token
UPDATE refresh_tokens SET used_at = now() WHERE id = $1;

-- name: revoke_family
UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL;

-- name: revoke_user_tokens
UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL;

-- ------------------------------------------------------------- email OTPs
-- name: close_open_otps
UPDATE email_otps SET consumed_at = now() WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL;

-- name: insert_otp
INSERT INTO email_otps (user_id, purpose, code_hash, expires_at)
VALUES ($1, $2, $3, now() + make_interval(secs => $4));

-- name: open_otp_for_update
SELECT id, code_hash, attempts, expires_at <= now() AS expired FROM email_otps
WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL
ORDER BY id DESC LIMIT 1
FOR UPDATE;

-- name: otp_attempt
UPDATE email_otps SET attempts = attempts + 1 WHERE id = $1;

-- name: consume_otp
UPDATE email_otps SET consumed_at = now() WHERE id = $1;

-- --------------------------------------------- configured contracts' events
-- name: custom_event_tables
SELECT contract, event, table_name, signature, columns FROM custom_event_tables ORDER BY contract, event;

-- name: custom_event_table
SELECT contract, event, table_name, signature, columns FROM custom_event_tables
WHERE contract = $1 AND lower(event) = lower($2);

-- ------------------------------------------------------------- cleanup
-- name: try_cleanup_lock
-- One cleaner at a time across API processes (held until the transaction ends).
SELECT pg_try_advisory_xact_lock(hashtext('api.cleanup'));

-- name: delete_expired_refresh_tokens
-- Refresh tokens expired more than $1 seconds ago (a presented expired token is refused either way).
DELETE FROM refresh_tokens WHERE id IN (
    SELECT id FROM refresh_tokens WHERE expires_at < now() - make_interval(secs => $1) LIMIT $2
);

-- name: delete_expired_otps
-- One-time codes expired more than $1 seconds ago (used or not).
DELETE FROM email_otps WHERE id IN (
    SELECT id FROM email_otps WHERE expires_at < now() - make_interval(secs => $1) LIMIT $2
);

-- name: claim_unverified_email
-- The mailbox's owner proved it with a code: the email is verified, and a password set by whoever
-- registered the unverified address is dropped (no pre-registration takeover).
UPDATE users SET email_verified = true, password_hash = NULL, updated_at = now()
WHERE id = $1 AND NOT email_verified RETURNING id;
