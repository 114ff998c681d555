"""Shared kernel of the indexer, relayer and API: settings, errors, database and chain access."""
