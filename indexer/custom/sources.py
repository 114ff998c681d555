"""The configured contracts at run time: which addresses to ask ``eth_getLogs`` for, how each
log becomes a row of its event table (with its block's time) and a record of the raw log
(``custom_logs``, what ``replay`` rebuilds the tables from), and which factory events announce
new children."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from eth_abi.exceptions import DecodingError
from prometheus_client import Counter

from core.db.copy import copy_text
from core.db.pool import RawJson
from indexer.codec import UNDECODABLE, undecodable_args
from indexer.custom.abi import EventTable
from indexer.custom.config import CustomContract

log = logging.getLogger("indexer.custom")
# CustomBatch.rows key of the raw records (chain_events rows) of logs that could not be decoded
UNDECODABLE_ROWS = UNDECODABLE
# CustomBatch.rows key of the raw log records (custom_logs rows, in RAW_LOG_COLUMNS order)
RAW_LOGS = "!raw"
RAW_LOG_COLUMNS = [
    "chain_id",
    "block_number",
    "log_index",
    "block_hash",
    "block_time",
    "tx_hash",
    "address",
    "contract",
    "topics",
    "data",
]
RAW_LOG_TYPES = ["bigint", "bigint", "integer", "text", "timestamptz", "text", "text", "text", "text[]", "text"]
CHILDREN = Counter("indexer_custom_children_total", "Factory children discovered", ["contract"])


class StaleBatch(Exception):
    """A batch read before a history build handed factory children over: it lacks their logs (read it again)."""


class Child(NamedTuple):
    contract: str
    address: str
    factory: str
    block_number: int
    log_index: int


@dataclass
class CustomBatch:
    """Rows of one fetched range: per table, COPY-ready records (or, once ``encoded``, their COPY text
    and count); and the children discovered in it."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    generation: int = 0  # of the definitions it was decoded with (CustomSources.generation)
    payloads: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # table -> (records, COPY text)

    @property
    def count(self) -> int:
        """The events of the batch (decoded or stored raw); the raw log's copies are not counted again."""
        return sum(len(r) for name, r in self.rows.items() if name != RAW_LOGS) + sum(
            n for name, (n, _) in self.payloads.items() if name != RAW_LOGS
        )

    def counts(self) -> dict[str, int]:
        """Records per table, encoded or not."""
        return {**{name: len(r) for name, r in self.rows.items()}, **{n: c for n, (c, _) in self.payloads.items()}}

    def encoded(self, tables: Mapping[str, EventTable]) -> CustomBatch:
        """This batch with its tables' records as COPY text (what the fetch worker hands over: one bytes
        a table instead of every field pickled); the few undecodable rows stay records."""
        payloads = dict(self.payloads)
        rows = {}
        for name, records in self.rows.items():
            if name == UNDECODABLE_ROWS:
                rows[name] = records
            elif name == RAW_LOGS:
                payloads[name] = (len(records), copy_text(records, len(RAW_LOG_TYPES), RAW_LOG_TYPES))
            else:
                types = tables[name].column_types
                payloads[name] = (len(records), copy_text(records, len(types), types))
        return CustomBatch(rows, self.children, self.generation, payloads)


def block_times(timestamps: Mapping[int, int]) -> dict[int, datetime]:
    """Block number -> its time, from the headers' unix timestamps."""
    return {number: datetime.fromtimestamp(ts, UTC) for number, ts in timestamps.items()}


