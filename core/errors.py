"""One root error, split into retryable and non-retryable branches.

Retry loops catch only :class:`RetryableError`. Subclasses also inherit the builtin they
resemble where that helps callers (``NotFound`` is a ``LookupError``).
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Root of every error this project raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str = "", *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = details or {}


class RetryableError(AppError):
    """A transient failure: the same call may succeed later."""

    code = "unavailable"


class NonRetryableError(AppError):
    """A permanent failure: retrying the same call cannot succeed."""

    code = "failed"


class ConfigError(NonRetryableError):
    """The configuration or the deployment manifest is missing or invalid."""

    code = "config_error"


class InvalidInput(NonRetryableError, ValueError):
    """The input is malformed."""

    code = "invalid_input"


class NotFound(NonRetryableError, LookupError):
    """The resource does not exist."""

    code = "not_found"


class Conflict(NonRetryableError):
    """The change conflicts with existing state (e.g. a duplicate key)."""

    code = "conflict"


class ServiceUnavailable(RetryableError):
    """A backing service (database, cache, chain node) cannot be reached."""


class RpcError(AppError):
    """A JSON-RPC error answered by the node."""

    code = "rpc_error"

    def __init__(self, message: str, *, rpc_code: int | None = None, data: Any = None) -> None:
        super().__init__(message, details={"rpc_code": rpc_code, "data": data})
        self.rpc_code = rpc_code
        self.data = data


class RetryableRpcError(RpcError, RetryableError):
    """A node error worth retrying (timeout, rate limit, connection reset, node behind)."""


class NonRetryableRpcError(RpcError, NonRetryableError):
    """A node error that a retry cannot fix (invalid params, execution reverted)."""


class RequestTooLarge(NonRetryableRpcError):
    """The node refuses the request's size (e.g. an eth_getLogs range): ask for less."""
