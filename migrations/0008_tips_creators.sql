-- Tips and creators (seeds 000, 002).
--
-- tip_intents: fans' EIP-712 intents (claps in TKI, gifts in TK) as the API accepted them, the
-- relayer's approval decision, and the settle request that carries them. The on-chain outcome
-- is the indexer's intent_outcomes row with the same digest, joined when read (never copied,
-- so a reorg that removes an outcome shows the intent as submitted again).
CREATE TABLE tip_intents (
    id             bigserial PRIMARY KEY,
    chain_id       bigint NOT NULL,
    digest         text NOT NULL CHECK (digest ~ '^0x[0-9a-f]{64}$'),
    user_id        bigint REFERENCES users (id) ON DELETE SET NULL,
    sender         text NOT NULL CHECK (sender ~ '^0x[0-9a-f]{40}$'),
    receiver       text NOT NULL CHECK (receiver ~ '^0x[0-9a-f]{40}$'),
    token          text NOT NULL CHECK (token ~ '^0x[0-9a-f]{40}$'),
    amount         numeric(78, 0) NOT NULL CHECK (amount > 0),
    kind           smallint NOT NULL CHECK (kind IN (0, 1)),
    nonce          numeric(78, 0) NOT NULL CHECK (nonce >= 0),
    deadline       numeric(78, 0) NOT NULL,
    signature      text NOT NULL CHECK (signature ~ '^0x[0-9a-f]{130}$'),
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'approved', 'refused', 'submitted')),
    reason         text,
    tx_request_id  bigint REFERENCES tx_requests (id),
    settle_tries   integer NOT NULL DEFAULT 0,  -- settle requests that failed to carry it (re-batched)
    created_at     timestamptz NOT NULL DEFAULT now(),
    decided_at     timestamptz,
    submitted_at   timestamptz,
    UNIQUE (chain_id, digest),
    UNIQUE (chain_id, sender, nonce)
);
CREATE INDEX tip_intents_queue ON tip_intents (chain_id, status, id) WHERE status IN ('pending', 'approved');
CREATE INDEX tip_intents_sender ON tip_intents (chain_id, sender, id);
CREATE INDEX tip_intents_receiver ON tip_intents (chain_id, receiver, id);
CREATE INDEX tip_intents_user_day ON tip_intents (user_id, decided_at) WHERE status IN ('approved', 'submitted');
CREATE INDEX tip_intents_request ON tip_intents (tx_request_id) WHERE tx_request_id IS NOT NULL;

-- A creator's withdrawal requests (the API lists them from the relayer's queue).
CREATE INDEX tx_requests_withdraw_creator ON tx_requests ((payload ->> 'creator'), id) WHERE kind = 'withdraw_for';

-- Addresses an admin barred from tipping (the approval policy refuses their intents).
CREATE TABLE blocked_addresses (
    address     text PRIMARY KEY CHECK (address ~ '^0x[0-9a-f]{40}$'),
    reason      text NOT NULL DEFAULT '',
    blocked_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Creator applications: one open application per user; an admin approves (role 'creator' and
-- a profile) or rejects it with a reason.
CREATE TABLE creator_applications (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    display_name  text NOT NULL,
    bio           text NOT NULL DEFAULT '',
    categories    text[] NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reason        text,
    reviewed_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    reviewed_at   timestamptz
);
CREATE UNIQUE INDEX creator_applications_open ON creator_applications (user_id) WHERE status = 'pending';
CREATE INDEX creator_applications_status ON creator_applications (status, id);

CREATE TABLE creator_profiles (
    user_id       bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    display_name  text NOT NULL,
    bio           text NOT NULL DEFAULT '',
    categories    text[] NOT NULL DEFAULT '{}',
    approved_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE follows (
    follower_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    creator_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, creator_id),
    CHECK (follower_id <> creator_id)
);
CREATE INDEX follows_creator ON follows (creator_id);

-- A user's block list: the blocked user cannot follow the blocker, and a creator's block list
-- makes the approval policy refuse that user's tips to the creator.
CREATE TABLE user_blocks (
    blocker_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX user_blocks_blocked ON user_blocks (blocked_id);
