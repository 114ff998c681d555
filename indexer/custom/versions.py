"""Configured contracts' tables as versioned projections: a table's version is a hash of its
definition (event signature + columns), the served one is what ``custom_event_tables`` registers.

At the indexer's start, :func:`plan` compares each configured table with its registration:

- the same version: served as configured;
- a table of a contract never indexed on this chain: created at once when the indexer has not yet
  reached the contract's start block (the main loop fills it), or when the contract is the child of a
  factory indexed already (its history comes with the contract's catch-up, ``indexer/custom/catchup.py``);
- a table of a contract new to the configuration whose start block is at or below the checkpoint
  (added with history; a factory's children with their factory), a new event of an indexed contract,
  or a changed definition: *pending*. The indexer goes on writing the served definition (rebuilt from
  the registry, whatever the configuration says) and keeps the raw log of the new event too;
  ``indexer/custom/rebuild.py`` builds the new table beside, from ``custom_logs`` — or, when the raw
  log lacks that event (a new topic0: the indexer asks ``eth_getLogs`` by address but keeps only the
  configured events' logs), from the node first — and swaps it in with its registration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from indexer.custom.abi import EventTable, registered_table
from indexer.custom.config import CustomContract

CODE_VERSION = 1  # bump when decoding changes in a way the signature and columns do not show


def version(signature: str, columns: list[dict[str, Any]]) -> str:
    blob = json.dumps([signature, columns, CODE_VERSION], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def table_version(table: EventTable) -> str:
    return version(table.signature, [c.as_json() for c in table.columns])


def row_version(row: Mapping[str, Any]) -> str:
    return version(row["signature"], list(row["columns"]))


@dataclass(frozen=True)
class Pending:
    """A configured table to build beside the served one (``served`` None: a new event)."""

    wanted: EventTable
    served: EventTable | None

    @property
    def same_topic(self) -> bool:
        """Whether the raw log already holds the event's logs (the served table decodes the same topic0)."""
        return self.served is not None and self.served.topic0 == self.wanted.topic0


@dataclass(frozen=True)
class Plan:
    live: list[CustomContract]  # what the indexer writes meanwhile: served definitions
    raw_only: dict[str, frozenset[str]]  # contract -> topic0s kept raw only (pending tables' new topics)
    pending: dict[str, Pending]  # table name -> pending
    create: list[EventTable]  # new tables of contracts never indexed here: created at once


def plan(wanted: Iterable[CustomContract], registered: Mapping[str, Mapping[str, Any]], known: set[str]) -> Plan:
    """``registered``: registry rows by table name; ``known``: contracts already indexed on this chain, or
    added with history (``with_history``): their unregistered tables are built beside."""
    pending: dict[str, Pending] = {}
    create: list[EventTable] = []
    for contract in wanted:
        for table in contract.tables:
            row = registered.get(table.table)
            if row is None and contract.name not in known:
                create.append(table)
            elif row is None:
                pending[table.table] = Pending(table, None)
            elif row_version(row) != table_version(table):
                served = registered_table(row["contract"], row["event"], row["abi"], list(row["columns"]))
                pending[table.table] = Pending(table, served)
    live, raw_only = live_definitions(wanted, pending)
    return Plan(live, raw_only, pending, create)


def live_definitions(
    wanted: Iterable[CustomContract], pending: Mapping[str, Pending]
) -> tuple[list[CustomContract], dict[str, frozenset[str]]]:
    """The contracts as the indexer writes them while ``pending`` are built, and the topics kept raw only."""
    live, raw_only = [], {}
    for contract in wanted:
        tables, raw = [], set()
        for table in contract.tables:
            p = pending.get(table.table)
            if p is None:
                tables.append(table)
                continue
            if p.served is not None:
                tables.append(p.served)
            if not p.same_topic:
                raw.add(table.topic0)
        live.append(replace(contract, tables=tuple(tables)))
        raw_only[contract.name] = frozenset(raw)
    return live, raw_only


def with_history(wanted: Iterable[CustomContract], known: set[str], checkpoint: int | None) -> list[str]:
    """The contracts new to this chain that are built beside: their start block is at or below the
    checkpoint (the main loop will not index their past). A factory's children are when their factory is
    added with history too (they are discovered from its history, ``rebuild.fetch_history``); the children
    of a factory indexed already still catch up (``indexer/custom/catchup.py``)."""
    if checkpoint is None:
        return []
    contracts = list(wanted)
    new = {c.name for c in contracts if c.name not in known and c.factory is None and c.start_block <= checkpoint}
    children = {
        c.name
        for c in contracts
        if c.name not in known and c.factory is not None and c.factory.event.contract in new
        and c.start_block <= checkpoint
    }  # fmt: skip
    return [c.name for c in contracts if c.name in new | children]


def status(wanted: Iterable[CustomContract], registered: Mapping[str, Mapping[str, Any]]) -> list[dict[str, object]]:
    """``projections status`` rows of the configured tables (served vs wanted)."""
    rows: list[dict[str, object]] = []
    for contract in wanted:
        for table in contract.tables:
            row = registered.get(table.table)
            served = row_version(row) if row is not None else None
            want = table_version(table)
            state = "current" if served == want else ("new" if served is None else "changed")
            rows.append({"name": f"custom_events.{table.table}", "served": served, "wanted": want, "state": state})
    return rows
