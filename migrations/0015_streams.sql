-- Live streams on LiveKit (api/stream/, README "Streaming"): one stream row per go-live, its
-- ingresses (RTMP/WHIP keys stored hashed), its participants and the webhook events applied.

CREATE TABLE streams (
    id                  bigserial PRIMARY KEY,
    creator_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room                text NOT NULL UNIQUE,
    title               text NOT NULL DEFAULT '',
    category            text NOT NULL DEFAULT '',
    thumbnail_url       text NOT NULL DEFAULT '',
    chat_enabled        boolean NOT NULL DEFAULT true,
    chat_followers_only boolean NOT NULL DEFAULT false,
    chat_slow_mode      integer NOT NULL DEFAULT 0 CHECK (chat_slow_mode BETWEEN 0 AND 3600),
    allow_anonymous     boolean NOT NULL DEFAULT true,
    status              text NOT NULL DEFAULT 'created' CHECK (status IN ('created', 'live', 'ended')),
    started_at          timestamptz,
    ended_at            timestamptz,
    viewers             integer NOT NULL DEFAULT 0,
    peak_viewers        integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now()
);
-- One stream per creator that has not ended.
CREATE UNIQUE INDEX streams_one_active ON streams (creator_id) WHERE status <> 'ended';
CREATE INDEX streams_creator_past ON streams (creator_id, id) WHERE status = 'ended';
CREATE INDEX streams_live ON streams (viewers DESC, id DESC) WHERE status = 'live';
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX streams_title_trgm ON streams USING gin (title gin_trgm_ops);

CREATE TABLE stream_ingresses (
    ingress_id   text PRIMARY KEY,
    stream_id    bigint NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('rtmp', 'whip')),
    url          text NOT NULL,
    key_sha256   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE UNIQUE INDEX stream_ingresses_one_live ON stream_ingresses (stream_id) WHERE deleted_at IS NULL;

-- A participant's presence: the newest event (by LiveKit's createdAt) wins, so a 'left' delivered
-- before its 'joined' keeps the participant out.
CREATE TABLE stream_participants (
    stream_id    bigint NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    identity     text NOT NULL,
    present      boolean NOT NULL,
    event_at     timestamptz NOT NULL,
    PRIMARY KEY (stream_id, identity)
);

-- Webhook events applied (LiveKit's event id), written in the transaction of their effects.
CREATE TABLE livekit_events (
    event_id     text PRIMARY KEY,
    kind         text NOT NULL,
    room         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- The gift catalog: named gifts with a coin price (Coin base units, 18 decimals); seeded, admins edit it.
CREATE TABLE gifts (
    slug        text PRIMARY KEY CHECK (slug ~ '^[a-z0-9-]{1,32}$'),
    name        text NOT NULL,
    price       numeric(78, 0) NOT NULL CHECK (price > 0),
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO gifts (slug, name, price) VALUES
    ('rose', 'Rose', 1000000000000000000),
    ('heart', 'Heart', 5000000000000000000),
    ('rocket', 'Rocket', 50000000000000000000),
    ('crown', 'Crown', 100000000000000000000);
