-- Subscriptions through Stripe Checkout (subscription mode): plans with their Stripe price and monthly
-- credit grant, the Stripe customer of each user, subscriptions as Stripe last told them, and one
-- credit grant per paid invoice (README "Subscriptions").

-- ---------------------------------------------------------------- plans
-- stripe_price_id: a recurring Price in the deployment's Stripe account (admins set it per plan:
-- PUT /api/admin/subscription-plans/{plan_id}); the seeded ids are placeholders to replace.
CREATE TABLE subscription_plans (
    id               text PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]{1,64}$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    stripe_price_id  text NOT NULL UNIQUE CHECK (stripe_price_id ~ '^price_[A-Za-z0-9_]{1,120}$'),
    monthly_credits  bigint NOT NULL CHECK (monthly_credits > 0 AND monthly_credits <= 1000000000),
    price_cents      bigint NOT NULL CHECK (price_cents >= 0),
    currency         text NOT NULL DEFAULT 'usd' CHECK (currency ~ '^[a-z]{3}$'),
    active           boolean NOT NULL DEFAULT true,
    position         integer NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

INSERT INTO subscription_plans (id, name, stripe_price_id, monthly_credits, price_cents, position) VALUES
    ('basic',  'Basic',  'price_basic_monthly',    500,  999, 1),
    ('pro',    'Pro',    'price_pro_monthly',     2000, 2999, 2),
    ('studio', 'Studio', 'price_studio_monthly', 10000, 9999, 3);

-- ---------------------------------------------------------------- customers and checkouts
-- The Stripe Customer created for a user at their first subscription checkout (its metadata names
-- the user too), so every later event that names only the customer finds its user.
CREATE TABLE subscription_customers (
    user_id      bigint PRIMARY KEY REFERENCES users (id) ON DELETE RESTRICT,
    customer_id  text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscription_checkouts (
    session_id   text PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    plan_id      text NOT NULL REFERENCES subscription_plans (id),
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete', 'expired')),
    checkout_url text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscription_checkouts_user ON subscription_checkouts (user_id, created_at);

-- ---------------------------------------------------------------- subscriptions
-- The state Stripe last told (its statuses); state_at is the `created` time of the event (or API
-- answer) it came from: an older event arriving late does not overwrite a newer state.
CREATE TABLE subscriptions (
    id                      bigserial PRIMARY KEY,
    stripe_subscription_id  text NOT NULL UNIQUE,
    user_id                 bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    customer_id             text,
    plan_id                 text REFERENCES subscription_plans (id),
    item_id                 text,
    status                  text NOT NULL CHECK (status IN ('incomplete', 'incomplete_expired', 'trialing',
                            'active', 'past_due', 'canceled', 'unpaid', 'paused')),
    current_period_end      timestamptz,
    cancel_at_period_end    boolean NOT NULL DEFAULT false,
    ended_at                timestamptz,
    state_at                bigint NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_user ON subscriptions (user_id, id);

-- One row per paid subscription invoice: its id is the key of the credit grant, so a replayed,
-- concurrent or re-sent invoice.paid grants once.
CREATE TABLE subscription_invoices (
    invoice_id              text PRIMARY KEY,
    user_id                 bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    stripe_subscription_id  text NOT NULL,
    plan_id                 text REFERENCES subscription_plans (id),
    billing_reason          text,
    credits                 bigint NOT NULL CHECK (credits >= 0),
    amount_paid             bigint,
    currency                text,
    period_end              timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscription_invoices_user ON subscription_invoices (user_id, created_at);

-- The ledger's transaction kinds gain 'subscription' (a plan's monthly grant).
ALTER TABLE credit_transactions DROP CONSTRAINT credit_transactions_kind_check;
ALTER TABLE credit_transactions ADD CONSTRAINT credit_transactions_kind_check
    CHECK (kind IN ('purchase', 'grant', 'spend', 'reserve', 'commit', 'release', 'reversal', 'subscription'));
