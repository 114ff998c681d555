-- Payments (Stripe Checkout) for coin and credit packages, discount codes, account flags,
-- and the double-entry credits ledger.

-- ---------------------------------------------------------------- packages
-- amount: Coin base units (18 decimals) for 'coins', whole credits for 'credits'.
CREATE TABLE payment_packages (
    id           text PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]{1,64}$'),
    kind         text NOT NULL CHECK (kind IN ('coins', 'credits')),
    name         text NOT NULL,
    amount       numeric(78, 0) NOT NULL CHECK (amount > 0),
    price_cents  bigint NOT NULL CHECK (price_cents >= 50),
    currency     text NOT NULL DEFAULT 'usd' CHECK (currency ~ '^[a-z]{3}$'),
    active       boolean NOT NULL DEFAULT true,
    position     integer NOT NULL DEFAULT 0
);

INSERT INTO payment_packages (id, kind, name, amount, price_cents, position) VALUES
    ('coins_100',    'coins',   '100 coins',     100 * 10::numeric ^ 18,  99, 1),
    ('coins_550',    'coins',   '550 coins',     550 * 10::numeric ^ 18, 499, 2),
    ('coins_1200',   'coins',   '1,200 coins',  1200 * 10::numeric ^ 18, 999, 3),
    ('credits_100',  'credits', '100 credits',   100,  500, 4),
    ('credits_250',  'credits', '250 credits',   250, 1000, 5),
    ('credits_1000', 'credits', '1,000 credits', 1000, 3500, 6);

-- ---------------------------------------------------------------- discount codes
-- 'percent_off' lowers the price; 'bonus' adds percent more coins/credits. A reward code
-- (owner_user_id set) is issued to a buyer after a completed purchase and only they can use it.
-- `redemptions` counts pending and completed redemptions; it moves under the code's row lock.
CREATE TABLE discount_codes (
    id                 bigserial PRIMARY KEY,
    code               text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_-]{3,32}$'),
    kind               text NOT NULL CHECK (kind IN ('percent_off', 'bonus')),
    percent            integer NOT NULL CHECK (percent >= 1 AND (kind = 'bonus' OR percent <= 95) AND percent <= 1000),
    package_kind       text CHECK (package_kind IN ('coins', 'credits')),
    valid_from         timestamptz NOT NULL DEFAULT now(),
    valid_until        timestamptz,
    max_redemptions    integer CHECK (max_redemptions > 0),
    max_per_user       integer NOT NULL DEFAULT 1 CHECK (max_per_user > 0),
    redemptions        integer NOT NULL DEFAULT 0 CHECK (redemptions >= 0),
    owner_user_id      bigint REFERENCES users (id) ON DELETE CASCADE,
    source_payment_id  bigint UNIQUE,
    active             boolean NOT NULL DEFAULT true,
    created_by         bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until IS NULL OR valid_until > valid_from),
    CHECK (max_redemptions IS NULL OR redemptions <= max_redemptions)
);
CREATE INDEX discount_codes_owner ON discount_codes (owner_user_id, id) WHERE owner_user_id IS NOT NULL;

INSERT INTO discount_codes (code, kind, percent, max_per_user) VALUES
    ('WELCOME10', 'percent_off', 10, 1),
    ('BONUS20', 'bonus', 20, 1);

-- ---------------------------------------------------------------- payments
-- One Checkout Session per row. 'minted' is not a status: it is read from the indexer's
-- token_mints (joined by payment_ref) when the chain has the Minted event.
CREATE TABLE payments (
    id                bigserial PRIMARY KEY,
    user_id           bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    package_id        text NOT NULL REFERENCES payment_packages (id),
    kind              text NOT NULL CHECK (kind IN ('coins', 'credits')),
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN
                      ('pending', 'paid', 'partially_refunded', 'refunded', 'disputed', 'expired', 'failed')),
    wallet            text CHECK (wallet ~ '^0x[0-9a-f]{40}$'),
    amount            numeric(78, 0) NOT NULL CHECK (amount > 0),
    bonus             numeric(78, 0) NOT NULL DEFAULT 0 CHECK (bonus >= 0),
    price_cents       bigint NOT NULL,
    discount_cents    bigint NOT NULL DEFAULT 0,
    charged_cents     bigint NOT NULL CHECK (charged_cents > 0),
    currency          text NOT NULL,
    discount_code_id  bigint REFERENCES discount_codes (id),
    session_id        text UNIQUE,
    payment_ref       text UNIQUE CHECK (payment_ref ~ '^0x[0-9a-f]{64}$'),
    checkout_url      text,
    payment_intent    text,
    refunded_cents    bigint NOT NULL DEFAULT 0,
    credits_reversed  bigint NOT NULL DEFAULT 0,
    credits_unrecovered bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    paid_at           timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'credits' OR wallet IS NOT NULL)
);
CREATE INDEX payments_user ON payments (user_id, id);
CREATE INDEX payments_intent ON payments (payment_intent) WHERE payment_intent IS NOT NULL;

