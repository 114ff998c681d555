-- Projections of the TipRouter, Engagement, MeetingAuction and MeetingPass events.
-- Append-only tables are rolled back by block; auctions and passes (mutable state) are
-- recomputed from their raw events on a rollback; earnings are a view over the append-only rows.

CREATE TABLE intent_outcomes (
    chain_id      bigint NOT NULL,
    block_number  bigint NOT NULL,
    log_index     integer NOT NULL,
    digest        text NOT NULL,
    status        text NOT NULL CHECK (status IN ('settled', 'rejected')),
    sender        text,
    receiver      text,
    token         text,
    amount        numeric(78, 0),
    kind          smallint,
    fee           numeric(78, 0),
    reason        smallint,
    tx_hash       text NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX intent_outcomes_digest ON intent_outcomes (chain_id, digest);
CREATE INDEX intent_outcomes_receiver ON intent_outcomes (chain_id, receiver, block_number) WHERE status = 'settled';

CREATE TABLE withdrawals (
    chain_id      bigint NOT NULL,
    block_number  bigint NOT NULL,
    log_index     integer NOT NULL,
    creator       text NOT NULL,
    token         text NOT NULL,
    amount        numeric(78, 0) NOT NULL,
    tx_hash       text NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX withdrawals_creator ON withdrawals (chain_id, creator, block_number);

-- TipRouter.TreasuryUpdated history: which treasury a settlement's fee went to.
CREATE TABLE router_treasuries (
    chain_id      bigint NOT NULL,
    block_number  bigint NOT NULL,
    log_index     integer NOT NULL,
    treasury      text NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);

CREATE TABLE accruals (
    chain_id      bigint NOT NULL,
    block_number  bigint NOT NULL,
    log_index     integer NOT NULL,
    epoch         numeric(78, 0) NOT NULL,
    account       text NOT NULL,
    amount        numeric(78, 0) NOT NULL,
    tx_hash       text NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX accruals_epoch ON accruals (chain_id, epoch);

CREATE TABLE bids (
    chain_id         bigint NOT NULL,
    block_number     bigint NOT NULL,
    log_index        integer NOT NULL,
    auction_id       numeric(78, 0) NOT NULL,
    bidder           text NOT NULL,
    amount           numeric(78, 0) NOT NULL,
    previous_bidder  text,
    previous_amount  numeric(78, 0),
    tx_hash          text NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX bids_auction ON bids (chain_id, auction_id, block_number);
CREATE INDEX bids_bidder ON bids (chain_id, bidder, block_number);

CREATE TABLE auctions (
    chain_id        bigint NOT NULL,
    auction_id      numeric(78, 0) NOT NULL,
    seller          text NOT NULL,
    reserve         numeric(78, 0) NOT NULL,
    end_time        bigint NOT NULL,
    fee_bps         integer NOT NULL,
    metadata        text NOT NULL,
    status          text NOT NULL CHECK (status IN ('active', 'ended', 'cancelled')),
    highest_bidder  text,
    highest_bid     numeric(78, 0) NOT NULL DEFAULT 0,
    bid_count       integer NOT NULL DEFAULT 0,
    winner          text,
    fee             numeric(78, 0),
    pass_id         numeric(78, 0),
    created_block   bigint NOT NULL,
    updated_block   bigint NOT NULL,
    PRIMARY KEY (chain_id, auction_id)
);
CREATE INDEX auctions_active ON auctions (chain_id, end_time) WHERE status = 'active';
CREATE INDEX auctions_seller ON auctions (chain_id, seller, auction_id);
CREATE INDEX auctions_winner ON auctions (chain_id, winner, auction_id) WHERE winner IS NOT NULL;

CREATE TABLE meeting_passes (
    chain_id        bigint NOT NULL,
    token_id        numeric(78, 0) NOT NULL,
    auction_id      numeric(78, 0) NOT NULL,
    owner           text,
    redeemed        boolean NOT NULL DEFAULT false,
    minted_block    bigint NOT NULL,
    updated_block   bigint NOT NULL,
    PRIMARY KEY (chain_id, token_id)
);
CREATE INDEX meeting_passes_owner ON meeting_passes (chain_id, owner);

-- Recomputing one auction or pass from its raw events on a rollback.
CREATE INDEX chain_events_entity ON chain_events (chain_id, contract, ((args->>'auction_id')), block_number, log_index);
CREATE INDEX chain_events_token ON chain_events (chain_id, contract, ((args->>'token_id')), block_number, log_index);

-- What the TipRouter owes each account (creator net tips, treasury fees, minus withdrawals).
CREATE VIEW router_earnings AS
SELECT chain_id, account, token, sum(delta) AS amount
FROM (
    SELECT o.chain_id, o.receiver AS account, o.token, o.amount - o.fee AS delta
    FROM intent_outcomes o WHERE o.status = 'settled'
    UNION ALL
    SELECT o.chain_id, t.treasury, o.token, o.fee
    FROM intent_outcomes o
    CROSS JOIN LATERAL (
        SELECT r.treasury FROM router_treasuries r
        WHERE r.chain_id = o.chain_id AND (r.block_number, r.log_index) < (o.block_number, o.log_index)
        ORDER BY r.block_number DESC, r.log_index DESC LIMIT 1
    ) t
    WHERE o.status = 'settled' AND o.fee > 0
    UNION ALL
    SELECT w.chain_id, w.creator, w.token, -w.amount FROM withdrawals w
) d
GROUP BY chain_id, account, token;
