-- Sign-in (api/signin/service.py): OpenID Connect identities, authorization requests, one-time codes.

-- name: insert_login
INSERT INTO oidc_logins (state, provider, nonce, code_verifier, link_user_id, expires_at)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6));

-- name: take_login
-- Single use: the row is deleted by the first callback that names its state (expired ones too).
DELETE FROM oidc_logins WHERE state = $1
RETURNING provider, nonce, code_verifier, link_user_id, expires_at < now() AS expired;

-- name: identity_for_update
SELECT user_id FROM user_identities WHERE provider = $1 AND subject = $2 FOR UPDATE;

-- name: insert_identity
INSERT INTO user_identities (provider, subject, user_id, email, email_verified) VALUES ($1, $2, $3, $4, $5);

-- name: user_by_email_for_update
SELECT id, email_verified FROM users WHERE email = $1 FOR UPDATE;

-- name: create_oidc_user
INSERT INTO users (email, email_verified) VALUES ($1, $2) RETURNING id;

-- name: identities_of
SELECT provider, subject, email, email_verified, linked_at FROM user_identities WHERE user_id = $1 ORDER BY provider;

-- name: sign_in_methods_for_update
-- Every way the account can sign in: its password, wallets (SIWE), identities, a verified email (codes).
SELECT (u.password_hash IS NOT NULL)::int
       + (u.email IS NOT NULL AND u.email_verified)::int
       + (SELECT count(*) FROM user_wallets w WHERE w.user_id = u.id)
       + (SELECT count(*) FROM user_identities i WHERE i.user_id = u.id) AS methods
FROM users u WHERE u.id = $1 FOR UPDATE;

-- name: delete_identity
DELETE FROM user_identities WHERE user_id = $1 AND provider = $2 RETURNING subject;

-- name: insert_signin_code
INSERT INTO signin_codes (code_hash, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3));

-- name: take_signin_code
DELETE FROM signin_codes WHERE code_hash = $1 RETURNING user_id, expires_at < now() AS expired;

-- name: purge_sign_in
-- Expired authorization requests and one-time codes (the API's cleanup).
WITH a AS (DELETE FROM oidc_logins WHERE expires_at < now() - make_interval(secs => $1) RETURNING 1),
     b AS (DELETE FROM signin_codes WHERE expires_at < now() - make_interval(secs => $1) RETURNING 1)
SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) AS purged;
