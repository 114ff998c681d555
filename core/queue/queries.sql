-- The request queue's producer side (core/queue/__init__.py). The relayer owns the table and its
-- state transitions (relayer/queries.sql); producers only insert, and cancel what is still pending.

-- name: enqueue
INSERT INTO tx_requests (kind, idempotency_key, payload, history, request_id)
VALUES ($1, $2, $3, jsonb_build_array(jsonb_build_object('status', 'pending', 'at', now())), $4)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id;

-- name: get_by_key
SELECT id, kind, payload FROM tx_requests WHERE idempotency_key = $1;

-- name: cancel_pending
-- A request the relayer has not claimed yet; one it is sending stays locked, so this waits and misses it.
UPDATE tx_requests
SET status = 'cancelled', updated_at = now(),
    history = history || jsonb_build_array(jsonb_build_object('status', 'cancelled', 'at', now(), 'error', $2::text))
WHERE idempotency_key = $1 AND status = 'pending'
RETURNING id;
