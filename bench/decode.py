"""Log decoding throughput: web3's contract events (baseline) vs the indexer's LogDecoder.

``python -m bench.decode [N] [transfer|auction]`` builds N raw ``eth_getLogs``-shaped logs in
memory, Coin ``Transfer`` (static fields: sliced) or MeetingAuction ``AuctionCreated`` (a string:
eth-abi and the storable-value rule), and decodes them both ways, best of 3 runs each.
``python -m bench.decode N KIND cpu`` times the indexer's decoder alone on CPU time, best of 9
(steadier on a shared machine: compare two trees with ``PYTHONPATH=<tree>``, interleaved).
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


def make_logs(n: int, kind: str = "transfer") -> list[dict[str, Any]]:
    signature = "AuctionCreated(uint256,address,uint256,uint256,uint256,string)"
    topic0 = "0x" + keccak(text="Transfer(address,address,uint256)" if kind == "transfer" else signature).hex()
    block_hash = "0x" + secrets.token_hex(32)
    logs = []
    for i in range(n):
        if kind == "transfer":
            data = encode(["uint256"], [secrets.randbelow(10**24)])
            second = "0x" + "00" * 12 + secrets.token_hex(20)
        else:
            data = encode(["uint256", "uint256", "uint256", "string"], [10**18, 2**31, 250, f"meeting #{i}: ünï"])
            second = "0x" + i.to_bytes(32).hex()
        logs.append(
            {
                "address": ADDRESS,
                "topics": [topic0, second, "0x" + "00" * 12 + secrets.token_hex(20)],
                "data": "0x" + data.hex(),
                "blockNumber": hex(100 + i // 50),
                "blockHash": block_hash,
                "transactionHash": "0x" + secrets.token_hex(32),
                "transactionIndex": "0x0",
                "logIndex": hex(i % 50),
                "removed": False,
            }
        )
    return logs


def best_of(runs: int, fn: Any, clock: Any = time.perf_counter) -> float:
    best = float("inf")
    for _ in range(runs):
        started = clock()
        fn()
        best = min(best, clock() - started)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    kind = sys.argv[2] if len(sys.argv) > 2 else "transfer"
    contract = "Coin" if kind == "transfer" else "MeetingAuction"
    abi = load_artifact(contract)["abi"]
    manifest = Manifest(
        chain_id=31337,
        genesis_hash="0x" + "00" * 32,
        deploy_block=1,
        contracts={contract: DeployedContract(address=ADDRESS, abi=abi, deploy_block=1)},
    )
    logs = make_logs(n, kind)
    decoder = LogDecoder(manifest)
    events = Web3().eth.contract(address=Web3.to_checksum_address(ADDRESS), abi=abi).events
    event = events.Transfer() if kind == "transfer" else events.AuctionCreated()
    web3_logs = [
        {**log, "blockNumber": int(log["blockNumber"], 16), "logIndex": int(log["logIndex"], 16),
         "transactionIndex": 0, "topics": [bytes.fromhex(t[2:]) for t in log["topics"]],
         "data": bytes.fromhex(log["data"][2:])}
        for log in logs
    ]  # fmt: skip
    if len(sys.argv) > 3 and sys.argv[3] == "cpu":
        cpu = best_of(9, lambda: [decoder.decode(log) for log in logs], time.process_time)
        print(f"indexer decoder ({kind}, CPU time, best of 9): {n / cpu:,.0f} logs/s")
        return
    ours = best_of(3, lambda: [decoder.decode(log) for log in logs])
    baseline = best_of(3, lambda: [event.process_log(log) for log in web3_logs])
    sample = decoder.decode(logs[0])
    assert sample is not None
    if kind == "transfer":
        assert sample.args["value"] == int(logs[0]["data"], 16)
    else:
        assert sample.args["metadata"] == "meeting #0: ünï"
    print(f"logs: {n} {kind}")
    print(f"web3 process_log : {n / baseline:>10,.0f} logs/s")
    print(f"indexer decoder  : {n / ours:>10,.0f} logs/s")
    print(f"speed-up         : {baseline / ours:>10.1f}x")


if __name__ == "__main__":
    main()
