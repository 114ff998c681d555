-- stream_gifts: a catalog gift given during a live stream. The gift is a tip intent (kind 1, Coin)
-- decided at once by the tip policy (core/tips/policy.py) and settled by the relayer's batches; this
-- row ties it to the stream and the catalog gift, and records when the stream's live channel was
-- told it was retracted (refused later, e.g. expired before its batch, or rejected on chain).
CREATE TABLE stream_gifts (
    intent_id       bigint PRIMARY KEY REFERENCES tip_intents (id) ON DELETE CASCADE,
    stream_id       bigint NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    gift_slug       text NOT NULL REFERENCES gifts (slug),
    gift_name       text NOT NULL,  -- the catalog's name and price when it was given
    price           numeric(78, 0) NOT NULL CHECK (price > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    retracted_at    timestamptz,
    retract_reason  text
);
CREATE INDEX stream_gifts_stream ON stream_gifts (stream_id, intent_id);
-- The retraction sweep reads the gifts not yet retracted.
CREATE INDEX stream_gifts_open ON stream_gifts (intent_id) WHERE retracted_at IS NULL;
