"""The indexer against real anvil and Postgres: projections, restarts, reorgs, chain resets."""

from __future__ import annotations

import asyncpg
from eth_account import Account
from prometheus_client import REGISTRY

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.projections import Projections
from indexer.ranges import Batch, RangeReader
from relayer.calls import encode_call
from tests.integration.helpers import DEPLOYER, balance_of, make_indexer, make_relayer, new_ref, relay_all, sync


async def _mint(
    manifest: Manifest, pool: asyncpg.Pool, client: RpcClient, key: str, grants: list[tuple[str, int]]
) -> None:
    relayer, store = make_relayer(manifest, pool, client, key)
    await relayer.prepare()
    for to, amount in grants:  # one at a time: a block per mint (the relayer sends what is queued in one batch)
        ref = new_ref()
        await store.enqueue("mint", f"mint:{ref}", {"to": to, "amount": amount, "payment_ref": ref})
        await relay_all(relayer, store)


async def _indexed_balance(pool: asyncpg.Pool, account: str) -> int:
    value = await pool.fetchval("SELECT balance FROM token_balances WHERE account = $1", account.lower())
    return int(value or 0)


async def test_balances_and_mints_match_the_chain_across_small_ranges(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fans = [Account.create().address for _ in range(3)]
    async with RpcClient([chain]) as client:
        await _mint(manifest, pool, client, relayer_key, [(fans[0], 5), (fans[1], 7), (fans[0], 11), (fans[2], 1)])
        # max_block_range=1 forces one batch per block: the checkpoint must chain them without gaps.
        await sync(make_indexer(manifest, pool, client, max_block_range=1), pipelined=False)
    token = manifest.contract("Coin").address
    for fan in fans:
        assert await _indexed_balance(pool, fan) == balance_of(chain, token, fan)
    assert await pool.fetchval("SELECT count(*) FROM token_mints") == 4
    assert await pool.fetchval("SELECT count(*) FROM chain_events WHERE event = 'Minted'") == 4
    head = int(str(rpc(chain, "eth_blockNumber")), 16)
    assert await pool.fetchval("SELECT block_number FROM indexer_checkpoints") == head


async def test_a_restarted_indexer_continues_without_duplicates(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address
    async with RpcClient([chain]) as client:
        await _mint(manifest, pool, client, relayer_key, [(fan, 3)])
        await sync(make_indexer(manifest, pool, client))
        await _mint(manifest, pool, client, relayer_key, [(fan, 4)])
        await sync(make_indexer(manifest, pool, client))  # a new process: resumes from the checkpoint
    assert await _indexed_balance(pool, fan) == 7
    assert await pool.fetchval("SELECT count(*) FROM chain_events WHERE event = 'Transfer'") == 2


async def test_a_reorg_rolls_back_raw_rows_and_projections(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    kept, dropped = Account.create().address, Account.create().address
    async with RpcClient([chain]) as client:
        await _mint(manifest, pool, client, relayer_key, [(kept, 10)])
        rpc(chain, "anvil_mine", ["0x3"])
        await _mint(manifest, pool, client, relayer_key, [(dropped, 20)])
        indexer = make_indexer(manifest, pool, client)
        await sync(indexer)
        assert await _indexed_balance(pool, dropped) == 20
        # Replace the last 2 blocks (the second mint's block and nothing else) with empty ones.
        rpc(chain, "anvil_reorg", [2, []])
        await sync(indexer)
        head = int(str(rpc(chain, "eth_blockNumber")), 16)
        head_hash = str(rpc(chain, "eth_getBlockByNumber", [hex(head), False])["hash"])  # type: ignore[index]
    token = manifest.contract("Coin").address
    assert balance_of(chain, token, dropped) == 0
    assert await _indexed_balance(pool, dropped) == 0
    assert await _indexed_balance(pool, kept) == 10
    assert await pool.fetchval("SELECT count(*) FROM token_mints") == 1
    assert await pool.fetchval("SELECT block_hash FROM indexer_checkpoints") == head_hash.lower()
    stale = await pool.fetchval(
        "SELECT count(*) FROM chain_events e LEFT JOIN indexed_blocks b ON b.number = e.block_number "
        "WHERE b.hash IS DISTINCT FROM e.block_hash"
    )
    assert stale == 0


async def test_a_reset_chain_drops_the_old_chains_rows(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address
    async with RpcClient([chain]) as client:
        await _mint(manifest, pool, client, relayer_key, [(fan, 9)])
        await sync(make_indexer(manifest, pool, client))
    await pool.execute("UPDATE chain_identity SET genesis_hash = '0xold' WHERE owner = 'indexer'")
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        await indexer.prepare()
        assert await pool.fetchval("SELECT count(*) FROM chain_events") == 0
        assert await _indexed_balance(pool, fan) == 0
        await sync(indexer)
    assert await _indexed_balance(pool, fan) == 9


async def _projection_dump(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    return {
        "balances": [tuple(r) for r in await pool.fetch("SELECT * FROM token_balances ORDER BY token, account")],
        "transfers": [tuple(r) for r in await pool.fetch("SELECT * FROM token_transfers ORDER BY 1, 2, 3")],
        "mints": [tuple(r) for r in await pool.fetch("SELECT * FROM token_mints ORDER BY payment_ref")],
    }


async def test_replay_rebuilds_identical_projections_and_verify_agrees(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    from indexer.store import QUERIES  # noqa: PLC0415
    from indexer.verify import verify  # noqa: PLC0415

    fans = [Account.create().address for _ in range(3)]
    async with RpcClient([chain]) as client:
        await _mint(manifest, pool, client, relayer_key, [(fans[0], 5), (fans[1], 6)])
        indexer = make_indexer(manifest, pool, client, max_block_range=2)
        await sync(indexer)
        # Replace the last block (fans[1]'s mint) with one minting to fans[2] instead: the live
        # projections go through a rollback and a re-apply.
        call = encode_call(manifest, "Coin", "mint", [fans[2], 7, bytes.fromhex(new_ref()[2:])])
        rpc(chain, "anvil_reorg", [1, [[{"from": DEPLOYER, "to": call.to, "data": call.data}, 0]]])
        await sync(indexer)
        assert await _indexed_balance(pool, fans[1]) == 0
        assert await _indexed_balance(pool, fans[2]) == 7
        live = await _projection_dump(pool)
        async with pool.acquire() as conn, conn.transaction():
            replayed = await indexer.store.projections.rebuild(conn, manifest.chain_id, chunk=2)
        assert replayed == await pool.fetchval("SELECT count(*) FROM chain_events")
        assert await _projection_dump(pool) == live

        report = await verify(pool, client, manifest, Projections.from_manifest(manifest, QUERIES))
        assert report.ok, report.mismatches
        # every balance + each ERC-20's total supply + each contract's raw event count
        assert report.checked == len(live["balances"]) + 2 + len(manifest.contracts)
        await pool.execute("UPDATE token_balances SET balance = balance + 1 WHERE account = $1", fans[2].lower())
        report = await verify(pool, client, manifest, Projections.from_manifest(manifest, QUERIES))
        assert len(report.mismatches) == 2  # the balance and the total supply


async def test_a_range_far_denser_than_target_logs_keeps_its_first_blocks(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fans = [Account.create().address for _ in range(4)]
    async with RpcClient([chain]) as client:
        await _mint(manifest, pool, client, relayer_key, [(fan, 2) for fan in fans])  # a block per mint
        head = int(str(rpc(chain, "eth_blockNumber")), 16)
        # target_logs=1: any answer of more than 2 logs is cut after the block holding the first log;
        # near_head=0: the backfill's path (one eth_getLogs over the range and its last header).
        indexer = make_indexer(manifest, pool, client, target_logs=1, near_head=0)
        start = manifest.deploy_block
        batch = await indexer.reader.read(start, head)
        assert batch is not None
        kept = {int(item["blockNumber"], 16) for item in batch.logs}
        assert batch.end < head and kept and max(kept) == batch.end and batch.end in batch.headers
        assert all(number <= batch.end for number in batch.headers)
        await sync(indexer)
    token = manifest.contract("Coin").address
    for fan in fans:
        assert await _indexed_balance(pool, fan) == balance_of(chain, token, fan) == 2
    assert await pool.fetchval("SELECT block_number FROM indexer_checkpoints") == head


async def test_reading_ahead_gives_the_batches_reading_in_turn_gives(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    """The backfill asks for the next range's logs while it decodes the current one: the batches are the
    same ranges with the same logs as reading one after another, and a read ahead no one takes (the next
    read starts elsewhere) is dropped, not used for the wrong range."""
    fans = [Account.create().address for _ in range(3)]
    async with RpcClient([chain]) as client:
        await _mint(manifest, pool, client, relayer_key, [(fan, 1) for fan in fans] * 2)
        head = int(str(rpc(chain, "eth_blockNumber")), 16)

        async def ranges(ahead: bool) -> list[tuple[int, int, list[tuple[str, str]]]]:
            reader = make_indexer(manifest, pool, client, max_block_range=2, near_head=0).reader
            start, out = manifest.deploy_block, []
            while start <= head:
                batch = await reader.next_batch(start, head, ahead=ahead)
                assert batch is not None
                out.append((batch.start, batch.end, [(g["blockHash"], g["logIndex"]) for g in batch.logs]))
                start = batch.end + 1
            return out

        ahead, in_turn = await ranges(True), await ranges(False)
        assert ahead == in_turn and len(ahead) > 3 and sum(len(r[2]) for r in ahead) >= 6
        reader = make_indexer(manifest, pool, client, max_block_range=2, near_head=0).reader
        first = await reader.next_batch(manifest.deploy_block, head, ahead=True)  # asks for the next range
        assert first is not None
        again = await reader.next_batch(manifest.deploy_block, head, ahead=True)  # not where the ahead starts
        assert again is not None and (again.start, again.end) == (first.start, first.end)
        assert [(g["blockHash"], g["logIndex"]) for g in again.logs] == in_turn[0][2]
        reader.forget_ahead()


def _header_requests() -> float:
    """HTTP requests that asked for headers on their own (one header, or a batch of them)."""
    return sum(
        REGISTRY.get_sample_value("rpc_request_seconds_count", {"method": method}) or 0.0
        for method in ("eth_getBlockByNumber", "batch:eth_getBlockByNumber")
    )


async def test_on_a_dense_stretch_the_headers_come_with_the_logs(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    """Once a range had logs in at least half of its blocks, the next range's headers are asked for in the same
    request as its logs (``completeness.read_range(every_header=True)``): one round trip a range instead of
    two, and the batches are the ones a reader that asks for them afterwards gives."""
    fans = [Account.create().address for _ in range(6)]
    async with RpcClient([chain]) as client:
        await _mint(manifest, pool, client, relayer_key, [(fan, 1) for fan in fans])  # a block per mint
        head = int(str(rpc(chain, "eth_blockNumber")), 16)
        first = head - 5

        def reader() -> RangeReader:
            return make_indexer(manifest, pool, client, max_block_range=2, near_head=0).reader

        def seen(batch: Batch | None) -> tuple[int, int, list[str], dict[int, str]]:
            assert batch is not None
            return (
                batch.start,
                batch.end,
                [g["transactionHash"] for g in batch.logs],
                {n: h.hash for n, h in batch.headers.items()},
            )

        in_turn, fresh, start = reader(), [], first
        before = _header_requests()
        while start <= head:  # one reader: dense after its first range
            fresh.append(seen(await in_turn.next_batch(start, head)))
            start = fresh[-1][1] + 1
        asked = _header_requests() - before
        assert all(len(logs) >= 1 for _, _, logs, _ in fresh) and len(fresh) == 3  # every block has a mint
        assert in_turn.dense
        assert asked == 1  # the first range's start block only; the other two came with their logs

        before = _header_requests()
        each = [seen(await reader().next_batch(s, head)) for s, _, _, _ in fresh]  # never dense: asked apart
        assert _header_requests() - before == 3
        assert each == fresh