ALTER TABLE discount_codes ADD FOREIGN KEY (source_payment_id) REFERENCES payments (id);

CREATE TABLE discount_redemptions (
    id          bigserial PRIMARY KEY,
    code_id     bigint NOT NULL REFERENCES discount_codes (id),
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    payment_id  bigint NOT NULL UNIQUE REFERENCES payments (id),
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'released')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX discount_redemptions_code_user ON discount_redemptions (code_id, user_id) WHERE status <> 'released';

-- Every Stripe event handled, once: the event id is the idempotency key of the webhook.
CREATE TABLE stripe_events (
    id           text PRIMARY KEY,
    type         text NOT NULL,
    payment_id   bigint REFERENCES payments (id),
    outcome      text NOT NULL DEFAULT 'received',
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- An open flag blocks further purchases (coins cannot be clawed back on chain; unrecoverable
-- credits; disputes). Admins see and clear them.
CREATE TABLE account_flags (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    payment_id  bigint REFERENCES payments (id),
    reason      text NOT NULL CHECK (reason IN ('refund', 'dispute')),
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    cleared_at  timestamptz,
    cleared_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    cleared_note text
);
CREATE INDEX account_flags_open ON account_flags (user_id) WHERE cleared_at IS NULL;

-- ---------------------------------------------------------------- credits ledger
-- Double entry: every transaction is a set of entries summing to zero (checked at commit).
-- A user has two accounts, 'available' and 'held' (reserved for running jobs); their balances
-- are kept on the row (never negative, CHECK) and move under its row lock. The system
-- accounts 'issued' (source of purchased/granted credits) and 'consumed' (spent credits) keep
-- no balance column: their balance is the sum of their entries (no hot row for every spend).
CREATE TABLE credit_accounts (
    id       bigserial PRIMARY KEY,
    user_id  bigint REFERENCES users (id) ON DELETE RESTRICT,
    kind     text NOT NULL CHECK (kind IN ('available', 'held', 'issued', 'consumed')),
    balance  bigint CHECK (balance >= 0),
    CHECK ((user_id IS NULL) = (kind IN ('issued', 'consumed'))),
    CHECK ((user_id IS NULL) = (balance IS NULL)),
    UNIQUE NULLS NOT DISTINCT (user_id, kind)
);
INSERT INTO credit_accounts (user_id, kind, balance) VALUES (NULL, 'issued', NULL), (NULL, 'consumed', NULL);

-- A usage (reservation or direct spend): the usage log of features that cost credits.
CREATE TABLE credit_usage (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    feature     text NOT NULL,
    reference   text,
    reserved    bigint NOT NULL CHECK (reserved > 0),
    charged     bigint NOT NULL DEFAULT 0 CHECK (charged >= 0 AND charged <= reserved),
    status      text NOT NULL CHECK (status IN ('held', 'committed', 'released')),
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_usage_user ON credit_usage (user_id, id);
CREATE INDEX credit_usage_held ON credit_usage (user_id, expires_at) WHERE status = 'held';

-- One row per mutation, unique per (user, idempotency key); `result` is what the first call
-- answered, returned again to a retry with the same key; `fingerprint` refuses a key reused
-- for a different request.
CREATE TABLE credit_transactions (
    id               bigserial PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    idempotency_key  text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('purchase', 'grant', 'spend', 'reserve', 'commit', 'release', 'reversal')),
    amount           bigint NOT NULL CHECK (amount >= 0),
    fingerprint      text NOT NULL,
    usage_id         bigint REFERENCES credit_usage (id),
    payment_id       bigint REFERENCES payments (id),
    memo             text,
    result           jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX credit_transactions_user ON credit_transactions (user_id, id);

CREATE TABLE credit_entries (
    id              bigserial PRIMARY KEY,
    transaction_id  bigint NOT NULL REFERENCES credit_transactions (id),
    account_id      bigint NOT NULL REFERENCES credit_accounts (id),
    amount          bigint NOT NULL CHECK (amount <> 0),
    balance_after   bigint
);
CREATE INDEX credit_entries_transaction ON credit_entries (transaction_id);
CREATE INDEX credit_entries_account ON credit_entries (account_id, id);

CREATE FUNCTION credit_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT sum(amount) FROM credit_entries WHERE transaction_id = NEW.transaction_id) <> 0 THEN
        RAISE EXCEPTION 'credit transaction % does not balance', NEW.transaction_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER credit_entries_balanced
    AFTER INSERT ON credit_entries DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION credit_transaction_balanced();

CREATE FUNCTION credit_entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit entries are append-only' USING ERRCODE = 'check_violation';
END $$;

CREATE TRIGGER credit_entries_append_only
    BEFORE UPDATE OR DELETE ON credit_entries
    FOR EACH ROW EXECUTE FUNCTION credit_entries_immutable();
