-- README "Logs": the id of the API request that enqueued a tx request (X-Request-ID), so the relayer's
-- records of its transaction can be found from the API's access log; NULL for requests enqueued elsewhere.
ALTER TABLE tx_requests ADD COLUMN request_id text;
