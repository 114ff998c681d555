"""The one ABI codec of the indexer: how a log's words and data become values PostgreSQL can store.

Both decoders use it, the manifest's (:mod:`indexer.decode`, rows of ``chain_events``) and the
configured contracts' (:mod:`indexer.custom.abi`, typed tables); replay and rollback read back
what it wrote and never decode again.

The storable-value rule (README "Decoding"):

- ``string`` values are decoded by eth-abi as ``bytes`` (so invalid UTF-8 cannot fail the log),
  then read as UTF-8. Valid UTF-8 without NUL is stored as it is. Anything else (invalid
  sequences, NUL, which ``text`` and ``jsonb`` refuse) is stored with each bad sequence and each
  NUL replaced by U+FFFD, and the value counts as *altered*: the manifest decoder then keeps the
  original bytes as hex under ``args._raw`` (see :func:`raw_hex`).
- ``bytes``/``bytesN`` are ``0x`` hex, addresses lower-case hex, integers exact (``numeric``,
  ``jsonb`` numbers; inside configured contracts' arrays and tuples decimal text).
- Empty strings and bytes are stored as ``""`` and ``"0x"``; sizes are only bounded by the log.

A log that still cannot be decoded (wrong topic count, malformed data, an unknown event of a
manifest contract) is never skipped: :func:`undecodable_args` is its raw form, stored in
``chain_events`` with the event name :data:`UNDECODABLE`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter

UNDECODABLE = "!undecodable"  # chain_events.event of a raw, undecodable log (no ABI event has this name)
# The columns of a chain_events record, in COPY order.
EVENT_COLUMNS = [
    "chain_id",
    "block_number",
    "block_hash",
    "tx_hash",
    "log_index",
    "address",
    "contract",
    "event",
    "args",
]
EVENT_TYPES = ["bigint", "bigint", "text", "text", "integer", "text", "text", "text", "jsonb"]  # of EVENT_COLUMNS
UNDECODABLE_LOGS = Counter(
    "indexer_undecodable_logs_total", "Logs stored raw because they could not be decoded", ["contract", "event"]
)
_STRING = re.compile(r"\bstring\b")
_ARRAY = re.compile(r"\[[0-9]*\]$")
_BYTES_N = re.compile(r"^bytes([1-9]|[12][0-9]|3[0-2])$")


def storable_text(raw: bytes) -> tuple[str, bool]:
    """``raw`` as text PostgreSQL can hold, and whether it had to be altered (invalid UTF-8 or NUL)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd"), True
    if "\x00" in text:
        return text.replace("\x00", "\ufffd"), True
    return text, False


def raw_hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def decode_type(kind: str) -> str:
    """The type eth-abi decodes ``kind`` with: every ``string`` as ``bytes``."""
    return _STRING.sub("bytes", kind)


def is_static_word(kind: str) -> bool:
    """A type that ABI-encodes as exactly one 32-byte word (so it can be sliced out of the data)."""
    if kind in ("address", "bool"):
        return True
    if kind.startswith(("uint", "int")):
        return "[" not in kind
    return bool(_BYTES_N.match(kind))


def word_parser(kind: str) -> Callable[[str], Any]:
    """How to read one 32-byte hex word (a topic, or a static data word) of ``kind``."""
    if kind == "address":
        return lambda w: "0x" + w[-40:].lower()
    if kind == "bool":
        return lambda w: int(w, 16) != 0
    if kind.startswith("uint"):
        return lambda w: int(w, 16)
    if kind.startswith("int"):
        return lambda w: (v - (1 << 256)) if (v := int(w, 16)) >= 1 << 255 else v
    if _BYTES_N.match(kind):
        size = 2 * int(kind[5:])
        return lambda w: "0x" + w[-64:][:size].lower()
    return lambda w: "0x" + w[-64:].lower()  # the keccak of an indexed dynamic value


class Altered:
    """Collects whether any string of one log had to be altered."""

    __slots__ = ("any",)

    def __init__(self) -> None:
        self.any = False


def storable(param: dict[str, Any], value: Any, altered: Altered, *, ints_as_text: bool = False) -> Any:
    """A value eth-abi decoded (with :func:`decode_type`) as a storable JSON/column value.

    Inside arrays and tuples integers become decimal text when ``ints_as_text`` (JSON readers
    lose precision above 2**53); tuples become objects when all their components are named.
    """
    return _storable(param, value, altered, ints_as_text, False)


def _storable(param: dict[str, Any], value: Any, altered: Altered, ints_as_text: bool, nested: bool) -> Any:
    kind: str = param["type"]
    if kind.endswith("]"):
        inner = {**param, "type": _ARRAY.sub("", kind)}
        return [_storable(inner, v, altered, ints_as_text, True) for v in value]
    if kind.startswith("tuple"):
        comps = param.get("components") or []
        pairs = zip(comps, value, strict=True)
        if comps and all(c.get("name") for c in comps):
            return {c["name"]: _storable(c, v, altered, ints_as_text, True) for c, v in pairs}
        return [_storable(c, v, altered, ints_as_text, True) for c, v in pairs]
    if kind == "string":
        text, changed = storable_text(value if isinstance(value, bytes) else str(value).encode())
        altered.any = altered.any or changed
        return text
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if kind == "address":
        return str(value).lower()
    if ints_as_text and nested and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def undecodable_args(event: str | None, topics: list[str], data: str, error: object) -> dict[str, Any]:
    """The raw form of a log that could not be decoded: everything needed to decode it later."""
    return {"event": event, "topics": [t.lower() for t in topics], "data": data.lower(), "error": str(error)[:300]}
