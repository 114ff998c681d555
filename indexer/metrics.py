"""The indexer's Prometheus metrics (served by ``core.metrics.serve_metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HEAD = Gauge("indexer_chain_head_block", "Latest block number seen on the chain")
INDEXED = Gauge("indexer_indexed_block", "Latest block number written to Postgres")
LAG = Gauge("indexer_lag_blocks", "Chain head minus indexed block")
EVENTS = Counter("indexer_events_total", "Events written", ["contract", "event"])
REORGS = Counter("indexer_reorgs_total", "Reorgs handled")
REORG_DEPTH = Histogram(
    "indexer_reorg_depth_blocks", "Depth of handled reorgs", buckets=(1, 2, 3, 5, 8, 13, 21, 64, 256)
)
LEADER = Gauge("indexer_is_leader", "1 when this process holds the chain's writer lock")
