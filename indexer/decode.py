"""Precompiled per-topic event decoders (eth-abi), bypassing web3's contract-event objects.

For each event of each contract in the manifest, topic0 maps to a decoder that knows which
inputs are indexed (read from topics; static ones are sliced) and which are in ``data``
(decoded with one ``eth_abi.decode`` call). Values come out JSON-ready: addresses and bytes
as lowercase hex strings, integers as Python ints.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak
from prometheus_client import Counter

from core.chain.manifest import Manifest
from core.db.pool import RawJson

ZERO_ADDRESS = "0x" + "0" * 40
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


def _int_of(word: str) -> int:
    return int(word, 16)


def _signed_of(word: str) -> int:
    value = int(word, 16)
    return value - (1 << 256) if value >= 1 << 255 else value


def _address_of(word: str) -> str:
    return "0x" + word[-40:].lower()


def _bool_of(word: str) -> bool:
    return int(word, 16) != 0


def _hex_of(word: str) -> str:
    return word.lower() if word.startswith("0x") else "0x" + word.lower()


Parser = Callable[[str], Any]


def _word_parser(kind: str) -> Parser:
    """How to read one 32-byte word (a topic or a static data word) of this type."""
    if kind == "address":
        return _address_of
    if kind == "bool":
        return _bool_of
    if kind.startswith("uint"):
        return _int_of
    if kind.startswith("int"):
        return _signed_of
    if kind.startswith("bytes") and kind != "bytes" and "[" not in kind:
        size = 2 * int(kind[5:])
        return lambda word: "0x" + word[-64:][:size].lower()
    # The keccak of a dynamic indexed type (string, bytes, arrays) is kept as hex.
    return _hex_of


def _is_static_word(kind: str) -> bool:
    """A type that ABI-encodes as exactly one 32-byte word (so it can be sliced)."""
    if kind in ("address", "bool"):
        return True
    if kind.startswith(("uint", "int")):
        return "[" not in kind
    return kind.startswith("bytes") and kind != "bytes" and "[" not in kind


def _json_slot(kind: str) -> str:
    """printf-style slot of a value in the event's JSON text."""
    if kind.startswith(("uint", "int")):
        return "%d"
    if kind == "bool":
        return "%s"  # filled with "true"/"false"
    return '"%s"'


class EventDecoder:
    """Decodes one event's topics and data; static fields are sliced, the rest goes through eth-abi."""

    def __init__(
        self,
        contract: str,
        event: str,
        indexed: tuple[tuple[str, str], ...],
        data_names: tuple[str, ...],
        data_types: tuple[str, ...],
    ) -> None:
        self.contract = contract
        self.event = event
        self.indexed = indexed  # (name, type) in topic order
        self.data_names = data_names
        self.data_types = data_types
        self.n_topics = len(indexed) + 1
        self.topic_parsers = [(name, _word_parser(kind)) for name, kind in indexed]
        self.sliceable = all(_is_static_word(kind) for kind in data_types)
        self.data_parsers = [
            (name, _word_parser(kind), 2 + 64 * i)
            for i, (name, kind) in enumerate(zip(data_names, data_types, strict=True))
        ]
        self.min_data = 2 + 64 * len(data_types)
        fields = [*indexed, *zip(data_names, data_types, strict=True)]
        self.names = [name for name, _ in fields]
        self.bools = [kind == "bool" for _, kind in fields]
        # JSON text from a printf template: far cheaper than json.dumps per row. Names come from
        # the ABI; they are identifiers, but escape them anyway.
        self.template = "{" + ",".join(f"{json.dumps(name)}:{_json_slot(kind)}" for name, kind in fields) + "}"

    def decode(self, topics: list[str], data: str) -> dict[str, Any]:
        if len(topics) != self.n_topics:
            raise ValueError(f"{self.event}: expected {self.n_topics} topics, got {len(topics)}")
        args = {name: parse(topics[i]) for i, (name, parse) in enumerate(self.topic_parsers, 1)}
        if not self.data_types:
            return args
        if self.sliceable:
            if len(data) < self.min_data:
                raise ValueError(f"{self.event}: data too short")
            for name, parse, offset in self.data_parsers:
                args[name] = parse(data[offset : offset + 64])
            return args
        values = abi_decode(self.data_types, bytes.fromhex(data[2:]))
        args.update(zip(self.data_names, (_jsonable(v) for v in values), strict=True))
        return args

    def to_json(self, args: dict[str, Any]) -> RawJson:
        if not self.sliceable:
            return RawJson(json.dumps(args, separators=(",", ":")))
        values = [args[name] for name in self.names]
        for i, is_bool in enumerate(self.bools):
            if is_bool:
                values[i] = "true" if values[i] else "false"
        return RawJson(self.template % tuple(values))


class DecodedLog(NamedTuple):
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    address: str
    contract: str
    event: str
    args: dict[str, Any]
    args_json: RawJson | None = None  # the args as JSON text, when the decoder made it


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
            int(log["blockNumber"], 16),
            log["blockHash"].lower(),
            log["transactionHash"].lower(),
            int(log["logIndex"], 16),
            address,
            decoder.contract,
            decoder.event,
            args,
            decoder.to_json(args),
        )
