"""The relayer's Prometheus metrics (served by ``core.metrics.serve_metrics`` in ``run``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SUBMITTED = Counter("relayer_submitted_total", "Transactions broadcast", ["kind"])
FINISHED = Counter("relayer_finished_total", "Requests that reached a final status", ["kind", "status"])
FAILURES = Counter("relayer_failures_total", "Requests failed or dead, by stage", ["kind", "stage"])
REPLACEMENTS = Counter("relayer_replacements_total", "Stuck transactions replaced with bumped fees", ["kind"])
RESUBMISSIONS = Counter(
    "relayer_resubmissions_total", "Dropped transactions rebroadcast or re-signed with a new nonce", ["kind", "how"]
)
NONCE_GAPS = Counter("relayer_nonce_gaps_total", "Persisted nonces reconciled or filled because no tx held them")
QUEUE = Gauge("relayer_requests", "Requests by kind and status", ["kind", "status"])
NONCE = Gauge("relayer_next_nonce", "Next nonce of each signer of the pool", ["signer"])
INFLIGHT = Gauge("relayer_signer_inflight", "Sent, unconfirmed transactions of each signer of the pool", ["signer"])
LATENCY = Histogram(
    "relayer_confirm_seconds",
    "From the first broadcast of a request to its confirmation",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
)

KINDS = ("mint", "settle", "accrue", "burn_pass", "end_auction", "withdraw_for")
STATUSES = ("pending", "submitted", "confirmed", "failed", "dead", "cancelled")

SCHEDULE_RUNS = Counter("relayer_schedule_runs_total", "Scheduled job runs by outcome", ["job", "status"])
SCHEDULE_SECONDS = Histogram(
    "relayer_schedule_run_seconds", "Duration of a scheduled job run", ["job"], buckets=(0.01, 0.1, 0.5, 1, 5, 30, 120)
)
SCHEDULE_LAST_SUCCESS = Gauge("relayer_schedule_last_success_timestamp", "When a job last succeeded", ["job"])
SCHEDULE_LEADER = Gauge("relayer_schedule_leader", "1 while this process holds the schedule leader lock")
