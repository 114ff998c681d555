"""What a projection is built from, and its version: a hash of its SQL (DDL + build) and code version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from core.db import Queries

BALANCES_SQL = Path(__file__).with_name("balances.sql")
# Bump when the Python side of a build changes in a way the SQL text does not show.
BALANCES_CODE_VERSION = 1


@dataclass(frozen=True)
class Definition:
    """One projection table: built from ``chain_events`` by the named queries of its ``.sql`` file."""

    name: str
    path: Path
    code_version: int
    tokens: dict[str, tuple[str, str, str]]  # contract name -> (from, to, value) fields of its Transfer

    @property
    def queries(self) -> Queries:
        return Queries(self.path)

    @property
    def version(self) -> str:
        text = self.path.read_text(encoding="utf-8")
        blob = json.dumps([text, self.code_version, sorted(self.tokens.items())])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def token_arrays(self) -> tuple[list[str], list[str], list[str], list[str]]:
        names = sorted(self.tokens)
        return (
            names,
            [self.tokens[n][0] for n in names],
            [self.tokens[n][1] for n in names],
            [self.tokens[n][2] for n in names],
        )


def balances(tokens: dict[str, tuple[str, str, str]], path: Path = BALANCES_SQL, code_version: int = 0) -> Definition:
    return Definition("token_balances", path, code_version or BALANCES_CODE_VERSION, tokens)
