-- The API's own tables: accounts, wallets linked by SIWE, refresh-token families, email OTPs;
-- and read indexes for the API's paginated histories over the indexer's projections.

CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    email           text UNIQUE CHECK (email = lower(email)),
    password_hash   text,
    email_verified  boolean NOT NULL DEFAULT false,
    role            text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'creator', 'admin')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A wallet belongs to one account (lower-case hex address); an account may link several.
CREATE TABLE user_wallets (
    address     text PRIMARY KEY CHECK (address ~ '^0x[0-9a-f]{40}$'),
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    linked_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_wallets_user ON user_wallets (user_id);

-- Rotating refresh tokens, stored as SHA-256 digests. A login starts a family; each refresh
-- uses one token and issues the next in the same family; presenting a used (or revoked)
-- token again revokes the whole family.
CREATE TABLE refresh_tokens (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,
    token_hash  text NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- One-time codes sent by email (HMAC digests, never the code), with an attempt budget.
CREATE TABLE email_otps (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    code_hash    text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    expires_at   timestamptz NOT NULL,
    consumed_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_otps_open ON email_otps (user_id, purpose, id) WHERE consumed_at IS NULL;

-- Read paths: an account's transfer history (newest first) and mints, cursor-paginated.
CREATE INDEX token_transfers_sender_page ON token_transfers (chain_id, sender, block_number, log_index);
CREATE INDEX token_transfers_receiver_page ON token_transfers (chain_id, receiver, block_number, log_index);
CREATE INDEX token_mints_account ON token_mints (chain_id, account, block_number);
