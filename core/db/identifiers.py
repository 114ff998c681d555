"""SQL identifiers that come from outside the codebase (configured contract names, ABI event and
argument names): validated against a strict pattern before they may reach a statement, then
always double-quoted. Shared by the indexer (which creates the tables) and the API (which reads
them); neither interpolates a name that has not passed :func:`quote`.
"""

from __future__ import annotations

import re

# Lower-case, starts with a letter or underscore, at most 63 bytes (PostgreSQL's NAMEDATALEN - 1).
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Tables created from configured ABIs live in their own schema: they can never shadow ours.
CUSTOM_SCHEMA = "custom_events"
# Columns every custom event table has; ABI arguments with these names get an ``arg_`` prefix.
BASE_COLUMNS = ("chain_id", "block_number", "log_index", "tx_hash", "address", "block_time")


class UnsafeIdentifier(ValueError):
    """A name that is not a plain lower-case SQL identifier."""


def check(name: str) -> str:
    """``name`` itself if it is a safe identifier, else :class:`UnsafeIdentifier`."""
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        raise UnsafeIdentifier(f"not a safe SQL identifier: {name[:80]!r}")
    return name


def quote(name: str) -> str:
    """The double-quoted identifier (quoting also covers reserved words such as ``from``)."""
    return f'"{check(name)}"'


def qualified(table: str) -> str:
    """``"custom_events"."<table>"``."""
    return f"{quote(CUSTOM_SCHEMA)}.{quote(table)}"
