-- Relayer schedules: one row per job and period, inserted before the job runs, so a restart
-- neither skips a period (the missed ones are found and run) nor doubles one (unique key; a run
-- left 'running' by a crash is resumed, and jobs enqueue with idempotency keys of their period).
CREATE TABLE schedule_runs (
    id           bigserial PRIMARY KEY,
    job          text NOT NULL,
    period_key   text NOT NULL,
    due_at       timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    attempts     integer NOT NULL DEFAULT 1,
    runner       text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    summary      text,
    error        text,
    UNIQUE (job, period_key)
);
CREATE INDEX schedule_runs_recent ON schedule_runs (job, due_at DESC);
CREATE INDEX schedule_runs_open ON schedule_runs (id) WHERE status <> 'succeeded';

-- Cancelling a submitted request: a zero-value self-transaction replaces it at the same nonce.
ALTER TABLE tx_requests
    ADD COLUMN cancel_requested_at timestamptz,
    ADD COLUMN cancel_tx_hash      text;

-- The block that mined a signer's nonce (when the next nonce's transaction became minable).
CREATE INDEX tx_requests_signer_nonce ON tx_requests (signer, nonce) WHERE nonce IS NOT NULL;
