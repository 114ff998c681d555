"""Projection upgrades without a full reindex: build beside the served table, then swap."""
