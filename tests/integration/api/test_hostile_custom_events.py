"""Hostile event content in a configured contract (typed tables): string and bytes arguments
with NUL, invalid UTF-8, empty and 100 KB values, and a log of a configured event that cannot
be decoded. Indexed by the run loop, readable through GET /api/events/..., verified."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
from eth_abi import encode
from eth_utils import keccak
from sanic import Sanic

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.codec import UNDECODABLE, storable_text
from indexer.verify import Report
from indexer.verify_events import verify_events
from tests.integration.custom_chain import custom_indexer
from tests.integration.hostile_chain import caught_up, emit, emitter, running

NOTE_ABI = [{"type": "event", "name": "Note", "anonymous": False, "inputs": [
    {"name": "id", "type": "uint256", "indexed": True},
    {"name": "text", "type": "string", "indexed": False},
    {"name": "blob", "type": "bytes", "indexed": False},
]}]  # fmt: skip
NOTE = keccak(text="Note(uint256,string,bytes)")
VALUES = [b"meet\x00ing", b"\xff\xfe not UTF-8 \xc3(", b"", b"\xe2\x82" + b"x" * 100_000 + b"\x00", "ünï ✓".encode()]


def _config(tmp: Path, address: str, block: int) -> Path:
    (tmp / "notes.json").write_text(json.dumps(NOTE_ABI))
    path = tmp / "contracts.toml"
    path.write_text(
        f'[[contracts]]\nname = "notes"\nabi = "notes.json"\naddress = "{address}"\nstart_block = {block}\n'
    )
    return path


async def test_configured_string_and_bytes_fields_with_hostile_values(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    address, block = emitter(chain)
    for i, raw in enumerate(VALUES):
        emit(chain, address, [NOTE, i.to_bytes(32)], encode(["bytes", "bytes"], [raw, raw]))
    emit(chain, address, [NOTE], encode(["bytes", "bytes"], [b"a", b"b"]))  # the id topic is missing
    async with RpcClient([chain]) as client:
        indexer = custom_indexer(manifest, pool, client, _config(tmp_path, address, block))
        async with running(indexer) as task:
            head = await caught_up(pool, chain, task)
        report = Report()
        sources = indexer.reader.custom
        await verify_events(pool, client, manifest, sources, block=head, report=report)
        assert not report.mismatches, report.mismatches
        assert [n.split(" at block")[0] for n in report.notes] == ["stored raw (undecodable): notes.Note"]

        _, response = await app.asgi_client.get("/api/events/notes/Note?limit=100")
        assert response.status == 200, response.text
        items = {int(item["args"]["id"]): item["args"] for item in response.json["data"]["items"]}
        assert items == {
            i: {"id": str(i), "text": storable_text(raw)[0], "blob": "0x" + raw.hex()} for i, raw in enumerate(VALUES)
        }
        raw_row = await pool.fetchrow("SELECT contract, args FROM chain_events WHERE event = $1", UNDECODABLE)
        assert raw_row["contract"] == "notes" and raw_row["args"]["event"] == "Note"
        assert raw_row["args"]["topics"] == ["0x" + NOTE.hex()]

        # A configured contract's row lost fails verify.
        await pool.execute('DELETE FROM custom_events."notes__note" WHERE id = 0')
        broken = Report()
        await verify_events(pool, client, manifest, sources, block=head, report=broken)
    assert broken.mismatches == [
        f"configured contract notes: the chain has {len(VALUES) + 1} logs of its events, its tables (and raw logs) "
        f"hold {len(VALUES)}"
    ]
