"""The indexer's decoders agree with eth-abi on every kind of field, sliced or not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from core.chain.manifest import DeployedContract, Manifest
from indexer.codec import UNDECODABLE
from indexer.decode import LogDecoder, event_signature

ADDRESS = "0x" + "12" * 20
STATIC_EVENT = {
    "type": "event",
    "name": "Mixed",
    "anonymous": False,
    "inputs": [
        {"name": "who", "type": "address", "indexed": True},
        {"name": "delta", "type": "int256", "indexed": True},
        {"name": "amount", "type": "uint256", "indexed": False},
        {"name": "small", "type": "int8", "indexed": False},
        {"name": "flag", "type": "bool", "indexed": False},
        {"name": "ref", "type": "bytes32", "indexed": False},
        {"name": "tag", "type": "bytes4", "indexed": False},
        {"name": "peer", "type": "address", "indexed": False},
    ],
}
DYNAMIC_EVENT = {
    "type": "event",
    "name": "Named",
    "anonymous": False,
    "inputs": [
        {"name": "id", "type": "uint256", "indexed": True},
        {"name": "label", "type": "string", "indexed": False},
        {"name": "values", "type": "uint256[]", "indexed": False},
    ],
}


def _decoder() -> LogDecoder:
    contract = DeployedContract(address=ADDRESS, abi=[STATIC_EVENT, DYNAMIC_EVENT], deploy_block=1)
    return LogDecoder(Manifest(chain_id=1, genesis_hash="0x00", deploy_block=1, contracts={"Thing": contract}))


def _log(event: dict[str, Any], topics: list[str], data: bytes) -> dict[str, Any]:
    topic0 = "0x" + keccak(text=event_signature(event)).hex()
    return {
        "address": ADDRESS.upper().replace("0X", "0x"),
        "topics": [topic0, *topics],
        "data": "0x" + data.hex(),
        "blockNumber": "0x10",
        "blockHash": "0x" + "ab" * 32,
        "transactionHash": "0x" + "cd" * 32,
        "logIndex": "0x2",
    }


@pytest.mark.parametrize("small", [-128, -1, 0, 127])
def test_sliced_static_fields_match_eth_abi(small: int) -> None:
    who, peer = "0x" + "aa" * 20, "0x" + "bb" * 20
    data = encode(
        ["uint256", "int8", "bool", "bytes32", "bytes4", "address"],
        [2**256 - 1, small, True, b"\x01" * 32, b"\xde\xad\xbe\xef", peer],
    )
    delta_topic = "0x" + (-5 % 2**256).to_bytes(32, "big").hex()
    decoded = _decoder().decode(_log(STATIC_EVENT, ["0x" + "00" * 12 + who[2:], delta_topic], data))
    assert decoded is not None
    assert decoded.event == "Mixed" and decoded.contract == "Thing" and decoded.address == ADDRESS
    assert decoded.args == {
        "who": who,
        "delta": -5,
        "amount": 2**256 - 1,
        "small": small,
        "flag": True,
        "ref": "0x" + "01" * 32,
        "tag": "0xdeadbeef",
        "peer": peer,
    }
    assert (decoded.block_number, decoded.log_index) == (16, 2)
    assert json.loads(decoded.args_json) == decoded.args  # the precompiled JSON text says the same


def test_dynamic_fields_fall_back_to_eth_abi() -> None:
    data = encode(["string", "uint256[]"], ["héllo", [1, 2, 3]])
    decoded = _decoder().decode(_log(DYNAMIC_EVENT, ["0x" + (7).to_bytes(32, "big").hex()], data))
    assert decoded is not None
    assert decoded.args == {"id": 7, "label": "héllo", "values": [1, 2, 3]}
    assert json.loads(decoded.args_json) == decoded.args


def test_other_addresses_are_ignored_and_malformed_logs_come_out_raw() -> None:
    decoder = _decoder()
    assert decoder.decode({**_log(STATIC_EVENT, [], b""), "address": "0x" + "99" * 20}) is None
    malformed = [
        _log(STATIC_EVENT, ["0x" + "00" * 32], b""),  # wrong topic count
        _log(STATIC_EVENT, ["0x" + "00" * 32, "0x" + "00" * 32], b"\x00" * 32),  # data too short
        _log(DYNAMIC_EVENT, ["0x" + "00" * 32], b"\x00" * 7),  # bad dynamic data
        {**_log(STATIC_EVENT, [], b"\x01"), "topics": ["0x" + "ab" * 32]},  # no such event in the ABI
        {**_log(STATIC_EVENT, [], b"\x01"), "topics": []},  # an anonymous log
    ]
    for item in malformed:
        decoded = decoder.decode(item)
        assert decoded is not None and decoded.event == UNDECODABLE and decoded.contract == "Thing"
        assert decoded.args["topics"] == item["topics"] and decoded.args["data"] == item["data"]
        assert decoded.args["error"] and json.loads(decoded.args_json or "") == decoded.args
    assert [decoder.decode(item).args["event"] for item in malformed] == ["Mixed", "Mixed", "Named", None, None]  # type: ignore[union-attr]
