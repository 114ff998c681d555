"""Connection-class driver errors: the database went away (restart, network loss, overload).

They are translated into :class:`DatabaseUnavailable` (a :class:`~core.errors.RetryableError`) where the
database is called, so that run loops, which catch only the retryable branch, back off and carry on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import asyncpg

from core.backoff import Backoff
from core.errors import ServiceUnavailable

log = logging.getLogger("db")
T = TypeVar("T")


class DatabaseUnavailable(ServiceUnavailable, ConnectionError):
    """PostgreSQL cannot be reached, is restarting, or dropped the connection."""


class StatementCancelled(ServiceUnavailable):
    """A statement ran past its ``statement_timeout`` (or was cancelled) and the server stopped it."""

    code = "read_timeout"


def cancelled() -> StatementCancelled:
    """What a read cancelled by its time limit (server-side ``statement_timeout`` or the driver's) raises."""
    return StatementCancelled(
        "the read took longer than the server allows and was cancelled; retry later",
        details={"sqlstate": asyncpg.QueryCanceledError.sqlstate},
    )


# Server-side codes (class 08 connection exception, 57P01-03 shutdown / cannot connect now, 53300 too many
# connections) and client-side ones (closed connection, a pool closing, refused/reset sockets, timeouts).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError, ConnectionResetError, TimeoutError, socket.gaierror
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError, …
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
    asyncpg.OperatorInterventionError,  # AdminShutdownError, CrashShutdownError, CannotConnectNowError
    asyncpg.TooManyConnectionsError,
    # "cannot switch to state …; another operation is in progress": a pool resetting a connection whose
    # server went away mid-query (seen on a PostgreSQL fast shutdown under load).
    asyncpg.InternalClientError,
)


def is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, CONNECTION_ERRORS) and not isinstance(exc, asyncpg.QueryCanceledError)


@asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Re-raise a connection-class driver error as :class:`DatabaseUnavailable`; anything else unchanged."""
    try:
        yield
    except DatabaseUnavailable:
        raise
    except CONNECTION_ERRORS as exc:
        if not is_connection_error(exc):
            raise
        raise DatabaseUnavailable(f"database unavailable: {type(exc).__name__}: {exc}") from exc


async def when_available(step: Callable[[], Awaitable[T]], what: str, stop: asyncio.Event | None = None) -> T:
    """A start-up step (migrations, the pool) retried with a capped exponential backoff while the database is
    unavailable: a process started during an outage waits for it instead of exiting."""
    backoff = Backoff(initial=0.2, cap=5.0)
    while True:
        try:
            async with database_errors():
                return await step()
        except DatabaseUnavailable as exc:
            if stop is not None and stop.is_set():
                raise
            log.warning("%s: %s; retrying", what, exc)
            await backoff.wait(stop)
