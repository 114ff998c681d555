-- Bookkeeping of the build-beside-and-swap path (indexer/upgrade/swap.py).

-- name: served_version
SELECT version, built_block FROM projection_versions WHERE name = $1;

-- name: record_version
INSERT INTO projection_versions (name, version, built_block) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, built_block = EXCLUDED.built_block, swapped_at = now();

-- name: checkpoint
SELECT block_number, block_hash FROM indexer_checkpoints WHERE chain_id = $1;

-- name: block_hash
SELECT hash FROM indexed_blocks WHERE chain_id = $1 AND number = $2;

-- name: oldest_block
SELECT min(number) FROM indexed_blocks WHERE chain_id = $1;

-- name: kept_versions
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'projection\_v\_%' ORDER BY nspname DESC;

-- name: notify_resync
SELECT pg_notify('chain_events', $1);

-- name: build_try_lock
-- One build of a projection at a time, across processes (held for the build, with its session).
SELECT pg_try_advisory_lock(hashtext('projection_build'), hashtext($1));

-- name: build_unlock
SELECT pg_advisory_unlock(hashtext('projection_build'), hashtext($1));

-- name: shadow_objects
SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1);
