-- A user's intents page (api/tips/queries.sql intents_page) and the profile's `tips_sent` count
-- filter tip_intents on user_id, which no index led with: on a 10M-row table the page walked the
-- primary key backwards and the count read the whole table. Newest first by id within a user.
CREATE INDEX IF NOT EXISTS tip_intents_user_page ON tip_intents (user_id, chain_id, id);
