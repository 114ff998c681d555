"""Log decoding throughput: web3's contract events (baseline) vs the indexer's LogDecoder.

``python -m bench.decode [N]`` builds N raw ``eth_getLogs``-shaped Transfer logs of the Coin
contract in memory and decodes them both ways, best of 3 runs each.
"""

from __future__ import annotations

import secrets
import sys
import time
from typing import Any

from eth_abi import encode
from eth_utils import keccak
from web3 import Web3

from core.chain.manifest import DeployedContract, Manifest, load_artifact
from indexer.decode import LogDecoder

ADDRESS = "0x5fbdb2315678afecb367f032d93f642f64180aa3"


def make_logs(n: int) -> list[dict[str, Any]]:
    topic0 = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
    block_hash = "0x" + secrets.token_hex(32)
    logs = []
    for i in range(n):
        logs.append(
            {
                "address": ADDRESS,
                "topics": [topic0, "0x" + "00" * 12 + secrets.token_hex(20), "0x" + "00" * 12 + secrets.token_hex(20)],
                "data": "0x" + encode(["uint256"], [secrets.randbelow(10**24)]).hex(),
                "blockNumber": hex(100 + i // 50),
                "blockHash": block_hash,
                "transactionHash": "0x" + secrets.token_hex(32),
                "transactionIndex": "0x0",
                "logIndex": hex(i % 50),
                "removed": False,
            }
        )
    return logs


def best_of(runs: int, fn: Any) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    abi = load_artifact("Coin")["abi"]
    manifest = Manifest(
        chain_id=31337,
        genesis_hash="0x" + "00" * 32,
        deploy_block=1,
        contracts={"Coin": DeployedContract(address=ADDRESS, abi=abi, deploy_block=1)},
    )
    logs = make_logs(n)
    decoder = LogDecoder(manifest)
    event = Web3().eth.contract(address=Web3.to_checksum_address(ADDRESS), abi=abi).events.Transfer()
    web3_logs = [
        {**log, "blockNumber": int(log["blockNumber"], 16), "logIndex": int(log["logIndex"], 16),
         "transactionIndex": 0, "topics": [bytes.fromhex(t[2:]) for t in log["topics"]],
         "data": bytes.fromhex(log["data"][2:])}
        for log in logs
    ]  # fmt: skip
    ours = best_of(3, lambda: [decoder.decode(log) for log in logs])
    baseline = best_of(3, lambda: [event.process_log(log) for log in web3_logs])
    sample = decoder.decode(logs[0])
    assert sample is not None and sample.args["value"] == int(logs[0]["data"], 16)
    print(f"logs: {n}")
    print(f"web3 process_log : {n / baseline:>10,.0f} logs/s")
    print(f"indexer decoder  : {n / ours:>10,.0f} logs/s")
    print(f"speed-up         : {baseline / ours:>10.1f}x")


if __name__ == "__main__":
    main()
