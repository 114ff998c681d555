"""Loads named queries from ``.sql`` files.

A file holds queries each introduced by a ``-- name: some_name`` header line; the text up to
the next header is the query. Loaded once, looked up by attribute or key.
"""

from __future__ import annotations

import re
from pathlib import Path

_HEADER = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    queries: dict[str, str] = {}
    matches = list(_HEADER.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        name = match.group("name")
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        if not body:
            raise ValueError(f"query {name!r} is empty")
        queries[name] = body
    return queries


class Queries:
    """The named queries of one ``.sql`` file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queries = parse_queries(path.read_text(encoding="utf-8"))

    def __getattr__(self, name: str) -> str:
        try:
            return self._queries[name]
        except KeyError:
            raise AttributeError(f"{self.path.name} has no query {name!r}") from None

    def __getitem__(self, name: str) -> str:
        return self._queries[name]

    def items(self) -> list[tuple[str, str]]:
        return list(self._queries.items())
