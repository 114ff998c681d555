"""Connection-class driver errors are retryable (``DatabaseUnavailable``); others pass through unchanged."""

from __future__ import annotations

import asyncpg
import pytest

from core.backoff import Backoff
from core.db import DatabaseUnavailable, database_errors, translate_errors
from core.db.leader import LeaderLost
from core.errors import Conflict, RetryableError


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "refused"),
        ConnectionResetError(104, "reset"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
    ],
)
async def test_connection_errors_become_retryable(error: Exception) -> None:
    for wrap in (database_errors, translate_errors):
        with pytest.raises(DatabaseUnavailable) as caught:
            async with wrap():
                raise error
        assert isinstance(caught.value, RetryableError) and caught.value.__cause__ is error


async def test_other_errors_are_left_alone() -> None:
    with pytest.raises(asyncpg.UndefinedTableError):
        async with database_errors():
            raise asyncpg.UndefinedTableError("relation does not exist")
    with pytest.raises(asyncpg.QueryCanceledError):  # a statement timeout is not an outage
        async with database_errors():
            raise asyncpg.QueryCanceledError("canceling statement due to statement timeout")
    with pytest.raises(Conflict):
        async with translate_errors():
            raise asyncpg.UniqueViolationError("duplicate key")


def test_a_lost_leader_lock_is_retryable() -> None:
    assert issubclass(LeaderLost, DatabaseUnavailable) and issubclass(LeaderLost, RetryableError)


def test_backoff_grows_to_its_cap_and_resets() -> None:
    backoff = Backoff(initial=0.1, cap=2.0)
    delays = [backoff.delay() for _ in range(12)]
    assert delays[0] <= 0.1 * 1.2 and max(delays) <= 2.0 * 1.2 and delays[-1] >= 2.0 * 0.8
    backoff.reset()
    assert backoff.delay() <= 0.1 * 1.2
