"""Contracts indexed by configuration, against real anvil and Postgres: typed tables from the
ABI, reorg rollback and re-apply, restarts without duplicates, factory children."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from eth_abi import encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, keccak

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.custom.sources import Child
from tests.integration.custom_chain import custom_indexer, deploy, send, write_config
from tests.integration.helpers import DEPLOYER, make_indexer, sync

TRANSFER = "transfer(address,address,uint256)"
CREATE_AND_TRANSFER = "create_and_transfer(address,uint256)"
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


def _chain_transfers(url: str, addresses: list[str]) -> list[tuple[int, int, str, str, int]]:
    """The chain's own Transfer logs of ``addresses``: (block, log index, sender, receiver, value)."""
    logs: Any = rpc(url, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": addresses,
                                          "topics": [TRANSFER_TOPIC]}])  # fmt: skip
    return [
        (int(g["blockNumber"], 16), int(g["logIndex"], 16), "0x" + g["topics"][1][-40:], "0x" + g["topics"][2][-40:],
         int(g["data"], 16))
        for g in logs
    ]  # fmt: skip


async def _indexed_transfers(pool: asyncpg.Pool, table: str) -> list[tuple[int, int, str, str, int]]:
    rows = await pool.fetch(
        f'SELECT block_number, log_index, sender, receiver, value FROM custom_events."{table}" ORDER BY 1, 2'
    )
    return [(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


async def test_a_configured_contract_lands_in_typed_tables(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    config = write_config(tmp_path, [{"name": "probe", "abi": "Probe", "address": probe, "start_block": block}])
    a, b = Account.create().address.lower(), Account.create().address.lower()
    send(chain, probe, TRANSFER, ["address", "address", "uint256"], [a, b, 7])
    send(chain, probe, TRANSFER, ["address", "address", "uint256"], [b, a, 2**256 - 1])
    # A string argument holding a NUL and invalid UTF-8 (ABI-encoded like bytes): kept, made storable.
    args = encode(
        ["string", "bytes", "uint256[]", "int8", "bytes"], ["tag-1", b"n\x00o\xfft", [1, 2**200], -3, b"\x01\x02"]
    )
    data = "0x" + (function_signature_to_4byte_selector("kitchen(string,string,uint256[],int8,bytes)") + args).hex()
    tx = rpc(chain, "eth_sendTransaction", [{"from": DEPLOYER, "to": probe, "data": data}])
    async with RpcClient([chain]) as client:
        await sync(custom_indexer(manifest, pool, client, config))

    assert await _indexed_transfers(pool, "probe__transfer") == _chain_transfers(chain, [probe])
    types = dict(
        await pool.fetch(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'custom_events' AND table_name = 'probe__kitchen'"
        )
    )
    assert types == {
        "chain_id": "bigint", "block_number": "bigint", "log_index": "integer", "tx_hash": "text", "address": "text",
        "block_time": "timestamp with time zone",
        "tag": "text", "who": "text", "flag": "boolean", "small": "numeric", "sel": "text", "blob": "text",
        "note": "text", "nums": "jsonb", "point": "jsonb",
    }  # fmt: skip
    kitchen = await pool.fetchrow('SELECT * FROM custom_events."probe__kitchen"')
    assert kitchen["tag"] == "0x" + keccak(text="tag-1").hex()  # an indexed string is only its hash
    assert kitchen["who"] == DEPLOYER.lower() and kitchen["flag"] is True and int(kitchen["small"]) == -3
    assert kitchen["sel"] == "0xdeadbeef" and kitchen["blob"] == "0x0102"
    assert kitchen["note"] == "n\ufffdo\ufffdt"
    assert kitchen["nums"] == ["1", str(2**200)] and kitchen["point"] == {"x": "-5", "label": "p"}
    assert kitchen["tx_hash"] == str(tx).lower() and kitchen["address"] == probe
    registry = await pool.fetch("SELECT contract, event, table_name FROM custom_event_tables ORDER BY 3")
    assert [tuple(r) for r in registry] == [
        ("probe", "Kitchen", "probe__kitchen"),
        ("probe", "Transfer", "probe__transfer"),
    ]
    # Our own contracts are still indexed alongside.
    assert await pool.fetchval("SELECT count(*) FROM chain_events") > 0


async def test_reorgs_roll_configured_rows_back_and_restarts_add_no_duplicates(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    config = write_config(tmp_path, [{"name": "probe", "abi": "Probe", "address": probe, "start_block": block}])
    fans = [Account.create().address.lower() for _ in range(4)]
    for i, fan in enumerate(fans[:3]):
        send(chain, probe, TRANSFER, ["address", "address", "uint256"], [DEPLOYER, fan, i + 1])
    async with RpcClient([chain]) as client:
        indexer = custom_indexer(manifest, pool, client, config, max_block_range=2)
        await sync(indexer)
        assert len(await _indexed_transfers(pool, "probe__transfer")) == 3
        # Replace the last 2 blocks: one transfer dropped, another changed, and one added.
        data = (
            "0x"
            + (
                function_signature_to_4byte_selector(TRANSFER)
                + encode(["address", "address", "uint256"], [DEPLOYER, fans[3], 9])
            ).hex()
        )
        call = {"from": DEPLOYER, "to": probe, "data": data}
        rpc(chain, "anvil_reorg", [2, [[call, 0], [call, 1]]])
        await sync(indexer)
        chain_rows = _chain_transfers(chain, [probe])
        assert await _indexed_transfers(pool, "probe__transfer") == chain_rows
        assert [r[3] for r in chain_rows] == [fans[0], fans[3], fans[3]]
        # More blocks, then a new process on the same database: it resumes, nothing twice.
        send(chain, probe, TRANSFER, ["address", "address", "uint256"], [DEPLOYER, fans[1], 5])
        await sync(custom_indexer(manifest, pool, client, config))
        await sync(custom_indexer(manifest, pool, client, config))
    assert await _indexed_transfers(pool, "probe__transfer") == _chain_transfers(chain, [probe])
    assert len(_chain_transfers(chain, [probe])) == 4


async def test_factory_children_are_discovered_and_rolled_back(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    implementation, _ = deploy(chain, "Probe")
    factory, block = deploy(chain, "ProbeFactory", implementation, types=("address",))
    config = write_config(
        tmp_path,
        [
            {"name": "factory", "abi": "ProbeFactory", "address": factory, "start_block": block},
            {"name": "child", "abi": "Probe", "start_block": block, "events": ["Transfer"],
             "factory": {"contract": "factory", "event": "Created", "argument": "child"}},
        ],
    )  # fmt: skip
    fan = Account.create().address.lower()
    created = send(chain, factory, "create()", [], [])
    first = "0x" + created["logs"][0]["topics"][1][-40:]
    send(chain, first, TRANSFER, ["address", "address", "uint256"], [DEPLOYER, fan, 3])
    async with RpcClient([chain]) as client:
        # One range covers the creation and the child's logs: the child is fetched in the same batch.
        indexer = custom_indexer(manifest, pool, client, config)
        await sync(indexer)
        assert [r[2] for r in await _indexed_transfers(pool, "child__transfer")] == [DEPLOYER.lower()]
        both = send(chain, factory, "create_and_transfer(address,uint256)", ["address", "uint256"], [fan, 4])
        second = "0x" + both["logs"][0]["topics"][1][-40:]
        await sync(indexer)
        assert await _indexed_transfers(pool, "child__transfer") == _chain_transfers(chain, [first, second])
        children = await pool.fetch("SELECT address, contract, factory FROM custom_children ORDER BY block_number")
        assert [tuple(r) for r in children] == [(first, "child", factory), (second, "child", factory)]
        assert await pool.fetchval('SELECT count(*) FROM custom_events."factory__created"') == 2

        rpc(chain, "anvil_reorg", [1, []])  # the second child's block is gone
        await sync(indexer)
        assert await _indexed_transfers(pool, "child__transfer") == _chain_transfers(chain, [first])
        assert await pool.fetchval("SELECT count(*) FROM custom_children") == 1
        assert second not in indexer.addresses
        # A fresh process learns the children from the database.
        again = custom_indexer(manifest, pool, client, config)
        await again.prepare()
        assert first in again.addresses


async def test_a_contract_added_later_gets_its_history_built_beside(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    for amount in (1, 2):
        send(chain, probe, TRANSFER, ["address", "address", "uint256"], [DEPLOYER, DEPLOYER, amount])
    async with RpcClient([chain]) as client:
        await sync(make_indexer(manifest, pool, client))  # no configuration yet: the checkpoint moves past them
        checkpoint = await pool.fetchval("SELECT block_number FROM indexer_checkpoints")
        send(chain, probe, TRANSFER, ["address", "address", "uint256"], [DEPLOYER, DEPLOYER, 3])
        config = write_config(tmp_path, [{"name": "probe", "abi": "Probe", "address": probe, "start_block": block}])
        indexer = custom_indexer(manifest, pool, client, config)
        await sync(indexer)  # its history is built beside (test_custom_new_contract.py): not served yet
        assert await pool.fetchval("SELECT to_regclass('custom_events.probe__transfer')") is None
        assert checkpoint >= block and await pool.fetchval("SELECT count(*) FROM custom_event_tables") == 0
        task = indexer.rebuild_pending()
        assert task is not None and sorted(await task) == ["probe__kitchen", "probe__transfer"]
        assert await _indexed_transfers(pool, "probe__transfer") == _chain_transfers(chain, [probe])
        progress = await pool.fetchrow("SELECT target, done FROM custom_contract_progress WHERE contract = 'probe'")
        assert tuple(progress) == (-1, -1)  # nothing for the old catch-up to do
        again = custom_indexer(manifest, pool, client, config)
        await sync(again)  # a restart does not rebuild twice
        assert again.store.custom is not None and again.store.custom.pending == {}
    assert [r[4] for r in await _indexed_transfers(pool, "probe__transfer")] == [1, 2, 3]


async def test_a_factory_and_its_children_added_later(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The factory and its children (known only from its history) are built beside and swapped in together;
    a child created after the configuration, before the swap, is followed by the live path: once each."""
    implementation, _ = deploy(chain, "Probe")
    factory, block = deploy(chain, "ProbeFactory", implementation, types=("address",))
    children = []
    for amount in (1, 2):
        receipt = send(chain, factory, CREATE_AND_TRANSFER, ["address", "uint256"], [DEPLOYER, amount])
        children.append("0x" + receipt["logs"][0]["topics"][1][-40:])
    config = write_config(
        tmp_path,
        [
            {"name": "factory", "abi": "ProbeFactory", "address": factory, "start_block": block},
            {"name": "child", "abi": "Probe", "start_block": block, "events": ["Transfer"],
             "factory": {"contract": "factory", "event": "Created", "argument": "child"}},
        ],
    )  # fmt: skip
    async with RpcClient([chain]) as client:
        await sync(make_indexer(manifest, pool, client))
        indexer = custom_indexer(manifest, pool, client, config)
        await sync(indexer)
        custom = indexer.store.custom
        assert custom is not None and sorted(custom.pending) == ["child__transfer", "factory__created"]
        progress = {
            r[0]: (r[1], r[2]) for r in await pool.fetch("SELECT contract, target, done FROM custom_contract_progress")
        }
        assert progress == {"child": (-1, -1), "factory": (-1, -1)}  # nothing for the old catch-up to do
        assert await pool.fetchval("SELECT count(*) FROM custom_event_tables") == 0  # not served yet
        receipt = send(chain, factory, CREATE_AND_TRANSFER, ["address", "uint256"], [DEPLOYER, 3])
        children.append("0x" + receipt["logs"][0]["topics"][1][-40:])
        await sync(indexer)  # the live path: the third child found, its raw log kept
        task = indexer.rebuild_pending()
        assert task is not None and sorted(await task) == ["child__transfer", "factory__created"]
        send(chain, children[0], TRANSFER, ["address", "address", "uint256"], [DEPLOYER, DEPLOYER, 4])
        await sync(indexer)  # after the swap: the live path writes the children's table
    assert await pool.fetchval('SELECT count(*) FROM custom_events."factory__created"') == 3
    transfers = await _indexed_transfers(pool, "child__transfer")
    assert transfers == _chain_transfers(chain, children) and [t[4] for t in transfers] == [1, 2, 3, 4]
    assert sorted(r[0] for r in await pool.fetch("SELECT address FROM custom_children")) == sorted(children)
    # The children's past came with the factory's history (custom_history_progress), not the old catch-up.
    assert await pool.fetchval("SELECT count(*) FROM custom_history_progress WHERE contract = 'child'") == 1


async def test_a_batch_read_before_children_are_handed_over_is_read_again(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """A history build hands a child to the live indexer (``CustomSources.follow``) while a range is read
    without it: that batch is refused (``Writer.apply`` False) and read again with the child's logs."""
    implementation, _ = deploy(chain, "Probe")
    factory, block = deploy(chain, "ProbeFactory", implementation, types=("address",))
    config = write_config(
        tmp_path,
        [
            {"name": "factory", "abi": "ProbeFactory", "address": factory, "start_block": block},
            {"name": "child", "abi": "Probe", "start_block": block, "events": ["Transfer"],
             "factory": {"contract": "factory", "event": "Created", "argument": "child"}},
        ],
    )  # fmt: skip
    created = send(chain, factory, "create()", [], [])
    child = "0x" + created["logs"][0]["topics"][1][-40:]
    async with RpcClient([chain]) as client:
        indexer = custom_indexer(manifest, pool, client, config)
        await sync(indexer)
        custom = indexer.store.custom
        assert custom is not None and child in indexer.addresses
        custom.sources.forget_children()  # as if the child were known only to a history build
        send(chain, child, TRANSFER, ["address", "address", "uint256"], [DEPLOYER, DEPLOYER, 5])
        checkpoint = await indexer.writer.checkpoint()
        head = await client.block_number()
        batch = await indexer.reader.read(checkpoint.number + 1, head)
        assert batch is not None and batch.custom is not None and not batch.custom.rows.get("child__transfer")
        rows = await pool.fetch("SELECT contract, address, factory, block_number, log_index FROM custom_children")
        custom.sources.follow(Child(*r) for r in rows)  # handed over while the batch was in flight
        assert not await indexer.writer.apply(batch, checkpoint.hash, head)
        assert await pool.fetchval("SELECT block_number FROM indexer_checkpoints") == checkpoint.number
        await sync(indexer)  # read again, with the child
    assert [r[4] for r in await _indexed_transfers(pool, "child__transfer")] == [5]


async def test_the_fetch_worker_process_writes_the_same_rows(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    implementation, _ = deploy(chain, "Probe")
    factory, block = deploy(chain, "ProbeFactory", implementation, types=("address",))
    config = write_config(
        tmp_path,
        [
            {"name": "factory", "abi": "ProbeFactory", "address": factory, "start_block": block},
            {"name": "child", "abi": "Probe", "start_block": block, "events": ["Transfer"],
             "factory": {"contract": "factory", "event": "Created", "argument": "child"}},
        ],
    )  # fmt: skip
    children = []
    for amount in range(1, 6):
        receipt = send(
            chain, factory, "create_and_transfer(address,uint256)", ["address", "uint256"], [DEPLOYER, amount]
        )
        children.append("0x" + receipt["logs"][0]["topics"][1][-40:])
    async with RpcClient([chain]) as client:
        # Small ranges: several batches cross the process boundary, children found in one feed the next.
        indexer = custom_indexer(manifest, pool, client, config, max_block_range=2)
        indexer.historical.fetch_worker, indexer.historical.worker_min_blocks = True, 0
        await sync(indexer)
    assert await _indexed_transfers(pool, "child__transfer") == _chain_transfers(chain, children)
    assert await pool.fetchval("SELECT count(*) FROM custom_children") == 5
    head = int(str(rpc(chain, "eth_blockNumber")), 16)
    assert await pool.fetchval("SELECT block_number FROM indexer_checkpoints") == head


async def test_rows_the_fetch_worker_encodes_equal_a_replay_of_the_raw_log(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The worker hands the configured tables over as COPY text (``CustomBatch.encoded``): every typed column
    (text with a tab, newline, backslash and quote, booleans, negative ints, jsonb arrays and objects) and the
    raw log arrive as the in-process path writes them (a replay of ``custom_logs``), the raw log as the chain's."""
    probe, block = deploy(chain, "Probe")
    config = write_config(tmp_path, [{"name": "probe", "abi": "Probe", "address": probe, "start_block": block}])
    a = Account.create().address.lower()
    for note in ["tab\there", "line\nbreak\r", "back\\slash \\N", 'quote" {brace,}', ""]:
        args = encode(
            ["string", "bytes", "uint256[]", "int8", "bytes"], ["t", note.encode(), [0, 2**256 - 1], -128, b""]
        )
        selector = function_signature_to_4byte_selector("kitchen(string,string,uint256[],int8,bytes)")
        rpc(chain, "eth_sendTransaction", [{"from": DEPLOYER, "to": probe, "data": "0x" + (selector + args).hex()}])
        send(chain, probe, TRANSFER, ["address", "address", "uint256"], [a, DEPLOYER, 2**255])
    tables = ("probe__kitchen", "probe__transfer")

    async def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        return {
            t: [tuple(r) for r in await pool.fetch(f'SELECT * FROM custom_events."{t}" ORDER BY 2, 3')] for t in tables
        }

    async with RpcClient([chain]) as client:
        indexer = custom_indexer(manifest, pool, client, config, max_block_range=3)
        indexer.historical.fetch_worker, indexer.historical.worker_min_blocks = True, 0
        await sync(indexer)
        by_worker = await snapshot()
        assert len(by_worker["probe__kitchen"]) == 5 and len(by_worker["probe__transfer"]) == 5
        notes = [r["note"] for r in await pool.fetch('SELECT note FROM custom_events."probe__kitchen" ORDER BY 1')]
        assert notes == sorted(["tab\there", "line\nbreak\r", "back\\slash \\N", 'quote" {brace,}', ""])
        assert indexer.store.custom is not None
        async with pool.acquire() as conn, conn.transaction():
            assert await indexer.store.custom.replay(conn, 31337) == 10
    assert await snapshot() == by_worker
    logs: Any = rpc(chain, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": [probe]}])
    raw = await pool.fetch(
        "SELECT block_number, log_index, block_hash, tx_hash, topics, data FROM custom_logs ORDER BY 1, 2"
    )
    assert [tuple(r) for r in raw] == [
        (
            int(g["blockNumber"], 16),
            int(g["logIndex"], 16),
            g["blockHash"],
            g["transactionHash"],
            g["topics"],
            g["data"],
        )
        for g in logs
    ]
