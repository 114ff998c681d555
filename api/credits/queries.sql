-- The credits ledger (api/credits/service.py): double-entry accounts, transactions, holds.

-- name: ensure_credit_accounts
INSERT INTO credit_accounts (user_id, kind, balance) VALUES ($1, 'available', 0), ($1, 'held', 0)
ON CONFLICT (user_id, kind) DO NOTHING;

-- name: lock_credit_accounts
-- Every mutation of a user's credits starts here: one lock order (by id), so no deadlock.
SELECT id, kind, balance FROM credit_accounts WHERE user_id = $1 ORDER BY id FOR UPDATE;

-- name: system_accounts
SELECT id, kind FROM credit_accounts WHERE user_id IS NULL;

-- name: credit_balances
SELECT kind, balance FROM credit_accounts WHERE user_id = $1;

-- name: transaction_by_key
SELECT kind, fingerprint, result FROM credit_transactions WHERE user_id = $1 AND idempotency_key = $2;

-- name: insert_transaction
-- The result (what a retry with the same key gets back) carries the transaction's own id.
WITH t AS (SELECT nextval(pg_get_serial_sequence('credit_transactions', 'id')) AS id)
INSERT INTO credit_transactions (id, user_id, idempotency_key, kind, amount, fingerprint, usage_id, payment_id, memo,
                                 result, created_at)
SELECT t.id, $1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb || jsonb_build_object('transaction_id', t.id), $10
FROM t
RETURNING result;

-- name: post_entries
-- The entries of one transaction, and the user balances they move (CHECK balance >= 0), in one statement.
WITH moved AS (
    UPDATE credit_accounts AS a SET balance = a.balance + m.x
    FROM unnest($2::bigint[], $3::bigint[]) AS m(id, x)
    WHERE a.id = m.id AND a.balance IS NOT NULL
)
INSERT INTO credit_entries (transaction_id, account_id, amount, balance_after)
SELECT $1, e.id, e.x, e.b FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS e(id, x, b);

-- name: insert_usage
INSERT INTO credit_usage (user_id, feature, reference, reserved, charged, status, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $7) END)
RETURNING id, user_id, feature, reference, reserved, charged, status, expires_at, created_at, updated_at;

-- name: usage_for_update
SELECT id, user_id, feature, reference, reserved, charged, status, expires_at, created_at, updated_at,
       expires_at IS NOT NULL AND expires_at <= now() AS expired
FROM credit_usage WHERE id = $1 AND user_id = $2 FOR UPDATE;

-- name: expired_holds
SELECT id FROM credit_usage WHERE user_id = $1 AND status = 'held' AND expires_at <= now() ORDER BY id;

-- name: settle_usage
UPDATE credit_usage SET status = $2, charged = $3, updated_at = now() WHERE id = $1
RETURNING id, user_id, feature, reference, reserved, charged, status, expires_at, created_at, updated_at;

-- name: credit_history_page
SELECT t.id, t.kind, t.amount, t.usage_id, t.payment_id, t.memo, t.created_at,
       coalesce(sum(e.amount) FILTER (WHERE a.kind = 'available'), 0)::bigint AS available_change,
       coalesce(sum(e.amount) FILTER (WHERE a.kind = 'held'), 0)::bigint AS held_change
FROM credit_transactions t
JOIN credit_entries e ON e.transaction_id = t.id
JOIN credit_accounts a ON a.id = e.account_id
WHERE t.user_id = $1 AND t.id < $2
GROUP BY t.id
ORDER BY t.id DESC
LIMIT $3;

-- name: usage_page
SELECT id, user_id, feature, reference, reserved, charged, status, expires_at, created_at, updated_at
FROM credit_usage WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3;

-- name: usage_row
SELECT id, user_id, feature, reference, reserved, charged, status, expires_at, created_at, updated_at
FROM credit_usage WHERE id = $1 AND user_id = $2;

-- name: usage_by_feature
-- The usage log summed per feature: how often, how much charged, how much held right now.
SELECT feature, count(*)::bigint AS uses, coalesce(sum(charged), 0)::bigint AS charged,
       coalesce(sum(reserved) FILTER (WHERE status = 'held'), 0)::bigint AS held
FROM credit_usage WHERE user_id = $1 GROUP BY feature ORDER BY feature;

-- name: user_exists
SELECT EXISTS (SELECT 1 FROM users WHERE id = $1);
