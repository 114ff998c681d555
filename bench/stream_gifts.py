"""Gifts on stream: 500 SSE viewers on one live stream of a running ``python -m api``, gifts sent at a
steady rate; for each gift, from its acceptance (the commit of the tip policy's decision, against anvil
and Postgres, stamped ``accepted_at`` in the event) until every viewer received its ``gift`` event on
``/api/feed/sse?stream=<id>``: p50/p99 printed (goal p99 < 250 ms), and per delivery.

Starts its own anvil (contracts deployed), a fresh database at ``BENCH_DATABASE_URL`` and uses Redis at
``BENCH_REDIS_URL`` (flushed). The fans sign up through the API; the stream and the catalog gift are
seeded in SQL (the streaming lifecycle is not what is measured here).

    .venv/bin/python -m bench.stream_gifts --viewers 500 --gifts 100 --rate 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from eth_account import Account
from eth_account.messages import encode_typed_data
from redis.asyncio import Redis

from anvil.deploy import deploy
from anvil.node import free_port, rpc, start_anvil
from api.launch import spawn_api
from core.chain.eip712 import INTENT_TYPES
from core.chain.manifest import Manifest
from core.db.migrate import migrate
from relayer.calls import encode_call

ADMIN_DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account #0: a Coin minter since deploy
PASSWORD = "bench-password-123"  # noqa: S105 (a throwaway database)


def _dsn(name: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"


def _send_as(url: str, sender: str, to: str, data: str) -> None:
    rpc(url, "anvil_setBalance", [sender, hex(10**18)])
    rpc(url, "anvil_impersonateAccount", [sender])
    rpc(url, "eth_sendTransaction", [{"from": sender, "to": to, "data": data}])
    rpc(url, "anvil_stopImpersonatingAccount", [sender])


def _fund(url: str, manifest: Manifest, fan: str, amount: int) -> None:
    mint = encode_call(manifest, "Coin", "mint", [fan, amount, os.urandom(32)])
    rpc(url, "eth_sendTransaction", [{"from": DEPLOYER, "to": mint.to, "data": mint.data}])
    router = manifest.contract("TipRouter").address
    _send_as(url, fan, manifest.contract("Coin").address,
             "0x095ea7b3" + router[2:].rjust(64, "0") + format(amount, "064x"))  # fmt: skip


def _intent(manifest: Manifest, account: Any, to: str, nonce: int) -> dict[str, Any]:
    coin = manifest.contract("Coin").address
    deadline = int(time.time()) + 7 * 86400
    message = {"from": account.address, "to": to, "token": coin, "amount": 1, "kind": 1, "nonce": nonce,
               "deadline": deadline}  # fmt: skip
    domain = {"name": "TipRouter", "version": "1", "chainId": manifest.chain_id,
              "verifyingContract": manifest.contract("TipRouter").address}  # fmt: skip
    signable = encode_typed_data(domain_data=domain, message_types={"Intent": INTENT_TYPES}, message_data=message)
    signature = "0x" + bytes(Account.sign_message(signable, account.key).signature).hex()
    return {"from": account.address, "to": to, "token": coin, "amount": "1", "nonce": str(nonce),
            "deadline": str(deadline), "signature": signature}  # fmt: skip


async def _signup(http: aiohttp.ClientSession, pool: asyncpg.Pool, email: str) -> tuple[int, str, Any]:
    async with http.post("/api/auth/signup", json={"email": email, "password": PASSWORD}) as response:
        body = await response.json()
        assert response.status == 201, body
    account = Account.create()
    user_id = body["data"]["user"]["id"]
    await pool.execute("INSERT INTO user_wallets (address, user_id) VALUES ($1, $2)", account.address.lower(), user_id)
    return user_id, body["data"]["access_token"], account


class Viewer:
    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.received: dict[str, float] = {}

    async def watch(self, http: aiohttp.ClientSession, path: str) -> None:
        async with http.get(path, timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as response:
            assert response.status == 200
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event["type"] == "gift":  # accepted_at: when the API committed the decision
                        self.received[event["digest"]] = time.time() - event["accepted_at"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="stream-gifts-"))
    port = free_port()
    anvil = start_anvil(port)
    chain = f"http://127.0.0.1:{port}"
    database = f"bench_stream_gifts_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{database}"')
    api = None
    try:
        await migrate(_dsn(database))
        manifest = await asyncio.to_thread(deploy, chain, workdir / "deployment.json")
        redis = Redis.from_url(REDIS_URL)
        await redis.flushdb()
        await redis.aclose()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "DATABASE_URL", "REDIS_URL"))}
        env.update({
            "API_ENVIRONMENT": "test", "API_DATABASE_URL": _dsn(database), "API_REDIS_URL": REDIS_URL,
            "API_RPC_URLS": chain, "API_MANIFEST_PATH": str(workdir / "deployment.json"),
            "API_JWT_SECRET": "bench-secret-0123456789-0123456789", "API_RATE_GENERAL": "0", "API_RATE_AUTH": "0",
            "API_HOST": "127.0.0.1", "API_PORT": str(free_port()), "API_WORKERS": "1", "LOG_LEVEL": "WARNING",
            "API_TIPS_DAILY_MAX_INTENTS": "1000000", "API_GIFT_LOCK_WAIT_MS": "30000", "API_OUTBOX_DIR": str(workdir / "outbox"),
        })  # fmt: skip
        api, url = await asyncio.to_thread(spawn_api, env, workdir / "api.log", timeout=300)
        pool = await asyncpg.create_pool(_dsn(database), min_size=1, max_size=2)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(base_url=url, connector=connector) as http:
            creator_id, _, creator_account = await _signup(http, pool, "creator@bench.example")
            await pool.execute("UPDATE users SET role = 'creator' WHERE id = $1", creator_id)
            await pool.execute("INSERT INTO creator_profiles (user_id, display_name) VALUES ($1, 'Bench')", creator_id)
            stream_id = await pool.fetchval(
                "INSERT INTO streams (creator_id, room, title, status, started_at) "
                "VALUES ($1, 'bench-room', 'bench', 'live', now()) RETURNING id", creator_id)  # fmt: skip
            await pool.execute("INSERT INTO gifts (slug, name, price) VALUES ('pebble', 'Pebble', 1)")
            fans = [await _signup(http, pool, f"fan{i}@bench.example") for i in range(args.fans)]
            for _, _, account in fans:
                await asyncio.to_thread(_fund, chain, manifest, account.address, 10**6)

            viewers = [Viewer() for _ in range(args.viewers)]
            watching = [asyncio.create_task(v.watch(http, f"/api/feed/sse?stream={stream_id}")) for v in viewers]
            started = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(v.connected.wait() for v in viewers)), 300)
            print(f"{args.viewers} viewers connected in {time.perf_counter() - started:.1f} s")
            await asyncio.sleep(2)  # each connection subscribes just after its ': connected'

            accepted: dict[str, float] = {}  # digest -> request sent → 201 (s)
            nonces = dict.fromkeys(range(len(fans)), 0)

            async def give(n: int) -> None:
                i = n % len(fans)
                nonces[i] += 1
                _, token, account = fans[i]
                sent_at = time.perf_counter()
                body = {"stream_id": stream_id, "gift": "pebble",
                        "intent": _intent(manifest, account, creator_account.address, nonces[i])}  # fmt: skip
                async with http.post("/api/payment/gift", json=body,
                                     headers={"Authorization": f"Bearer {token}"}) as response:  # fmt: skip
                    data = await response.json()
                    assert response.status == 201, data
                    accepted[data["data"]["intent"]["digest"]] = time.perf_counter() - sent_at

            load_before = os.getloadavg()[0]
            sends = []
            for n in range(args.gifts):
                sends.append(asyncio.create_task(give(n)))
                await asyncio.sleep(1 / args.rate)
            await asyncio.gather(*sends)
            deadline = time.perf_counter() + 60
            while time.perf_counter() < deadline and any(len(v.received) < len(accepted) for v in viewers):
                await asyncio.sleep(0.1)
            load_after = os.getloadavg()[0]
            missing = sum(len(accepted) - len(set(v.received) & set(accepted)) for v in viewers)
            per_gift: list[float] = []
            per_delivery: list[float] = []
            for digest in accepted:
                times = [v.received[digest] for v in viewers if digest in v.received]
                per_delivery.extend(max(0.0, t) * 1000 for t in times)
                if len(times) == len(viewers):
                    per_gift.append(max(0.0, *times) * 1000)
            for task in watching:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await asyncio.gather(*watching, return_exceptions=True)
        await pool.close()
        print(f"{len(accepted)} gifts at {args.rate}/s to {args.viewers} viewers; deliveries missing: {missing}; "
              f"load {load_before:.1f} → {load_after:.1f}")  # fmt: skip
        if per_gift:
            print(f"gift accepted → every viewer received it: p50 {statistics.median(per_gift):.0f} ms, "
                  f"p99 {_pct(per_gift, 0.99):.0f} ms, max {max(per_gift):.0f} ms")  # fmt: skip
        print(f"per delivery: p50 {statistics.median(per_delivery):.0f} ms, p99 {_pct(per_delivery, 0.99):.0f} ms")
        decided = [t * 1000 for t in accepted.values()]
        print(f"request sent → 201 (the policy's checks, queued behind the approver lock): "
              f"p50 {statistics.median(decided):.0f} ms, p99 {_pct(decided, 0.99):.0f} ms")  # fmt: skip
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        anvil.terminate()
        anvil.wait(10)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--gifts", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5.0, help="gifts per second")
    parser.add_argument("--fans", type=int, default=10)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
