-- Subscriptions (api/subscriptions): plans, customers, checkouts, subscription state, paid invoices.

-- ------------------------------------------------------------- plans
-- name: plans
SELECT id, name, stripe_price_id, monthly_credits, price_cents, currency, active, position
FROM subscription_plans WHERE active OR $1::boolean ORDER BY position, id;

-- name: plan
SELECT id, name, stripe_price_id, monthly_credits, price_cents, currency, active, position
FROM subscription_plans WHERE id = $1;

-- name: plan_by_price
SELECT id, name, stripe_price_id, monthly_credits, price_cents, currency, active, position
FROM subscription_plans WHERE stripe_price_id = $1;

-- name: put_plan
INSERT INTO subscription_plans (id, name, stripe_price_id, monthly_credits, price_cents, currency, active, position)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, stripe_price_id = EXCLUDED.stripe_price_id,
    monthly_credits = EXCLUDED.monthly_credits, price_cents = EXCLUDED.price_cents, currency = EXCLUDED.currency,
    active = EXCLUDED.active, position = EXCLUDED.position, updated_at = now()
RETURNING id, name, stripe_price_id, monthly_credits, price_cents, currency, active, position;

-- ------------------------------------------------------------- customers and checkouts
-- name: customer_of
SELECT customer_id FROM subscription_customers WHERE user_id = $1;

-- name: user_of_customer
SELECT user_id FROM subscription_customers WHERE customer_id = $1;

-- name: insert_customer
INSERT INTO subscription_customers (user_id, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- name: user_email
SELECT email FROM users WHERE id = $1;

-- name: user_exists
SELECT EXISTS (SELECT 1 FROM users WHERE id = $1);

-- name: insert_checkout
INSERT INTO subscription_checkouts (session_id, user_id, plan_id, checkout_url) VALUES ($1, $2, $3, $4);

-- name: checkout_for_update
SELECT session_id, user_id, plan_id, status FROM subscription_checkouts WHERE session_id = $1 FOR UPDATE;

-- name: end_checkout
UPDATE subscription_checkouts SET status = $2, updated_at = now() WHERE session_id = $1 AND status = 'open';

-- ------------------------------------------------------------- subscriptions
-- name: current_of
-- The user's subscription: the newest one still running, else the newest one.
SELECT s.stripe_subscription_id, s.user_id, s.plan_id, s.item_id, s.status, s.current_period_end,
       s.cancel_at_period_end, s.ended_at,
       s.status NOT IN ('canceled', 'incomplete_expired') AS live
FROM subscriptions s WHERE s.user_id = $1
ORDER BY s.status NOT IN ('canceled', 'incomplete_expired') DESC, s.id DESC
LIMIT 1;

-- name: subscription_for_update
SELECT stripe_subscription_id, user_id, plan_id, status, ended_at, state_at FROM subscriptions
WHERE stripe_subscription_id = $1 FOR UPDATE;

-- name: insert_subscription
-- A subscription first heard of from its checkout or an invoice (state_at 0: any subscription event
-- carries newer state than this).
INSERT INTO subscriptions (stripe_subscription_id, user_id, customer_id, plan_id, status, current_period_end)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (stripe_subscription_id) DO NOTHING;

-- name: apply_subscription
-- The state of a subscription event or API answer, unless the row holds a newer one; an ended
-- subscription stays ended (Stripe never revives one).
INSERT INTO subscriptions (stripe_subscription_id, user_id, customer_id, plan_id, item_id, status,
                           current_period_end, cancel_at_period_end, ended_at, state_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (stripe_subscription_id) DO UPDATE SET
    customer_id = coalesce(EXCLUDED.customer_id, subscriptions.customer_id),
    plan_id = coalesce(EXCLUDED.plan_id, subscriptions.plan_id),
    item_id = coalesce(EXCLUDED.item_id, subscriptions.item_id),
    status = EXCLUDED.status,
    current_period_end = coalesce(EXCLUDED.current_period_end, subscriptions.current_period_end),
    cancel_at_period_end = EXCLUDED.cancel_at_period_end,
    ended_at = coalesce(EXCLUDED.ended_at, subscriptions.ended_at),
    state_at = EXCLUDED.state_at,
    updated_at = now()
WHERE subscriptions.state_at <= EXCLUDED.state_at
  AND (subscriptions.status <> 'canceled' OR EXCLUDED.status = 'canceled')
RETURNING status;

-- ------------------------------------------------------------- invoices
-- name: insert_invoice
INSERT INTO subscription_invoices (invoice_id, user_id, stripe_subscription_id, plan_id, billing_reason, credits,
                                   amount_paid, currency, period_end)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (invoice_id) DO NOTHING
RETURNING invoice_id;

-- name: invoices_of
SELECT invoice_id, plan_id, billing_reason, credits, amount_paid, currency, period_end, created_at
FROM subscription_invoices WHERE user_id = $1 ORDER BY created_at DESC, invoice_id LIMIT $2;
