-- A configured event's history fetched from the node for a rebuild (a new event of an indexed
-- contract, a new contract added with history: README "Upgrading projections"): how far each
-- (contract, topic0) got, written in each range's transaction with its logs, so a killed build
-- resumes after `done` instead of starting over. `fetched_blocks` counts the blocks asked of the
-- node over all attempts. A rollback lowers `done` to the common ancestor with the raw log.
CREATE TABLE custom_history_progress (
    chain_id        bigint NOT NULL,
    contract        text NOT NULL,
    topic0          text NOT NULL,
    done            bigint NOT NULL,
    fetched_blocks  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (chain_id, contract, topic0)
);
