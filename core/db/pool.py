"""Pool factory and translation of driver errors into the project's errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from core.db.numeric import decode_numeric, encode_numeric
from core.db.outage import CONNECTION_ERRORS, DatabaseUnavailable, cancelled
from core.errors import Conflict, InvalidInput


class RawJson(str):
    """Text that is already JSON: the jsonb codec sends it as is (no second encoding)."""

    __slots__ = ()


def _encode_jsonb(value: Any) -> bytes:
    if isinstance(value, RawJson):
        return b"\x01" + value.encode()
    return b"\x01" + json.dumps(value, separators=(",", ":")).encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs, so that COPY (binary only) can write jsonb columns too.
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _init_fast_numeric(conn: asyncpg.Connection) -> None:
    await _init_connection(conn)
    await conn.set_type_codec(
        "numeric", encoder=encode_numeric, decoder=decode_numeric, schema="pg_catalog", format="binary"
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A release without asyncpg's reset query: asyncpg has already rolled back a transaction left open and
    dropped the connection's listeners; the rest of what that query undoes (session settings, LISTEN,
    session advisory locks, cursors kept open) code on such a pool never does
    (tests/unit/test_session_state.py checks the API's SQL for it)."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    fast_numeric: bool = False,
    session_reset: bool = True,
    **kwargs: Any,
) -> asyncpg.Pool:
    """Open a pool whose connections decode json/jsonb to Python objects (and, with
    ``fast_numeric``, encode ints into ``numeric`` about 5x faster: the indexer's COPYs). Without
    ``session_reset`` a released connection skips asyncpg's reset query (a round trip per release: the
    API's requests, which keep no session state)."""
    init = _init_fast_numeric if fast_numeric else _init_connection
    if not session_reset:
        kwargs["reset"] = _keep_session
    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=init, **kwargs)
    except (*CONNECTION_ERRORS, asyncpg.InvalidCatalogNameError) as exc:
        raise DatabaseUnavailable(f"cannot connect to Postgres: {exc}") from exc
    assert pool is not None
    return pool


@asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    """Turn driver errors into :mod:`core.errors` where the database is called."""
    try:
        yield
    # The driver's own text (values, table and column names) stays in the logs, never in a message.
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("the value already exists", details={"constraint": exc.constraint_name}) from exc
    except (asyncpg.CheckViolationError, asyncpg.DataError, asyncpg.NotNullViolationError) as exc:
        raise InvalidInput("a value is out of range or malformed", details={"sqlstate": exc.sqlstate}) from exc
    except asyncpg.QueryCanceledError as exc:  # statement_timeout (the API's reads) or a cancel: retryable
        raise cancelled() from exc
    except CONNECTION_ERRORS as exc:  # a restart, a dropped connection, too many clients: retryable
        raise DatabaseUnavailable("the database is unavailable", details={"error": type(exc).__name__}) from exc
