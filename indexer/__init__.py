"""The indexer: tails contract events into Postgres (raw log + projections), reorg-safe."""
