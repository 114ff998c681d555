"""GET /api/events/...: the configured contracts' events as the indexer wrote them."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from eth_account import Account
from sanic import Sanic

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from tests.integration.custom_chain import custom_indexer, deploy, send, write_config
from tests.integration.helpers import DEPLOYER, sync

TRANSFER = "transfer(address,address,uint256)"


async def test_configured_events_are_listed_paged_and_filtered(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    _, empty = await app.asgi_client.get("/api/events")
    assert empty.status == 200 and empty.json["data"] == {"tables": []}  # no configuration: nothing, no error

    probe, block = deploy(chain, "Probe")
    config = write_config(tmp_path, [{"name": "probe", "abi": "Probe", "address": probe, "start_block": block}])
    fan, other = Account.create().address.lower(), Account.create().address.lower()
    for amount in (1, 2, 3):
        send(chain, probe, TRANSFER, ["address", "address", "uint256"], [DEPLOYER, fan, amount])
    send(chain, probe, TRANSFER, ["address", "address", "uint256"], [DEPLOYER, other, 2**256 - 1])
    async with RpcClient([chain]) as client:
        await sync(custom_indexer(manifest, pool, client, config))

    _, listing = await app.asgi_client.get("/api/events")
    tables = {t["table"]: t for t in listing.json["data"]["tables"]}
    assert set(tables) == {"probe__transfer", "probe__kitchen"}
    assert tables["probe__transfer"]["columns"] == [
        {"name": "sender", "type": "address", "indexed": True},
        {"name": "receiver", "type": "address", "indexed": True},
        {"name": "value", "type": "uint256", "indexed": False},
    ]

    seen, cursor = [], None
    for _ in range(3):
        path = f"/api/events/probe/Transfer?receiver={fan}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        _, response = await app.asgi_client.get(path)
        assert response.status == 200, response.text
        data = response.json["data"]
        seen += [item["args"]["value"] for item in data["items"]]
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert seen == ["3", "2", "1"]  # newest first, numbers as strings
    _, big = await app.asgi_client.get(f"/api/events/probe/transfer?receiver={other.upper().replace('0X', '0x')}")
    item = big.json["data"]["items"][0]
    assert item["args"] == {"sender": DEPLOYER.lower(), "receiver": other, "value": str(2**256 - 1)}
    assert item["address"] == probe and big.json["data"]["indexed_block"]["number"] >= block
    _, by_address = await app.asgi_client.get(f"/api/events/probe/Transfer?address={probe}&limit=100")
    assert len(by_address.json["data"]["items"]) == 4

    for path, status, code in [
        ("/api/events/nope/Transfer", 404, "not_found"),
        ("/api/events/probe/Approval", 404, "not_found"),
        ("/api/events/Probe/Transfer", 400, "invalid_input"),
        ("/api/events/probe/Transfer?value=3", 400, "invalid_input"),  # not an indexed argument
        ("/api/events/probe/Transfer?receiver=0x1234", 400, "invalid_input"),
        ("/api/events/probe/Transfer?limit=0", 400, "invalid_input"),
        ("/api/events/probe/Transfer?cursor=AAAA", 400, "invalid_input"),
        ("/api/events/probe/Transfer?x%22%3B%20DROP%20TABLE%20users=1", 400, "invalid_input"),
    ]:
        _, response = await app.asgi_client.get(path)
        assert response.status == status, (path, response.text)
        assert response.json["success"] is False and response.json["error"]["code"] == code, path
    assert await pool.fetchval("SELECT count(*) FROM users") == 0  # still there
