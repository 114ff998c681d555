"""The one storable-value rule (indexer.codec), through both decoders: the manifest's and the configured contracts'."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from core.chain.manifest import DeployedContract, Manifest
from indexer.codec import Altered, storable, storable_text
from indexer.custom.abi import EventTable
from indexer.decode import LogDecoder

ADDRESS = "0x" + "34" * 20
EVENT = {
    "type": "event",
    "name": "Noted",
    "anonymous": False,
    "inputs": [
        {"name": "id", "type": "uint256", "indexed": True},
        {"name": "text", "type": "string", "indexed": False},
        {"name": "blob", "type": "bytes", "indexed": False},
        {"name": "tags", "type": "string[]", "indexed": False},
    ],
}
TOPIC0 = "0x" + keccak(text="Noted(uint256,string,bytes,string[])").hex()

# (raw bytes, stored text, altered)
CASES = [
    (b"plain text", "plain text", False),
    (b"", "", False),
    ("ünïcödé ✓".encode(), "ünïcödé ✓", False),
    (b"meet\x00ing", "meet\ufffding", True),
    (b"\x00", "\ufffd", True),
    (b"caf\xe9", "caf\ufffd", True),  # latin-1, not UTF-8
    (b"\xff\xfe\x00", "\ufffd\ufffd\ufffd", True),
    (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd", True),  # an encoded surrogate (never valid UTF-8)
    (b"x" * 100_000, "x" * 100_000, False),
]


@pytest.mark.parametrize(("raw", "text", "altered"), CASES)
def test_storable_text(raw: bytes, text: str, altered: bool) -> None:
    assert storable_text(raw) == (text, altered)
    assert "\x00" not in text  # text and jsonb refuse NUL
    text.encode("utf-8")  # always valid UTF-8 (no lone surrogates)


def _log(data: bytes) -> dict[str, Any]:
    return {"address": ADDRESS, "topics": [TOPIC0, "0x" + (9).to_bytes(32).hex()], "data": "0x" + data.hex(),
            "blockNumber": "0x5", "blockHash": "0x" + "ab" * 32, "transactionHash": "0x" + "cd" * 32,
            "logIndex": "0x0"}  # fmt: skip


def _manifest_decoder() -> LogDecoder:
    contract = DeployedContract(address=ADDRESS, abi=[EVENT], deploy_block=1)
    return LogDecoder(Manifest(chain_id=1, genesis_hash="0x00", deploy_block=1, contracts={"Notes": contract}))


@pytest.mark.parametrize(("raw", "text", "altered"), CASES)
def test_both_decoders_store_the_same_text_and_the_manifest_keeps_the_bytes(
    raw: bytes, text: str, altered: bool
) -> None:
    data = encode(["bytes", "bytes", "bytes[]"], [raw, raw, [b"ok"]])  # strings encode as bytes do
    decoded = _manifest_decoder().decode(_log(data))
    assert decoded is not None and decoded.event == "Noted"
    assert decoded.args["text"] == text and decoded.args["blob"] == "0x" + raw.hex() and decoded.args["tags"] == ["ok"]
    assert decoded.args.get("_raw") == ({"text": "0x" + raw.hex()} if altered else None)
    args_json = decoded.args_json or ""
    assert "\\u0000" not in args_json and json.loads(args_json) == decoded.args  # jsonb accepts this text
    row = EventTable("notes", EVENT).decode(_log(data)["topics"], _log(data)["data"])
    assert row == [9, text, "0x" + raw.hex(), ["ok"]]


def test_a_nested_altered_string_keeps_the_whole_data() -> None:
    data = encode(["bytes", "bytes", "bytes[]"], [b"fine", b"", [b"a\x00", b"\xc3"]])
    decoded = _manifest_decoder().decode(_log(data))
    assert decoded is not None
    assert decoded.args["tags"] == ["a\ufffd", "\ufffd"] and decoded.args["text"] == "fine"
    assert decoded.args["_raw"] == {"data": "0x" + data.hex()}


def test_integers_and_tuples() -> None:
    param = {"type": "tuple[]", "components": [{"name": "n", "type": "int256"}, {"name": "s", "type": "string"}]}
    altered = Altered()
    value = [(-(2**255), b"\x00"), (2**255 - 1, b"")]
    assert storable(param, value, altered, ints_as_text=True) == [
        {"n": str(-(2**255)), "s": "\ufffd"},
        {"n": str(2**255 - 1), "s": ""},
    ]
    assert altered.any
    assert storable({"type": "uint256"}, 2**256 - 1, Altered(), ints_as_text=True) == 2**256 - 1  # a numeric column