class CustomSources:
    """What the indexer decodes and keeps: the served definition of each table, and ``raw_only``
    (contract -> topic0s) events whose raw log is kept without a table yet (one being rebuilt)."""

    def __init__(
        self, contracts: list[CustomContract], chain_id: int, raw_only: Mapping[str, frozenset[str]] | None = None
    ) -> None:
        self.chain_id = chain_id
        self.generation = 0
        self.followed = 0  # the generation of the last children handed over by a history build (follow)
        self._static: frozenset[str] = frozenset()
        self._by_address: dict[str, tuple[CustomContract, dict[str, EventTable | None]]] = {}
        self.adopt(contracts, raw_only or {})

    def adopt(self, contracts: list[CustomContract], raw_only: Mapping[str, frozenset[str]]) -> None:
        """Switch to other definitions (a rebuilt table was swapped in); known children are kept."""
        children = {a: v[0].name for a, v in self._by_address.items() if a not in self._static}
        self.contracts = {c.name: c for c in contracts}
        self.raw_only = {name: frozenset(t) for name, t in raw_only.items() if t}
        self.tables: dict[str, EventTable] = {t.table: t for c in contracts for t in c.tables}
        self._topics: dict[str, dict[str, EventTable | None]] = {
            c.name: {**dict.fromkeys(self.raw_only.get(c.name, ())), **{t.topic0: t for t in c.tables}}
            for c in contracts
        }
        self._by_address = {a: (c, self._topics[c.name]) for c in contracts for a in c.addresses}
        self._static = frozenset(self._by_address)
        for address, name in children.items():
            if name in self.contracts:
                self._by_address.setdefault(address, (self.contracts[name], self._topics[name]))
        self.generation += 1
        # (factory address, topic0) -> the child contracts its event announces
        self._factories: dict[tuple[str, str], list[CustomContract]] = {}
        for c in contracts:
            if c.factory is not None:
                for address in c.factory.address_set:
                    self._factories.setdefault((address, c.factory.event.topic0), []).append(c)

    @property
    def start_block(self) -> int | None:
        return min((c.start_block for c in self.contracts.values()), default=None)

    @property
    def has_factories(self) -> bool:
        return bool(self._factories)

    def addresses(self) -> list[str]:
        return list(self._by_address)

    def add_children(self, children: Iterable[Child]) -> None:
        for child in children:
            contract = self.contracts.get(child.contract)
            if contract is None or child.address in self._static:
                continue  # a child of a contract no longer configured, or an address configured statically
            self._by_address.setdefault(child.address, (contract, self._topics[contract.name]))

    def follow(self, children: Iterable[Child]) -> None:
        """Children a history build discovered (``rebuild.fetch_history``), followed from now on: a range read
        before lacks their logs, so a batch of an older generation is refused and read again (``StaleBatch``)."""
        self.add_children(children)
        self.generation += 1
        self.followed = self.generation

    def forget_children(self) -> None:
        """Drop every discovered child (before reloading them from the database after a rollback)."""
        self._by_address = {a: v for a, v in self._by_address.items() if a in self._static}

    def discover(self, logs: list[dict[str, Any]]) -> list[Child]:
        """The children announced by factory events among ``logs``, in log order."""
        found: list[Child] = []
        for item in logs:
            topics = item["topics"]
            if not topics:
                continue
            address = item["address"].lower()
            targets = self._factories.get((address, topics[0].lower()))
            if not targets:
                continue
            for contract in targets:
                assert contract.factory is not None
                try:
                    values = contract.factory.event.decode(topics, item["data"])
                except (ValueError, TypeError, DecodingError) as exc:
                    log.warning("cannot decode factory event of %s: %s", contract.name, exc)
                    continue
                child = values[contract.factory.argument]
                if child in self._static:
                    log.warning("%s: factory announced %s, configured statically; ignored", contract.name, child)
                    continue
                found.append(
                    Child(contract.name, child, address, int(item["blockNumber"], 16), int(item["logIndex"], 16))
                )
                CHILDREN.labels(contract.name).inc()
        return found

    def decode(
        self, logs: list[dict[str, Any]], times: Mapping[int, datetime], *, keep_raw: bool = True
    ) -> dict[str, list[tuple[Any, ...]]]:
        """COPY records per table for the logs of configured contracts; other logs are ignored.

        ``times`` holds the time of every block with a log. Each log of a configured event is also
        a ``custom_logs`` record under the key :data:`RAW_LOGS` (unless ``keep_raw`` is false: a replay
        reads them). A log that cannot be decoded is never skipped: its raw form is a
        ``chain_events`` record under the key :data:`UNDECODABLE_ROWS`.
        """
        rows: dict[str, list[tuple[Any, ...]]] = {}
        chain_id, by_address = self.chain_id, self._by_address
        raw_logs: list[tuple[Any, ...]] = []
        for item in logs:
            entry = by_address.get(item["address"].lower())
            topics = item["topics"]
            if entry is None or not topics:
                continue
            contract, events = entry
            topic0 = topics[0].lower()
            if topic0 not in events:
                continue
            table = events[topic0]  # None: an event whose raw log alone is kept (its table is being rebuilt)
            block = int(item["blockNumber"], 16)
            if block < contract.start_block:
                continue
            log_index, tx_hash, address, time = (
                int(item["logIndex"], 16),
                item["transactionHash"].lower(),
                item["address"].lower(),
                times[block],
            )
            if keep_raw:
                raw_logs.append(
                    (
                        chain_id,
                        block,
                        log_index,
                        item["blockHash"].lower(),
                        time,
                        tx_hash,
                        address,
                        contract.name,
                        [t.lower() for t in topics],
                        item["data"],
                    )
                )
            if table is None:
                continue
            try:
                values = table.decode(topics, item["data"])
            except Exception as exc:  # noqa: BLE001 (no log content may stop the indexer: any failure is stored raw)
                log.warning("cannot decode %s in tx %s: %s", table.table, item.get("transactionHash"), exc)
                args = undecodable_args(table.event, topics, item["data"], exc)
                rows.setdefault(UNDECODABLE_ROWS, []).append(
                    (
                        chain_id,
                        block,
                        item["blockHash"].lower(),
                        item["transactionHash"].lower(),
                        int(item["logIndex"], 16),
                        item["address"].lower(),
                        contract.name,
                        UNDECODABLE,
                        RawJson(json.dumps(args)),
                    )
                )
                continue
            rows.setdefault(table.table, []).append((chain_id, block, log_index, tx_hash, address, time, *values))
        if raw_logs:
            rows[RAW_LOGS] = raw_logs
        return rows
