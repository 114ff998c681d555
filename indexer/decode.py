"""Precompiled per-topic event decoders (eth-abi), bypassing web3's contract-event objects.

For each event of each contract in the manifest, topic0 maps to a decoder that knows which
inputs are indexed (read from topics; static ones are sliced) and which are in ``data``
(decoded with one ``eth_abi.decode`` call). Values come out JSON-ready: addresses and bytes
as lowercase hex strings, integers as Python ints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak
from prometheus_client import Counter

from core.chain.manifest import Manifest

log_ = logging.getLogger("indexer.decode")
UNDECODABLE = Counter(
    "indexer_undecodable_logs_total", "Logs of known topics that failed to decode", ["contract", "event"]
)


def _canonical_type(param: dict[str, Any]) -> str:
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


def event_signature(event_abi: dict[str, Any]) -> str:
    return f"{event_abi['name']}({','.join(_canonical_type(p) for p in event_abi['inputs'])})"


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _topic_value(kind: str, topic: str) -> Any:
    """An indexed input from its topic: static types are sliced, dynamic ones stay hashed."""
    if kind == "address":
        return "0x" + topic[-40:].lower()
    if kind.startswith("uint"):
        return int(topic, 16)
    if kind == "bool":
        return int(topic, 16) != 0
    if kind.startswith("int"):
        value = int(topic, 16)
        return value - (1 << 256) if value >= 1 << 255 else value
    if not topic.startswith("0x"):
        topic = "0x" + topic
    # bytes32 and the keccak of dynamic types (string, bytes, arrays) are kept as hex.
    return topic.lower()


def _is_static_word(kind: str) -> bool:
    """A type that ABI-encodes as exactly one 32-byte word (so it can be sliced)."""
    if kind in ("address", "bool"):
        return True
    if kind.startswith(("uint", "int")):
        return "[" not in kind
    return kind.startswith("bytes") and kind != "bytes" and "[" not in kind


@dataclass(frozen=True)
class EventDecoder:
    contract: str
    event: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) in topic order
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]

    @property
    def sliceable(self) -> bool:
        return all(_is_static_word(kind) for kind in self.data_types)

    def decode(self, topics: list[str], data: str) -> dict[str, Any]:
        if len(topics) != len(self.indexed) + 1:
            raise ValueError(f"{self.event}: expected {len(self.indexed) + 1} topics, got {len(topics)}")
        args = {name: _topic_value(kind, topics[i + 1]) for i, (name, kind) in enumerate(self.indexed)}
        if not self.data_types:
            return args
        if self.sliceable:
            # Static words: slice the hex directly (no bytes round trip, no eth_abi).
            if len(data) < 2 + 64 * len(self.data_types):
                raise ValueError(f"{self.event}: data too short")
            for i, (name, kind) in enumerate(zip(self.data_names, self.data_types, strict=True)):
                word = data[2 + 64 * i : 66 + 64 * i]
                if kind.startswith("bytes"):
                    size = int(kind[5:])
                    args[name] = "0x" + word[: 2 * size].lower()
                else:
                    args[name] = _topic_value(kind, word)
            return args
        values = abi_decode(self.data_types, bytes.fromhex(data[2:]))
        args.update(zip(self.data_names, (_jsonable(v) for v in values), strict=True))
        return args


@dataclass(frozen=True)
class DecodedLog:
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    address: str
    contract: str
    event: str
    args: dict[str, Any]


class LogDecoder:
    """Decodes raw ``eth_getLogs`` items of the manifest's contracts."""

    def __init__(self, manifest: Manifest) -> None:
        self._by_address: dict[str, dict[str, EventDecoder]] = {}
        for name, contract in manifest.contracts.items():
            table: dict[str, EventDecoder] = {}
            for item in contract.abi:
                if item.get("type") != "event" or item.get("anonymous"):
                    continue
                topic0 = "0x" + keccak(text=event_signature(item)).hex()
                indexed = tuple((p["name"], _canonical_type(p)) for p in item["inputs"] if p.get("indexed"))
                plain = [p for p in item["inputs"] if not p.get("indexed")]
                table[topic0] = EventDecoder(
                    name,
                    item["name"],
                    indexed,
                    tuple(p["name"] for p in plain),
                    tuple(_canonical_type(p) for p in plain),
                )
            self._by_address[contract.address] = table

    @property
    def topics(self) -> list[str]:
        return sorted({t for table in self._by_address.values() for t in table})

    def decode(self, log: dict[str, Any]) -> DecodedLog | None:
        """The decoded log, or None for a log of an unknown address or event."""
        address = log["address"].lower()
        topics = log["topics"]
        decoder = self._by_address.get(address, {}).get(topics[0].lower()) if topics else None
        if decoder is None:
            return None
        try:
            args = decoder.decode(topics, log["data"])
        except (ValueError, TypeError, DecodingError) as exc:
            # A log our ABI cannot decode (e.g. another event with the same signature but other
            # indexed flags) is skipped, counted and logged; it never stops the indexer.
            UNDECODABLE.labels(decoder.contract, decoder.event).inc()
            log_.warning(
                "cannot decode %s.%s in tx %s: %s", decoder.contract, decoder.event, log.get("transactionHash"), exc
            )
            return None
        return DecodedLog(
            block_number=int(log["blockNumber"], 16),
            block_hash=log["blockHash"].lower(),
            tx_hash=log["transactionHash"].lower(),
            log_index=int(log["logIndex"], 16),
            address=address,
            contract=decoder.contract,
            event=decoder.event,
            args=args,
        )
