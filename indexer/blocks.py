"""Blocks as the indexer keeps them: the checkpoint it has reached and the headers it stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Checkpoint:
    number: int
    hash: str


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int

    @classmethod
    def from_rpc(cls, block: dict[str, Any]) -> Header:
        return cls(
            int(block["number"], 16), block["hash"].lower(), block["parentHash"].lower(), int(block["timestamp"], 16)
        )
