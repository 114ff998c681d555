-- Sign-in without a password (README "Sign-in with OpenID Connect and email codes"): accounts linked to
-- OpenID Connect identities, the authorization requests in flight, the one-time codes that hand the
-- browser its tokens, and email codes that sign in.

-- One identity (issuer's subject) belongs to one account; an account may link several providers.
CREATE TABLE user_identities (
    provider        text NOT NULL,
    subject         text NOT NULL,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email           text,
    email_verified  boolean NOT NULL DEFAULT false,
    linked_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject),
    UNIQUE (user_id, provider)
);

-- An authorization request in flight, keyed by its state: the nonce and PKCE verifier it needs at the
-- callback, the account to link (explicit linking), single use (deleted when the callback takes it).
CREATE TABLE oidc_logins (
    state          text PRIMARY KEY,
    provider       text NOT NULL,
    nonce          text NOT NULL,
    code_verifier  text NOT NULL,
    link_user_id   bigint REFERENCES users (id) ON DELETE CASCADE,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);

-- The callback's answer: a short-lived one-time code (its SHA-256 digest) the browser trades by POST
-- for our tokens, so no token travels in a URL.
CREATE TABLE signin_codes (
    code_hash   text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL
);

-- Email codes that sign in (passwordless), beside verification and password reset.
ALTER TABLE email_otps DROP CONSTRAINT email_otps_purpose_check;
ALTER TABLE email_otps ADD CONSTRAINT email_otps_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password', 'sign_in'));
