"""The API's domain errors: raised by its domain code, mapped to HTTP statuses by ``api/errors.py`` alone."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput, NonRetryableError, RetryableError


class Unauthenticated(NonRetryableError):
    """Missing, invalid or expired credentials."""

    code = "unauthenticated"


class Forbidden(NonRetryableError):
    """The credentials are valid but do not allow this."""

    code = "forbidden"


class RateLimited(RetryableError):
    """Too many requests; retry after ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after, **(details or {})})
        self.retry_after = retry_after


class NotIndexedYet(RetryableError):
    """The indexer has not reached the block a read asked for (``min_block``)."""

    code = "not_indexed_yet"


class InvalidCode(InvalidInput):
    """The one-time code is wrong, used or expired."""

    code = "invalid_otp"
