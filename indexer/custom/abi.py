"""From a configured contract's ABI to typed event tables and their decoders.

Each event becomes one table ``custom_events."<contract>__<event>"`` with the base columns
(chain_id, block_number, log_index, tx_hash, address, block_time) and one typed column per argument,
its values made storable by the one rule of :mod:`indexer.codec` (shared with the manifest's
decoder; strings: invalid UTF-8 and NUL become U+FFFD):

- ``address`` -> text (lower-case hex), ``uintN``/``intN`` -> numeric(78,0), ``bool`` -> boolean,
  ``bytesN``/``bytes`` -> text (0x hex), ``string`` -> text, arrays and tuples -> jsonb
  (integers as decimal strings, tuples as objects when their components are named);
- an indexed dynamic argument (string, bytes, array, tuple) is only a keccak in the log: its
  column is the topic as text hex.

ABI names are hostile input: event and argument names must match :data:`ABI_NAME`, column and
table names are lower-cased and checked again as SQL identifiers; anything else is refused
with a :class:`ConfigError` naming the offending item (truncated), never interpolated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak

from core.db.identifiers import BASE_COLUMNS, CUSTOM_SCHEMA, UnsafeIdentifier, check, qualified, quote
from core.errors import ConfigError
from indexer.codec import Altered, decode_type, is_static_word, storable, word_parser

BASE_TYPES = ("bigint", "bigint", "integer", "text", "text", "timestamptz")  # of BASE_COLUMNS, as ddl() makes them
ABI_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_INT = re.compile(
    r"^u?int(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|200|208|216|224|232|240|248|256)?$"
)
_BYTES_N = re.compile(r"^bytes([1-9]|[12][0-9]|3[0-2])$")
_ARRAY = re.compile(r"\[[0-9]*\]$")


def _safe(text: object) -> str:
    return repr(str(text)[:80])


def canonical_type(param: dict[str, Any]) -> str:
    kind = param.get("type")
    if not isinstance(kind, str):
        raise ConfigError(f"an ABI input has no type: {_safe(param)}")
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param.get("components") or [])
        return f"({inner}){kind[5:]}"
    base = _ARRAY.sub("", kind)
    while base != kind and _ARRAY.search(base):
        base = _ARRAY.sub("", base)
    if not (base in ("address", "bool", "string", "bytes") or _INT.match(base) or _BYTES_N.match(base)):
        raise ConfigError(f"unsupported ABI type {_safe(kind)}")
    return kind


def sql_type(kind: str) -> str:
    if kind.endswith("]") or kind.startswith("("):
        return "jsonb"
    if kind.startswith(("uint", "int")):
        return "numeric(78,0)"
    if kind == "bool":
        return "boolean"
    return "text"  # address, bytes, bytesN, string


@dataclass(frozen=True)
class Column:
    name: str  # as in the ABI
    column: str  # the SQL column (validated identifier)
    type: str  # canonical ABI type
    sql: str
    indexed: bool

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "column": self.column, "type": self.type, "sql": self.sql, "indexed": self.indexed}


class EventTable:
    """One event of one configured contract: its table, columns, and a decoder to a row tuple."""

    def __init__(self, contract: str, abi: dict[str, Any]) -> None:
        name = abi.get("name")
        if not isinstance(name, str) or not ABI_NAME.fullmatch(name):
            raise ConfigError(f"{contract}: event name {_safe(name)} is not a plain identifier")
        self.contract = contract
        self.event = name
        inputs = abi.get("inputs") or []
        if not isinstance(inputs, list):
            raise ConfigError(f"{contract}.{name}: inputs must be a list")
        types = [canonical_type(p) for p in inputs]
        self.signature = f"{name}({','.join(types)})"
        self.topic0 = "0x" + keccak(text=self.signature).hex()
        try:
            self.table = check(f"{contract}__{name.lower()}")
        except UnsafeIdentifier:
            raise ConfigError(f"{contract}.{name}: table name {contract}__{name.lower()} is too long") from None
        columns: list[Column] = []
        for i, (param, kind) in enumerate(zip(inputs, types, strict=True)):
            arg = param.get("name") or f"arg{i}"
            if not isinstance(arg, str) or not ABI_NAME.fullmatch(arg):
                raise ConfigError(f"{contract}.{name}: argument name {_safe(arg)} is not a plain identifier")
            column = arg.lower()
            if column in BASE_COLUMNS:
                column = f"arg_{column}"
            try:
                check(column)
            except UnsafeIdentifier:
                raise ConfigError(f"{contract}.{name}: argument {_safe(arg)} makes no valid column") from None
            if any(c.column == column for c in columns):
                raise ConfigError(f"{contract}.{name}: two arguments map to the column {column!r}")
            columns.append(Column(arg, column, kind, sql_type(kind), bool(param.get("indexed"))))
        self.columns = columns
        self.params = inputs
        # The ABI item as far as the table depends on it (kept in the registry: the served definition)
        self.abi = {"type": "event", "name": name, "inputs": [_plain_param(p) for p in inputs]}
        indexed = [(c, p) for c, p in zip(columns, inputs, strict=True) if c.indexed]
        if len(indexed) > 3:
            raise ConfigError(f"{contract}.{name}: more than 3 indexed arguments")
        self.n_topics = len(indexed) + 1
        # Row layout: arguments in ABI order; topics fill the indexed ones, data the others.
        self._topic_slots = [
            (columns.index(c), word_parser(c.type if is_static_word(c.type) else "bytes32")) for c, _ in indexed
        ]
        plain = [(columns.index(c), c, p) for c, p in zip(columns, inputs, strict=True) if not c.indexed]
        self._data_slots = [slot for slot, _, _ in plain]
        self._data_types = [decode_type(c.type) for _, c, _ in plain]
        self._data_params = [p for _, _, p in plain]
        self._sliceable = all(is_static_word(c.type) for _, c, _ in plain)
        self._data_words = [(slot, word_parser(c.type), 2 + 64 * k) for k, (slot, c, _) in enumerate(plain)]
        self._min_data = 2 + 64 * len(plain)

    @property
    def column_names(self) -> list[str]:
        return [*BASE_COLUMNS, *(c.column for c in self.columns)]

    @property
    def column_types(self) -> list[str]:
        """The SQL types of ``column_names`` (the base columns', then the arguments')."""
        return [*BASE_TYPES, *(c.sql for c in self.columns)]

    def ddl(self, schema: str = CUSTOM_SCHEMA) -> list[str]:
        """CREATE TABLE and indexes (in ``schema``: a rebuild's is the shadow); identifiers validated and quoted."""

        table = f"{quote(schema)}.{quote(self.table)}"
        cols = ",\n    ".join(f"{quote(c.column)} {c.sql}" for c in self.columns)
        base = ",\n    ".join(
            f"{name} {kind}" + ("" if name == "block_time" else " NOT NULL")  # old rows may lack a time
            for name, kind in zip(BASE_COLUMNS, BASE_TYPES, strict=True)
        )
        create = (
            f"CREATE TABLE IF NOT EXISTS {table} (\n    {base}"
            + (f",\n    {cols}" if cols else "")
            + ",\n    PRIMARY KEY (chain_id, block_number, log_index)\n)"
        )
        return [create, *(statement for _, statement in self.index_ddl(schema))]

    def index_ddl(self, schema: str = CUSTOM_SCHEMA) -> list[tuple[str, str]]:
        """The secondary indexes (the API's filters: address, each indexed argument) as (name, CREATE INDEX)."""
        table = f"{quote(schema)}.{quote(self.table)}"
        keys = [("address", "address"), *((c.column, quote(c.column)) for c in self.columns if c.indexed)]
        indexes = []
        for column, key in keys:
            name = check(self._index_name(column))
            ddl = f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {table} (chain_id, {key}, block_number, log_index)"
            indexes.append((name, ddl))
        return indexes

    def upgrade_ddl(self) -> str:
        """What a table created before ``block_time`` existed needs (its old rows keep a NULL time)."""
        return f"ALTER TABLE {qualified(self.table)} ADD COLUMN IF NOT EXISTS block_time timestamptz"

    def _index_name(self, column: str) -> str:
        name = f"{self.table}__{column}"
        return name if len(name) <= 63 else f"{self.table[:40]}__{keccak(text=name).hex()[:16]}"

    def decode(self, topics: list[str], data: str) -> list[Any]:
        """The argument values in column order; ValueError/TypeError/DecodingError on a malformed log."""
        if len(topics) != self.n_topics:
            raise ValueError(f"{self.event}: expected {self.n_topics} topics, got {len(topics)}")
        values: list[Any] = [None] * len(self.columns)
        for i, (slot, parse) in enumerate(self._topic_slots, 1):
            values[slot] = parse(topics[i])
        if self._sliceable:
            if len(data) < self._min_data:
                raise ValueError(f"{self.event}: data too short")
            for slot, parse, offset in self._data_words:
                values[slot] = parse(data[offset : offset + 64])
        elif self._data_types:
            decoded = abi_decode(self._data_types, bytes.fromhex(data[2:]))
            altered = Altered()  # configured tables keep the storable text; the raw log stays on chain
            for slot, param, value in zip(self._data_slots, self._data_params, decoded, strict=True):
                values[slot] = storable(param, value, altered, ints_as_text=True)
        return values


def _plain_param(param: dict[str, Any]) -> dict[str, Any]:
    """An ABI input with only what decoding reads (name, type, indexed, components)."""
    out: dict[str, Any] = {"name": param.get("name") or "", "type": param["type"]}
    if "indexed" in param:
        out["indexed"] = bool(param["indexed"])
    if param.get("components"):
        out["components"] = [_plain_param(c) for c in param["components"]]
    return out


def _param_of(name: str, kind: str, indexed: bool | None = None) -> dict[str, Any]:
    """An ABI input from a canonical type (``(uint256,address)[]``: a tuple, components unnamed)."""
    out: dict[str, Any] = {"name": name, "type": kind}
    if kind.startswith("("):
        depth, parts, current = 0, [], ""
        for i, ch in enumerate(kind):
            depth += (ch == "(") - (ch == ")")
            if depth == 0:
                out["type"] = "tuple" + kind[i + 1 :]
                break
            if ch == "," and depth == 1:
                parts.append(current)
                current = ""
            elif i > 0:
                current += ch
        parts.append(current)
        out["components"] = [_param_of("", k) for k in parts if k]
    if indexed is not None:
        out["indexed"] = indexed
    return out


def registered_table(
    contract: str, event: str, abi: dict[str, Any] | None, columns: list[dict[str, Any]]
) -> EventTable:
    """A table as the registry holds it: from its ABI item, or (registered before that was kept) its columns."""
    if abi is None:
        inputs = [_param_of(c["name"], c["type"], bool(c["indexed"])) for c in columns]
        abi = {"type": "event", "name": event, "inputs": inputs}
    return EventTable(contract, abi)


def event_tables(contract: str, abi: list[dict[str, Any]], only: list[str] | None = None) -> list[EventTable]:
    """The tables of ``contract``'s events (all, or those named in ``only``); anonymous events are skipped."""
    if not isinstance(abi, list):
        raise ConfigError(f"{contract}: the ABI must be a JSON list")
    tables: dict[str, EventTable] = {}
    for item in abi:
        if not isinstance(item, dict) or item.get("type") != "event" or item.get("anonymous"):
            continue
        if only is not None and item.get("name") not in only:
            continue
        table = EventTable(contract, item)
        if table.table in tables:
            raise ConfigError(
                f"{contract}: event {table.event!r} is overloaded (or differs only in case); "
                "list the events to index with `events = [...]`"
            )
        tables[table.table] = table
    if only is not None and (missing := set(only) - {t.event for t in tables.values()}):
        raise ConfigError(f"{contract}: no such events in the ABI: {sorted(missing)}")
    return list(tables.values())
