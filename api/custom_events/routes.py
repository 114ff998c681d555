"""Events of the contracts indexed by configuration (``INDEXER_CONTRACTS_PATH``).

``GET /api/events`` lists the event tables the indexer created; ``GET /api/events/{contract}/{event}``
pages one of them, newest first, with equality filters on the indexed arguments (and on the
emitting ``address``, e.g. one child of a factory). Table and column names come from the
registry the indexer wrote, and are validated again (``core.db.identifiers``) before they are
quoted into the statement; filter values are typed by the ABI and bound as parameters.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.errors import ok
from api.inputs import parse_address, parse_query
from api.openapi import Model, doc, path_parameter
from api.reads.service import FAR, decode_cursor, page, wait_for_min_block
from api.schemas import IndexedBlock, PageQuery, ReadQuery
from api.services import services
from core.db.identifiers import UnsafeIdentifier, qualified, quote
from core.errors import InvalidInput, NotFound

bp = Blueprint("custom_events", url_prefix="/api")

CONTRACT = r"^[a-z](?:_?[a-z0-9]){0,30}$"
EVENT = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
_PAGING = {"limit", "cursor", "min_block"}
_UINT = re.compile(r"^[0-9]{1,78}$")
_INT = re.compile(r"^-?[0-9]{1,78}$")
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2}){0,32}$")


class EventColumn(Model):
    name: str
    type: str = Field(description="ABI type")
    indexed: bool


class EventTableInfo(Model):
    contract: str
    event: str
    signature: str
    table: str
    columns: list[EventColumn]


class EventTables(Model):
    tables: list[EventTableInfo]


class CustomEvent(Model):
    block_number: int
    log_index: int
    tx_hash: str
    address: str
    args: dict[str, Any] = Field(
        description="by ABI name: integers as decimal strings, bytes as 0x hex, arrays/tuples as JSON"
    )


class CustomEventsPage(Model):
    contract: str
    event: str
    items: list[CustomEvent]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


def _info(row: Any) -> dict[str, Any]:
    return {
        "contract": row["contract"],
        "event": row["event"],
        "signature": row["signature"],
        "table": row["table_name"],
        "columns": [{"name": c["name"], "type": c["type"], "indexed": c["indexed"]} for c in row["columns"]],
    }


@bp.get("/events")
@doc("Event tables of the contracts indexed by configuration", tag="events", response=EventTables, query=ReadQuery)
async def tables(request: Request) -> HTTPResponse:
    ctx = services(request)
    await wait_for_min_block(ctx, parse_query(request, ReadQuery))
    store = ctx.store
    _, rows = await store.read(lambda conn: conn.fetch(store.q.custom_event_tables))
    return ok({"tables": [_info(r) for r in rows]})


def _filter_value(column: dict[str, Any], raw: str) -> Any:
    """A filter value typed like its column, or InvalidInput."""
    kind, name = column["type"], column["name"]
    dynamic = kind.endswith("]") or kind.startswith("(") or kind in ("string", "bytes")
    if kind == "address":
        return parse_address(raw)
    if kind == "bool":
        if raw not in ("true", "false"):
            raise InvalidInput(f"{name} must be true or false", details={"filter": name})
        return raw == "true"
    if kind.startswith(("uint", "int")) and not dynamic:
        if not (_UINT if kind.startswith("uint") else _INT).match(raw):
            raise InvalidInput(f"{name} must be a decimal integer", details={"filter": name})
        return int(raw)
    # bytesN, or the keccak topic of an indexed dynamic value
    size = 32 if dynamic else int(kind[5:])
    if not _HEX.match(raw) or len(raw) != 2 + 2 * size:
        raise InvalidInput(f"{name} must be 0x followed by {2 * size} hex digits", details={"filter": name})
    return raw.lower()


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _statement(request: Request, row: Any, chain_id: int, before: tuple[Any, ...], limit: int) -> tuple[str, list[Any]]:
    """The page's SELECT (validated, quoted identifiers) and its bound parameters."""
    columns: list[dict[str, Any]] = row["columns"]
    by_name = {c["name"]: c for c in columns if c["indexed"]}
    params: list[Any] = [chain_id, before[0], before[1]]
    where = ""
    try:
        for name in request.args:
            if name in _PAGING:
                continue
            if name == "address":
                params.append(parse_address(request.args.get(name, "")))
                where += f" AND address = ${len(params)}"
            elif name in by_name:
                params.append(_filter_value(by_name[name], request.args.get(name, "")))
                where += f" AND {quote(by_name[name]['column'])} = ${len(params)}"
            else:
                raise InvalidInput(
                    f"{name[:64]!r} is not a filter of {row['contract']}.{row['event']}",
                    details={"filters": ["address", *by_name]},
                )
        selected = "".join(", " + quote(c["column"]) for c in columns)
        table = qualified(row["table_name"])
    except UnsafeIdentifier as exc:  # the registry holds a name the indexer would never write
        raise NotFound("this event table is not readable", details={"reason": str(exc)[:120]}) from None
    sql = (
        f"SELECT block_number, log_index, tx_hash, address{selected} FROM {table} "
        f"WHERE chain_id = $1 AND (block_number, log_index) < ($2, $3){where} "
        f"ORDER BY block_number DESC, log_index DESC LIMIT {int(limit)}"
    )
    return sql, params


@bp.get("/events/<contract:str>/<event:str>")
@doc(
    "Events of a configured contract, newest first; filter with ?<indexed argument>=value or ?address=",
    tag="events",
    response=CustomEventsPage,
    query=PageQuery,
    params=[
        path_parameter("contract", CONTRACT, "the contract's name in the indexer's configuration"),
        path_parameter("event", EVENT, "the event's name in the ABI (case-insensitive)"),
    ],
)
async def events(request: Request, contract: str, event: str) -> HTTPResponse:
    ctx = services(request)
    if not re.fullmatch(CONTRACT, contract) or not re.fullmatch(EVENT, event):
        raise InvalidInput("contract or event is not a valid name", details={"contract": contract[:64]})
    query = parse_query(request, PageQuery)
    before = decode_cursor(query.cursor, (int, int), (FAR, 0))
    await wait_for_min_block(ctx, query)
    store = ctx.store

    async def read(conn: Any) -> tuple[Any, list[Any]]:
        row = await conn.fetchrow(store.q.custom_event_table, contract, event)
        if row is None:
            raise NotFound(f"no configured event {contract}.{event}", details={"contract": contract, "event": event})
        sql, params = _statement(request, row, store.chain_id, before, query.limit)
        return row, await conn.fetch(sql, *params)

    try:
        table = qualified(f"{contract}__{event.lower()}")  # the registry's name for it (indexer/custom/abi.py)
    except UnsafeIdentifier:
        table = None
    read_rows = await store.read_table(table, read) if table is not None else None
    if read_rows is None:
        raise NotFound(f"no configured event {contract}.{event}", details={"contract": contract, "event": event})
    indexed, (row, rows) = read_rows
    columns: list[dict[str, Any]] = row["columns"]
    items = [
        {
            "block_number": r["block_number"],
            "log_index": r["log_index"],
            "tx_hash": r["tx_hash"],
            "address": r["address"],
            "args": {c["name"]: _json_value(r[c["column"]]) for c in columns},
        }
        for r in rows
    ]
    data = page(items, query, lambda e: (e["block_number"], e["log_index"]), indexed)
    return ok({"contract": contract, "event": row["event"], **data})
