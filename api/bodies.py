"""The one JSON parser for request bodies (routes and the Stripe webhook) and the NUL rule.

Bodies are parsed by pydantic-core's JSON parser (jiter): nesting deeper than its recursion limit
(200), ``NaN``/``Infinity``, raw control characters in strings and invalid UTF-8 are malformed
input (400), never a ``RecursionError``. The rule for U+0000 (PostgreSQL text cannot hold it) is
one: a NUL anywhere in a string of the body (a key or a value), the path or the query string is
refused with 400 ``invalid_input`` before any route runs or any value reaches the database.
In JSON a NUL can only be written ``\u0000`` (jiter refuses a raw one), so the parsed body is
walked only when its bytes hold that escape: the common body costs the parse alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

import pydantic_core

from core.errors import InvalidInput

MAX_DEPTH = 200  # jiter's own recursion limit; the walk below is iterative and checks it again


def load_json(body: bytes | str) -> Any:
    """Parse a JSON body; InvalidInput for anything malformed, too deep, or with a NUL in a string."""
    try:
        data = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as exc:  # invalid JSON, invalid UTF-8 or too deep: jiter says which
        raise InvalidInput("the body is not JSON", details={"reason": str(exc)[:120]}) from None
    raw = body.encode() if isinstance(body, str) else body
    if b"\\u0000" in raw:
        _check(data)
    return data


def _check(data: Any) -> None:
    """Refuse NUL in any string and nesting beyond MAX_DEPTH (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(f"the body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            reject_nul(value, "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                reject_nul(key, "body")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def reject_nul(text: str, where: str) -> None:
    """PostgreSQL text cannot hold U+0000: refuse it at the edge rather than fail in the database."""
    if "\x00" in text:
        raise InvalidInput(f"the {where} contains a NUL character")


def reject_nul_in_url(path: str, query: str) -> None:
    """The path and query string, percent-decoded: a ``%00`` anywhere is refused (before routing)."""
    for where, raw in (("path", path), ("query", query)):
        if "\x00" in raw or b"\x00" in unquote_to_bytes(raw):
            raise InvalidInput(f"the {where} contains a NUL character")
