"""Hostile event content on the real stack (anvil, Postgres, the indexer's run loop, the API):
MeetingAuction's one string field (``metadata``) with NUL, invalid UTF-8, empty and 100 KB
values, and logs no ABI can decode. Everything is indexed, readable, verified; nothing stops
the indexer; nothing is skipped."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import asyncpg
from eth_abi import encode
from eth_utils import keccak
from sanic import Sanic

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.codec import UNDECODABLE, UNDECODABLE_LOGS, storable_text
from indexer.store import QUERIES
from indexer.verify import Report, verify
from indexer.verify_events import verify_events
from tests.integration.api.auction_chain import ALICE, SELLER, send
from tests.integration.helpers import make_indexer, sync
from tests.integration.hostile_chain import (
    AUCTION_CREATED,
    caught_up,
    code_of,
    create_auction_raw,
    emit,
    emitter,
    indexer_cli,
    running,
    would_revert,
)

HOSTILE = [
    b"meet\x00ing",  # the NUL that stopped the indexer for good
    b"\xff\xfe not UTF-8 \xc3(",  # the invalid UTF-8 that was skipped
    b"",
    b"\x00" * 256,  # the contract's limit (String[256]), all NUL
    "ünïcödé ✓".encode(),
    b"0xABCDEF",  # text that looks like hex stays as it is
]


async def _auction(app: Sanic, auction_id: int) -> dict[str, Any]:
    _, response = await app.asgi_client.get(f"/api/auctions/{auction_id}")
    assert response.status == 200, response.text
    auction: dict[str, Any] = response.json["data"]["auction"]
    return auction


def _expected(raw: bytes) -> tuple[str, str | None]:
    text, altered = storable_text(raw)
    return text, ("0x" + raw.hex() if altered else None)


async def test_hostile_metadata_is_indexed_readable_and_verified(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str, manifest_path: Path
) -> None:
    assert would_revert(chain, manifest, SELLER, b"x" * 100_000)  # String[256]: the contract refuses 100 KB
    for raw in HOSTILE:
        create_auction_raw(chain, manifest, SELLER, raw)
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        async with running(indexer) as task:
            await caught_up(pool, chain, task)
            create_auction_raw(chain, manifest, SELLER, b"\x00after\xff")  # the live path too
            await caught_up(pool, chain, task)
        for auction_id, raw in enumerate([*HOSTILE, b"\x00after\xff"], 1):
            auction = await _auction(app, auction_id)
            assert (auction["metadata"], auction["metadata_hex"]) == _expected(raw), raw
            assert auction["seller"] == SELLER.lower() and auction["status"] == "active"
        assert await pool.fetchval("SELECT count(*) FROM chain_events WHERE event = $1", UNDECODABLE) == 0

        report = await verify(pool, client, manifest, indexer.store.projections)
        assert report.ok, report.mismatches

        # A raw event lost (here: deleted) fails verify, naming the contract and both counts.
        address = manifest.contract("MeetingAuction").address
        await pool.execute(
            "DELETE FROM chain_events WHERE ctid = (SELECT ctid FROM chain_events WHERE address = $1 "
            "AND event = 'AuctionCreated' LIMIT 1)",
            address,
        )
        broken = await verify(pool, client, manifest, indexer.store.projections)
    assert not broken.ok
    assert any(m.startswith(f"MeetingAuction ({address}): the chain has") for m in broken.mismatches), broken
    cli = indexer_cli("verify", db_url, chain, manifest_path)
    assert cli.returncode == 1, cli.stderr
    found = re.search(
        rf"mismatch: MeetingAuction \({address}\): the chain has (\d+) logs .*, chain_events has (\d+)", cli.stderr
    )
    assert found and int(found[1]) == int(found[2]) + 1, cli.stderr


async def test_logs_at_the_auction_address_that_no_abi_decodes_are_stored_raw(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str, manifest_path: Path
) -> None:
    """Any log at the contract's address (its code swapped for LogEmitter's with anvil_setCode):
    a 100 KB metadata, an empty one, a truncated AuctionCreated and an unknown event."""
    address = manifest.contract("MeetingAuction").address
    seller = b"\x00" * 12 + bytes.fromhex(SELLER[2:])
    big = b"\xfe" + b"m" * 100_000 + b"\x00"

    def created(auction_id: int, metadata: bytes) -> tuple[list[bytes], bytes]:
        data = encode(["uint256", "uint256", "uint256", "bytes"], [1, 2**40, 100, metadata])
        return [AUCTION_CREATED, auction_id.to_bytes(32), seller], data

    before = UNDECODABLE_LOGS.labels("MeetingAuction", "AuctionCreated")._value.get()
    logs = [created(700, big), created(701, b""), ([AUCTION_CREATED, (702).to_bytes(32), seller], b"\x01" * 5),
            ([keccak(text="Unknown()")], b"")]  # fmt: skip
    source, _ = emitter(chain)
    with code_of(chain, address, source):
        for topics, data in logs:
            emit(chain, address, topics, data)
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        async with running(indexer) as task:
            head = await caught_up(pool, chain, task)
        report = Report()
        await verify_events(pool, client, manifest, None, block=head, report=report)
    assert not report.mismatches  # every log is a chain_events row
    assert len(report.notes) == 2 and all(
        n.startswith("stored raw (undecodable): MeetingAuction.") for n in report.notes
    )

    for auction_id, raw in ((700, big), (701, b"")):
        auction = await _auction(app, auction_id)
        assert (auction["metadata"], auction["metadata_hex"]) == _expected(raw)
    assert len((await _auction(app, 700))["metadata"]) == 100_002
    _, missing = await app.asgi_client.get("/api/auctions/702")
    assert missing.status == 404  # undecodable: no auction, but its log is kept

    raw_rows = await pool.fetch(
        "SELECT args FROM chain_events WHERE event = $1 ORDER BY block_number, log_index", UNDECODABLE
    )
    assert [r["args"]["event"] for r in raw_rows] == ["AuctionCreated", None]
    assert (
        raw_rows[0]["args"]["data"] == "0x" + "01" * 5
        and raw_rows[0]["args"]["topics"][1] == "0x" + (702).to_bytes(32).hex()
    )
    assert {r["contract"]: r["n"] for r in await pool.fetch(QUERIES.undecodable_counts, manifest.chain_id)} == {
        "MeetingAuction": 2
    }
    assert UNDECODABLE_LOGS.labels("MeetingAuction", "AuctionCreated")._value.get() == before + 1
    status = indexer_cli("status", db_url, chain, manifest_path)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["undecodable"] == {"MeetingAuction": 2}

    # Replay rebuilds the same auctions from the stored rows (raw ones included, and ignored).
    live = [tuple(r) for r in await pool.fetch("SELECT * FROM auctions ORDER BY auction_id")]
    async with pool.acquire() as conn, conn.transaction():
        replayed = await indexer.store.projections.rebuild(conn, manifest.chain_id)
    assert replayed == await pool.fetchval("SELECT count(*) FROM chain_events")
    assert [tuple(r) for r in await pool.fetch("SELECT * FROM auctions ORDER BY auction_id")] == live


async def test_a_rollback_recomputes_a_hostile_auction_from_its_stored_raw_bytes(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool
) -> None:
    raw = b"\xc3\x00 rolled back \xff"
    create_auction_raw(chain, manifest, SELLER, raw)
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        await sync(indexer)
        send(chain, manifest, ALICE, "MeetingAuction", "bid", [1], value=1000)
        await sync(indexer)
        assert (await _auction(app, 1))["bid_count"] == 1
        rpc(chain, "anvil_reorg", [1, []])  # the bid's block is replaced by an empty one
        await sync(indexer)
    auction = await _auction(app, 1)
    assert auction["bid_count"] == 0 and auction["highest_bidder"] is None  # recomputed from the raw events
    assert (auction["metadata"], auction["metadata_hex"]) == _expected(raw)
