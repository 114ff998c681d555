-- ------------------------------------------------------------- packages
-- name: packages
SELECT id, kind, name, amount::text AS amount, price_cents, currency FROM payment_packages
WHERE active ORDER BY position, id;

-- name: package
SELECT id, kind, name, amount, price_cents, currency FROM payment_packages WHERE id = $1 AND active;

-- ------------------------------------------------------------- discount codes
-- name: code_for_update
SELECT * FROM discount_codes WHERE code = $1 FOR UPDATE;

-- name: code_by_name
SELECT * FROM discount_codes WHERE code = $1;

-- name: user_redemptions
SELECT count(*) FROM discount_redemptions WHERE code_id = $1 AND user_id = $2 AND status <> 'released';

-- name: add_redemption
UPDATE discount_codes SET redemptions = redemptions + 1 WHERE id = $1;

-- name: insert_redemption
INSERT INTO discount_redemptions (code_id, user_id, payment_id) VALUES ($1, $2, $3);

-- name: complete_redemption
UPDATE discount_redemptions SET status = 'completed', updated_at = now()
WHERE payment_id = $1 AND status = 'pending';

-- name: release_redemption
-- A redemption whose checkout never completed frees its slot.
WITH released AS (
    UPDATE discount_redemptions SET status = 'released', updated_at = now()
    WHERE payment_id = $1 AND status = 'pending'
    RETURNING code_id
)
UPDATE discount_codes SET redemptions = redemptions - 1 WHERE id IN (SELECT code_id FROM released);

-- name: insert_code
INSERT INTO discount_codes (code, kind, percent, package_kind, valid_from, valid_until, max_redemptions,
                            max_per_user, owner_user_id, source_payment_id, created_by)
VALUES ($1, $2, $3, $4, coalesce($5, now()), $6, $7, $8, $9, $10, $11)
ON CONFLICT (source_payment_id) DO NOTHING
RETURNING *;

-- name: codes_of_owner
SELECT * FROM discount_codes WHERE owner_user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3;

-- ------------------------------------------------------------- payments
-- name: open_flags
SELECT count(*) FROM account_flags WHERE user_id = $1 AND cleared_at IS NULL;

-- name: insert_payment
INSERT INTO payments (user_id, package_id, kind, wallet, amount, bonus, price_cents, discount_cents, charged_cents,
                      currency, discount_code_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING id;

-- name: attach_session
UPDATE payments SET session_id = $2, payment_ref = $3, checkout_url = $4, updated_at = now() WHERE id = $1;

-- name: fail_payment
UPDATE payments SET status = 'failed', updated_at = now() WHERE id = $1 AND status = 'pending';

-- name: pending_session_of
SELECT session_id FROM payments WHERE id = $1 AND user_id = $2 AND status = 'pending' AND session_id IS NOT NULL;

-- name: payment_by_session_for_update
SELECT * FROM payments WHERE session_id = $1 FOR UPDATE;

-- name: payment_by_intent_for_update
SELECT * FROM payments WHERE payment_intent = $1 FOR UPDATE;

-- name: mark_paid
UPDATE payments SET status = 'paid', payment_intent = $2, paid_at = now(), updated_at = now() WHERE id = $1;

-- name: mark_expired
UPDATE payments SET status = 'expired', updated_at = now() WHERE id = $1;

-- name: mark_reversed
UPDATE payments
SET status = $2, refunded_cents = greatest(refunded_cents, $3), credits_reversed = credits_reversed + $4,
    credits_unrecovered = $5, updated_at = now()
WHERE id = $1;

-- name: insert_event
INSERT INTO stripe_events (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id;

-- name: finish_event
UPDATE stripe_events SET outcome = $2, payment_id = $3 WHERE id = $1;

-- name: insert_flag
INSERT INTO account_flags (user_id, payment_id, reason, details) VALUES ($1, $2, $3, $4) RETURNING id;

-- name: payments_page
-- A user's payments, newest first; 'minted' when the indexer has the Minted event of its payment_ref.
SELECT p.id, p.package_id, p.kind,
       CASE WHEN p.status = 'paid' AND m.tx_hash IS NOT NULL THEN 'minted' ELSE p.status END AS status,
       p.amount::text AS amount, p.bonus::text AS bonus, p.price_cents, p.discount_cents, p.charged_cents,
       p.currency, p.wallet, p.claim_status, p.payment_ref, p.session_id, p.checkout_url, p.refunded_cents,
       d.code AS discount_code, r.status AS mint_request_status, m.tx_hash AS mint_tx_hash,
       m.block_number AS mint_block, p.created_at, p.paid_at
FROM payments p
LEFT JOIN discount_codes d ON d.id = p.discount_code_id
LEFT JOIN tx_requests r ON r.idempotency_key = 'mint:' || p.payment_ref
LEFT JOIN token_mints m ON m.chain_id = $2 AND m.payment_ref = p.payment_ref
WHERE p.user_id = $1 AND p.id < $3
ORDER BY p.id DESC
LIMIT $4;

-- name: flags_page
SELECT f.id, f.user_id, u.email, f.payment_id, f.reason, f.details, f.created_at, f.cleared_at, f.cleared_note
FROM account_flags f JOIN users u ON u.id = f.user_id
WHERE ($1::boolean OR f.cleared_at IS NULL) AND f.id < $2
ORDER BY f.id DESC
LIMIT $3;

-- name: clear_flag
UPDATE account_flags SET cleared_at = now(), cleared_by = $2, cleared_note = $3 WHERE id = $1 AND cleared_at IS NULL
RETURNING id, user_id, payment_id, reason, details, created_at, cleared_at, cleared_note;

-- ------------------------------------------------------------- coins before a wallet
-- name: set_waiting
UPDATE payments SET claim_status = 'waiting', updated_at = now() WHERE id = $1 AND wallet IS NULL;

-- name: lock_user_for_claim
-- The user row serialises a wallet link (FOR UPDATE) with a payment path reading the wallets (FOR SHARE).
SELECT id FROM users WHERE id = $1 FOR SHARE;

-- name: lock_user_for_link
SELECT id FROM users WHERE id = $1 FOR UPDATE;

-- name: first_wallet
SELECT address FROM user_wallets WHERE user_id = $1 ORDER BY linked_at, address LIMIT 1;

-- name: claim_waiting
-- A payment row locked by another transaction (its webhook, its refund) is skipped: that transaction
-- claims it itself once it has the user row, after this link committed.
UPDATE payments SET wallet = $2, claim_status = 'claimed', updated_at = now()
WHERE id IN (
    SELECT id FROM payments WHERE user_id = $1 AND claim_status = 'waiting' ORDER BY id FOR UPDATE SKIP LOCKED
)
RETURNING id, payment_ref, (amount + bonus)::text AS total;

-- name: cancel_claim
UPDATE payments SET claim_status = 'cancelled', updated_at = now() WHERE id = $1 AND claim_status = 'waiting';

-- name: unclaimed_of
SELECT id, package_id, status, (amount + bonus)::text AS amount, payment_ref, paid_at
FROM payments WHERE user_id = $1 AND claim_status = 'waiting' ORDER BY id;
