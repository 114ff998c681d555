"""The three processes' logs (structlog over the stdlib): JSON lines outside development, readable lines in it.

Every record, whether from ``logging.getLogger`` or ``structlog.get_logger``, goes through one chain:
ISO-8601 UTC timestamp, level, logger, the process name, the context bound with :func:`bind_request_id`
(the API's request id, carried into the relayer requests it causes) and ``extra=`` fields, then
:func:`redact`, which masks every value under a secret-looking key and every bearer token, JWT, Stripe
signature or password found in a message. ``LOG_FORMAT`` (shared setting) forces ``json`` or ``console``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"
# Keys whose values are never logged, whatever they hold (matched as substrings, case-insensitively).
SECRET_KEYS = (
    "password", "secret", "token", "authorization", "cookie", "signature", "private_key", "api_key", "otp",
)  # fmt: skip
# Secrets that could travel inside a free-text message or value, with what replaces them.
SECRET_PATTERNS = (
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"), rf"\1 {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),  # a JWT
    (re.compile(r"\bt=\d+,v1=[0-9a-f]+(?:,v0=[0-9a-f]+)?"), REDACTED),  # a Stripe-Signature header
    (re.compile(r"\b(?:sk|rk|whsec)_[A-Za-z0-9_]{8,}"), REDACTED),  # Stripe keys
    (
        re.compile(r"(?i)(\"?(?:password|secret|token|refresh_token|otp)\"?\s*[:=]\s*)(\"[^\"]*\"|[^\s,;&}]+)"),
        rf"\1{REDACTED}",
    ),
)
REQUEST_ID = "request_id"


def _scrub(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered != REQUEST_ID and any(word in lowered for word in SECRET_KEYS)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub(value)
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and _is_secret_key(k) else _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def redact(_logger: object, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: secret-looking keys masked, secrets inside strings replaced."""
    for key in list(event):
        if key == "event":
            event[key] = _scrub(str(event[key]))
        elif _is_secret_key(key):
            event[key] = REDACTED
        else:
            event[key] = _clean(event[key])
    return event


def bind_request_id(request_id: str | None) -> None:
    """Bind (or, with None, clear) the request id every later record of this task carries."""
    if request_id is None:
        structlog.contextvars.unbind_contextvars(REQUEST_ID)
    else:
        structlog.contextvars.bind_contextvars(request_id=request_id)


def current_request_id() -> str | None:
    """The request id bound in this context (the API request being handled), if any."""
    value = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    return value if isinstance(value, str) else None


def setup_logging(process: str, level: str = "INFO", *, json: bool = False) -> None:
    """Route every record through structlog's chain to stderr, as JSON lines or readable ones."""

    def add_process(_logger: object, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.setdefault("process", process)
        return event

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_process,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "asyncio", "web3", "urllib3", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
