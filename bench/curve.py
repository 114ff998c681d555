"""The backfill curve of ``bench.indexer --deciles``: RSS and progress sampled over time, per decile.

While ``python -m indexer backfill`` runs, :func:`sample_backfill` polls ``/proc/<pid>/status``
(VmRSS of the writer and of its fetch worker) and the indexer's checkpoint in the database every
``interval`` seconds; the chain is uniform (the same events in every block after ``first_block``),
so the checkpoint's block gives the number of events indexed. :func:`deciles` turns the samples into
events/s and peak RSS per tenth of the events; :func:`database_size` reads the sizes at the end.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the process was started
    events: int  # indexed so far (from the checkpoint's block)
    writer_mb: float
    worker_mb: float


def rss_mb(pid: int) -> float:
    """VmRSS (resident now) of a live process, in MB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    except OSError:
        return []


async def sample_backfill(
    process: subprocess.Popen[bytes], dsn: str, first_block: int, per_block: int, interval: float = 0.25
) -> list[Sample]:
    """Samples until ``process`` exits; events = (checkpoint block - first_block) x per_block."""
    started = time.perf_counter()
    samples: list[Sample] = []
    conn: asyncpg.Connection | None = None
    try:
        while process.poll() is None:
            if conn is None:
                try:
                    conn = await asyncpg.connect(dsn)
                except (OSError, asyncpg.PostgresError):
                    await asyncio.sleep(interval)
                    continue
            block = await conn.fetchval("SELECT max(block_number) FROM indexer_checkpoints")
            writer = rss_mb(process.pid)
            worker = max([0.0, *(rss_mb(c) for c in children(process.pid))])
            events = max(0, (block or 0) - first_block) * per_block if block is not None else 0
            samples.append(Sample(time.perf_counter() - started, events, writer, worker))
            await asyncio.sleep(interval)
    finally:
        if conn is not None:
            await conn.close()
    return samples


@dataclass(frozen=True)
class Decile:
    index: int  # 1..10
    seconds: float
    events_per_s: float
    writer_mb: float  # peak VmRSS sampled within the decile
    worker_mb: float


def _time_at(samples: list[Sample], events: float) -> float:
    """When ``events`` were indexed: linear between the samples around it."""
    previous = samples[0]
    for sample in samples:
        if sample.events >= events:
            if sample.events == previous.events:
                return sample.at
            share = (events - previous.events) / (sample.events - previous.events)
            return previous.at + share * (sample.at - previous.at)
        previous = sample
    return samples[-1].at


def deciles(samples: list[Sample], total: int, end: float) -> list[Decile]:
    """Ten rows over ``total`` events; the first starts at the first commit (process start excluded).

    ``end`` is the process's exit time: the last checkpoint sample may be missed by the poll.
    """
    samples = [*samples, Sample(end, total, 0.0, 0.0)]
    first = next(s for s in samples if s.events > 0)
    start_events = first.events  # the first batch: its fetch overlaps process start, left out of decile 1's rate
    bounds = [start_events + (total - start_events) * k / 10 for k in range(11)]
    times = [first.at, *(_time_at(samples, b) for b in bounds[1:])]
    rows = []
    for k in range(10):
        window = [s for s in samples[:-1] if times[k] <= s.at <= times[k + 1]] or [samples[-2]]
        seconds = max(times[k + 1] - times[k], 1e-9)
        rows.append(Decile(k + 1, seconds, (bounds[k + 1] - bounds[k]) / seconds,
                           max(s.writer_mb for s in window), max(s.worker_mb for s in window)))  # fmt: skip
    return rows


def print_deciles(label: str, rows: list[Decile], ceiling: float) -> None:
    print(f"[{label}] per decile of events (process start excluded; RSS = peak VmRSS sampled in the decile;"
          f" % of the ceiling's {ceiling:,.0f} events/s):")  # fmt: skip
    print(f"[{label}]   decile   seconds   events/s   ceiling   writer MB   worker MB")
    for row in rows:
        print(f"[{label}]   {row.index:>6}   {row.seconds:7.1f}   {row.events_per_s:8,.0f}   {100 * row.events_per_s / ceiling:5.0f} %   {row.writer_mb:9.0f}"
              f"   {row.worker_mb:9.0f}")  # fmt: skip
    last, first = rows[-1].events_per_s, rows[0].events_per_s
    peak = max(max(r.writer_mb, r.worker_mb) for r in rows)
    print(f"[{label}] last decile / first: {100 * last / first:.0f} % (goal >= 90 %); peak RSS of either process"
          f" {peak:.0f} MB (goal: flat, < 300 MB)")  # fmt: skip


async def database_size(dsn: str, top: int = 8) -> tuple[int, list[tuple[str, int]]]:
    """pg_database_size and the largest tables (with their indexes and TOAST), in bytes."""
    conn = await asyncpg.connect(dsn)
    try:
        total = await conn.fetchval("SELECT pg_database_size(current_database())")
        rows = await conn.fetch(
            "SELECT n.nspname || '.' || c.relname AS name, pg_total_relation_size(c.oid) AS size FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY size DESC LIMIT $1",
            top,
        )
    finally:
        await conn.close()
    return int(total), [(r["name"], int(r["size"])) for r in rows]


def print_database_size(label: str, events: int, total: int, tables: list[tuple[str, int]]) -> None:
    mb = 2**20
    print(f"[{label}] database size {total / mb:,.0f} MB ({total / max(events, 1):.0f} bytes/event); largest tables"
          " (with indexes): " + ", ".join(f"{name} {size / mb:,.0f} MB" for name, size in tables))  # fmt: skip
