"""Precompiled per-topic event decoders (eth-abi), bypassing web3's contract-event objects.

For each event of each contract in the manifest, topic0 maps to a decoder that knows which
inputs are indexed (read from topics; static ones are sliced) and which are in ``data``
(decoded with one ``eth_abi.decode`` call). Values come out JSON-ready and storable by the one
rule of :mod:`indexer.codec`: addresses and bytes as lowercase hex strings, integers as Python
ints, strings as text PostgreSQL can hold (the original bytes under ``_raw`` when altered). A
manifest contract's log that cannot be decoded comes out raw, never dropped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from eth_abi import decode as abi_decode
from eth_utils import keccak

from core.chain.manifest import Manifest
from core.db.pool import RawJson
from indexer.codec import (
    UNDECODABLE,
    Altered,
    decode_type,
    is_static_word,
    raw_hex,
    storable,
    undecodable_args,
    word_parser,
)

ZERO_ADDRESS = "0x" + "0" * 40
log_ = logging.getLogger("indexer.decode")


def _canonical_type(param: dict[str, Any]) -> str:
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


def event_signature(event_abi: dict[str, Any]) -> str:
    return f"{event_abi['name']}({','.join(_canonical_type(p) for p in event_abi['inputs'])})"


def _json_slot(kind: str) -> str:
    """printf-style slot of a value in the event's JSON text."""
    if kind.startswith(("uint", "int")):
        return "%d"
    if kind == "bool":
        return "%s"  # filled with "true"/"false"
    return '"%s"'


class EventDecoder:
    """Decodes one event's topics and data; static fields are sliced, the rest goes through eth-abi
    and :func:`indexer.codec.storable` (the one storable-value rule)."""

    def __init__(
        self,
        contract: str,
        event: str,
        indexed: tuple[tuple[str, str], ...],
        data_params: tuple[dict[str, Any], ...],
    ) -> None:
        self.contract = contract
        self.event = event
        self.indexed = indexed  # (name, type) in topic order
        self.data_params = data_params
        self.data_names = tuple(p["name"] for p in data_params)
        self.data_types = tuple(_canonical_type(p) for p in data_params)
        self.n_topics = len(indexed) + 1
        self.topic_parsers = [(name, word_parser(kind)) for name, kind in indexed]
        self.sliceable = all(is_static_word(kind) for kind in self.data_types)
        self.data_parsers = [
            (name, word_parser(kind), 2 + 64 * i)
            for i, (name, kind) in enumerate(zip(self.data_names, self.data_types, strict=True))
        ]
        self.min_data = 2 + 64 * len(self.data_types)
        self.decode_types = [decode_type(kind) for kind in self.data_types]
        self.top_strings = [p["type"] == "string" for p in data_params]
        fields = [*indexed, *zip(self.data_names, self.data_types, strict=True)]
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
        values = abi_decode(self.decode_types, bytes.fromhex(data[2:]))
        raw: dict[str, str] = {}
        for name, param, value, top_string in zip(
            self.data_names, self.data_params, values, self.top_strings, strict=True
        ):
            altered = Altered()
            args[name] = storable(param, value, altered)
            if altered.any:  # the original bytes stay recoverable: the value's, or (nested) the whole data
                raw[name if top_string else "data"] = raw_hex(value) if top_string else data.lower()
        if raw:
            args["_raw"] = raw
        return args

    def to_json(self, args: dict[str, Any]) -> RawJson:
        if not self.sliceable:
            return RawJson(json.dumps(args, separators=(",", ":")))  # ASCII-only: every string escaped
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


def stored_logs(rows: Iterable[Mapping[str, Any]]) -> list[DecodedLog]:
    """Decoded logs as ``chain_events`` keeps them (replays and rollbacks read them back)."""
    return [
        DecodedLog(
            r["block_number"],
            r["block_hash"],
            r["tx_hash"],
            r["log_index"],
            r["address"],
            r["contract"],
            r["event"],
            r["args"],
        )
        for r in rows
    ]


class LogDecoder:
    """Decodes raw ``eth_getLogs`` items of the manifest's contracts."""

    def __init__(self, manifest: Manifest) -> None:
        self._by_address: dict[str, dict[str, EventDecoder]] = {}
        self._names = {c.address: name for name, c in manifest.contracts.items()}
        for name, contract in manifest.contracts.items():
            table: dict[str, EventDecoder] = {}
            for item in contract.abi:
                if item.get("type") != "event" or item.get("anonymous"):
                    continue
                topic0 = "0x" + keccak(text=event_signature(item)).hex()
                indexed = tuple((p["name"], _canonical_type(p)) for p in item["inputs"] if p.get("indexed"))
                plain = tuple(p for p in item["inputs"] if not p.get("indexed"))
                table[topic0] = EventDecoder(name, item["name"], indexed, plain)
            self._by_address[contract.address] = table

    def decode(self, log: dict[str, Any]) -> DecodedLog | None:
        """The decoded log; its raw form (event :data:`UNDECODABLE`) when a manifest contract's log
        cannot be decoded (never skipped); None for a log of another address."""
        address = log["address"].lower()
        events = self._by_address.get(address)
        if events is None:
            return None
        topics = log["topics"]
        decoder = events.get(topics[0].lower()) if topics else None
        try:
            if decoder is None:
                raise ValueError("no event of the ABI has this topic0")
            args = decoder.decode(topics, log["data"])
        except Exception as exc:  # noqa: BLE001 (no log content may stop the indexer: any failure is stored raw)
            # E.g. another event with the same signature but other indexed flags: stored raw,
            # counted (when written) and logged; it never stops the indexer.
            contract = decoder.contract if decoder else self._names[address]
            event = decoder.event if decoder else None
            log_.warning("cannot decode %s.%s in tx %s: %s", contract, event, log.get("transactionHash"), exc)
            args = undecodable_args(event, topics, log["data"], exc)
            event, args_json = UNDECODABLE, RawJson(json.dumps(args))
        else:
            contract, event, args_json = decoder.contract, decoder.event, decoder.to_json(args)
        return DecodedLog(
            int(log["blockNumber"], 16),
            log["blockHash"].lower(),
            log["transactionHash"].lower(),
            int(log["logIndex"], 16),
            address,
            contract,
            event,
            args,
            args_json,
        )
