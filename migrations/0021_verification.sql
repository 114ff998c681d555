-- Creator verification, payout details, manual intent review (README "Creator verification",
-- "Payout details", "Manual intent review").

-- A user's identity verification: documents (private media objects, purpose 'verification')
-- submitted for an admin's review; at most one under review per user.
CREATE TABLE identity_verifications (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    document_kind text NOT NULL CHECK (document_kind IN ('passport', 'id_card', 'driver_license', 'other')),
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reason       text,
    reviewed_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    reviewed_at  timestamptz
);
CREATE UNIQUE INDEX identity_verifications_one_open ON identity_verifications (user_id) WHERE status = 'pending';
CREATE INDEX identity_verifications_status ON identity_verifications (status, id);
CREATE INDEX identity_verifications_user ON identity_verifications (user_id, id);

-- The documents of a verification (a media object belongs to one verification at most).
CREATE TABLE verification_documents (
    verification_id bigint NOT NULL REFERENCES identity_verifications (id) ON DELETE CASCADE,
    media_id        uuid NOT NULL UNIQUE REFERENCES media_objects (id) ON DELETE CASCADE,
    position        smallint NOT NULL,
    PRIMARY KEY (verification_id, position)
);

-- The audit log: which admin was handed a read link to which document, when.
CREATE TABLE verification_document_views (
    id              bigserial PRIMARY KEY,
    verification_id bigint NOT NULL REFERENCES identity_verifications (id) ON DELETE CASCADE,
    media_id        uuid NOT NULL,
    admin_id        bigint NOT NULL REFERENCES users (id),
    viewed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX verification_document_views_verification ON verification_document_views (verification_id, id);

-- Payout details, encrypted at rest (AES-GCM under API_PAYOUT_KEY, the user id as associated data);
-- only the masked form is stored in clear.
CREATE TABLE payout_details (
    user_id     bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    method      text NOT NULL CHECK (method IN ('iban', 'account', 'wallet')),
    masked      text NOT NULL,
    ciphertext  bytea NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Manual review of tip intents: the admin who decided one ahead of the hourly job, and their reason.
ALTER TABLE tip_intents ADD COLUMN decided_by bigint REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE tip_intents ADD COLUMN review_note text;
