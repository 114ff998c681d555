-- Meetings won in a MeetingAuction (the API's own tables; see README "Meetings").
--
-- A meeting is materialized, idempotently, from the indexed `auctions` row of an auction that
-- ended with a winner: one row per (chain, auction), bound to that winner and pass. Whether it
-- still stands is never stored: every read joins it back to `auctions` (a reorg that rolls the
-- end back makes it void at once), and whether the pass was burned comes from the indexed
-- `PassRedeemed` event. If a reorg re-ends the auction with another winner or pass, the row is
-- re-bound with a new room, so nothing issued for the old binding opens the new room.

CREATE TABLE meetings (
    id                bigserial PRIMARY KEY,
    chain_id          bigint NOT NULL,
    auction_id        numeric(78, 0) NOT NULL,
    seller            text NOT NULL,
    winner            text NOT NULL,
    pass_id           numeric(78, 0) NOT NULL,
    room              text NOT NULL UNIQUE,
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    closed_at         timestamptz,
    -- The relayer burn of the pass: one tx_requests row per attempt (idempotency key
    -- "burn_pass:<chain>:<token id>:<attempt>"); a new attempt only after a failed one.
    burn_attempt      integer NOT NULL DEFAULT 0,
    burn_request_id   bigint,
    burn_holder       text,
    burn_signature    text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (chain_id, auction_id)
);
CREATE INDEX meetings_winner ON meetings (winner);
CREATE INDEX meetings_seller ON meetings (seller);
CREATE INDEX meetings_burn_holder ON meetings (burn_holder) WHERE burn_holder IS NOT NULL;
-- The feed producer's scan from its block watermark (auctions is the indexer's projection).
CREATE INDEX auctions_ended_updated ON auctions (chain_id, updated_block) WHERE status = 'ended';

-- Every access decision: redemptions and token requests, granted, pending or denied.
CREATE TABLE meeting_access_log (
    id          bigserial PRIMARY KEY,
    meeting_id  bigint NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id     bigint,
    wallet      text,
    action      text NOT NULL CHECK (action IN ('redeem', 'token')),
    outcome     text NOT NULL CHECK (outcome IN ('granted', 'pending', 'denied')),
    reason      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meeting_access_log_meeting ON meeting_access_log (meeting_id, id);

-- Notifications to a wallet (the signed-in user sees those of every linked wallet), stored
-- once per dedupe key and pushed on the live feed as `notification` events.
CREATE TABLE notifications (
    id          bigserial PRIMARY KEY,
    chain_id    bigint NOT NULL,
    recipient   text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('auction_won', 'meeting_ready', 'meeting_extended', 'meeting_closed')),
    meeting_id  bigint REFERENCES meetings (id) ON DELETE CASCADE,
    data        jsonb NOT NULL DEFAULT '{}'::jsonb,
    dedupe_key  text NOT NULL UNIQUE,
    read_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_recipient ON notifications (recipient, id);
