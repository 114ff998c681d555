"""What the API hears from the indexer: the indexed block, the live feed, its fan-out."""
