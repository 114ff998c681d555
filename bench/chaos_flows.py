"""The chaos run's product traffic (bench/chaos.py): users, tips, auctions and meeting redemptions
through the public API (a real ``python -m api`` process) and the chain, and their end invariants.

- Users: an admin (signed up, role set by SQL), creators (email signup, wallet linked by SIWE with
  the bearer token, apply, approved by the admin) and fans (half email signup + SIWE link, half
  SIWE sign-in only). Fans are funded on chain: TK minted by the deployer and approved to the
  TipRouter (sent as the fan, impersonated), TKI accrued by a queued ``accrue`` request.
- Tips: fans POST EIP-712 signed claps and gifts; the relayer's scheduler approves and settles.
  Invariant: every accepted intent is stored; a refused one has no on-chain outcome, every other
  one exactly one ``IntentSettled``/``IntentRejected`` log, and ``GET /api/contracts/intents/{d}``
  reports that outcome.
- Auctions: creators auction meetings on chain, 2-4 fans bid against each other, chain time is
  pushed past the end, the relayer's ``end_auctions`` schedule ends them. Invariant: every created
  auction ended exactly once; one ``PassMinted`` (to the last bidder) per auction with bids, none
  without; the indexer's ``auctions`` row agrees.
- Hostile metadata (bench/chaos_hostile.py): some auctions are created with raw calldata carrying
  NUL, invalid UTF-8 or empty metadata. Invariant: indexed and served by the API as the
  storable-value rule says, original bytes in ``metadata_hex``.
- Redemptions: winners POST a signed redemption to ``/api/meetings/{id}/access``; the relayer
  burns the pass. Invariant: every pass burned at most once.

Direct chain traffic may be dropped by a reorg: the invariants only read what the chain finally holds.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from anvil.node import free_port, rpc
from api.launch import spawn_api
from bench.chaos_hostile import check_metadata, create_auction_data, hostile_metadata, metadata_of
from core.chain.eip712 import INTENT_TYPES, KIND_CLAP, KIND_GIFT, REDEMPTION_TYPES
from core.chain.manifest import Manifest
from core.queue.kinds import validate_accrue
from relayer.calls import encode_call

SIWE_DOMAIN = "chaos.example:443"
PASSWORD = "chaos-password-123"  # noqa: S105 (the run's throwaway accounts)
DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
# anvil 1.7.1 corrupts its chain when a block is mined while a reorg runs (bench/chaos.py stops mining
# around each reorg): the run's own sends, time jumps and reorgs take turns on this lock.
CHAIN_LOCK = threading.Lock()
AUCTION_SECONDS = 300  # MeetingAuction.MIN_DURATION
EXTENDED_SECONDS = 600  # a bid in the last 5 minutes moves the end to 10 minutes after it (anvil/deploy.py)


def topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


SETTLED = topic("IntentSettled(bytes32,address,address,address,uint256,uint8,uint256)")
REJECTED = topic("IntentRejected(bytes32,uint8)")
CREATED = topic("AuctionCreated(uint256,address,uint256,uint256,uint256,string)")
BID = topic("BidPlaced(uint256,address,uint256,address,uint256)")
ENDED = topic("AuctionEnded(uint256,address,uint256,uint256,uint256)")
PASS_MINTED = topic("PassMinted(uint256,address,uint256)")
PASS_REDEEMED = topic("PassRedeemed(uint256,address,uint256)")
ZERO = "0x" + "0" * 40


def _address(word: str) -> str:
    return "0x" + word[-40:].lower()


@dataclass
class User:
    account: LocalAccount
    email: str | None
    id: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    next_nonce: int = 1

    @property
    def address(self) -> str:
        return str(self.account.address)


@dataclass
class Counts:
    """What the flows did (the JSON summary's ``flows``)."""

    signups: int = 0
    siwe_logins: int = 0
    creators_approved: int = 0
    fundings: int = 0
    allowance_revocations: int = 0
    intents_accepted: dict[str, int] = field(default_factory=lambda: {"clap": 0, "gift": 0})
    intents_refused_by_api: int = 0
    auctions_created: int = 0
    auctions_hostile: int = 0
    bids: int = 0
    time_jumps: int = 0
    redemptions_accepted: int = 0
    redemptions_refused: int = 0
    last_refusal: str = ""
    chain_errors: int = 0
    last_chain_error: str = ""


def siwe_message(address: str, nonce: str, chain_id: int) -> str:
    issued = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return "\n".join([
        f"{SIWE_DOMAIN} wants you to sign in with your Ethereum account:", address, "",
        "Sign in to the creator app.", "", f"URI: https://{SIWE_DOMAIN}/login", "Version: 1",
        f"Chain ID: {chain_id}", f"Nonce: {nonce}", f"Issued At: {issued}",
    ])  # fmt: skip


def start_api(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m api`` on a free port (one worker), rate limits off; waits for /health."""
    return spawn_api({**env, "API_HOST": "127.0.0.1", "API_PORT": str(free_port()), "API_WORKERS": "1"}, log)


def api_env(
    base: dict[str, str], dsn: str, redis_url: str, rpc_url: str, manifest_path: Path, workdir: Path
) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith("API_")}
    env.update({
        "API_ENVIRONMENT": "test", "API_DATABASE_URL": dsn, "API_REDIS_URL": redis_url, "API_RPC_URLS": rpc_url,
        "API_MANIFEST_PATH": str(manifest_path), "API_JWT_SECRET": "chaos-run-jwt-secret-0123456789abcdef",
        "API_SIWE_DOMAIN": SIWE_DOMAIN, "API_RATE_GENERAL": "0", "API_RATE_AUTH": "0", "API_RATE_PURCHASE": "0",
        "API_MIN_BLOCK_TIMEOUT": "2", "API_OUTBOX_DIR": str(workdir / "outbox"),
        "API_JITSI_APP_SECRET": "chaos-jitsi-secret-0123456789abcdef", "API_ACCESS_TOKEN_TTL": "86400",
    })  # fmt: skip
    return env


class Flows:
    def __init__(
        self, api: str, rpc_url: str, manifest: Manifest, pool: asyncpg.Pool, rng: random.Random, *, fans: int,
        creators: int,
    ) -> None:  # fmt: skip
        self.api, self.url, self.manifest, self.pool, self.rng = api, rpc_url, manifest, pool, rng
        self.n_fans, self.n_creators = fans, creators
        self.http = httpx.AsyncClient(base_url=api, timeout=30)
        self.counts = Counts()
        self.admin: User | None = None
        self.fans: list[User] = []
        self.creators: list[User] = []
        self.intents: dict[str, User] = {}  # accepted digest -> its fan
        self.auction_ids: set[int] = set()
        self.redeemed: set[int] = set()  # meeting ids a redemption was accepted for
        self.failures: list[str] = []
        self.revocations: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        await self.http.aclose()

    # -- the chain ---------------------------------------------------------------------------------

    def _send(self, sender: str, contract: str, fn: str, args: list[Any], value: int = 0) -> None:
        """A transaction as ``sender`` (impersonated, gas funded); a reorg may drop it later."""
        call = encode_call(self.manifest, contract, fn, args)
        self._send_data(sender, call.to, call.data, fn, value)

    def _send_data(self, sender: str, to: str, data: str, fn: str, value: int = 0) -> None:
        with CHAIN_LOCK:
            try:
                rpc(self.url, "anvil_setBalance", [sender, hex(10**22)])
                rpc(self.url, "anvil_impersonateAccount", [sender])
                rpc(self.url, "eth_sendTransaction", [{"from": sender, "to": to, "data": data,
                                                       "value": hex(value), "gas": hex(1_000_000)}])  # fmt: skip
            except Exception as exc:  # noqa: BLE001 (refused mid-reorg: not a finding)
                self.counts.chain_errors += 1
                self.counts.last_chain_error = f"{fn}: {str(exc)[:160]}"

    def _call(self, contract: str, fn: str, args: list[Any]) -> int:
        call = encode_call(self.manifest, contract, fn, args)
        return int(str(rpc(self.url, "eth_call", [{"to": call.to, "data": call.data}, "latest"])), 16)

    def _fund_tk(self, fan: User) -> None:
        self._send(DEPLOYER, "Coin", "mint", [fan.address, 10**12, self.rng.randbytes(32)])
        self._send(fan.address, "Coin", "approve", [self.manifest.contract("TipRouter").address, 2**255])
        self.counts.fundings += 1

    # -- the API -----------------------------------------------------------------------------------

    async def _ok(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return dict(response.json()["data"])

    async def _siwe(self, user: User, link: bool) -> dict[str, Any]:
        nonce = (await self._ok("GET", "/api/auth/siwe/nonce"))["nonce"]
        text = siwe_message(user.address, nonce, self.manifest.chain_id)
        signature = "0x" + bytes(user.account.sign_message(encode_defunct(text=text)).signature).hex()
        data = await self._ok("POST", "/api/auth/siwe/verify", json={"message": text, "signature": signature},
                              headers=user.headers if link else {})  # fmt: skip
        self.counts.siwe_logins += 1
        return data

    async def _signup(self, email_user: bool) -> User:
        user = User(Account.create(), f"chaos{self.rng.getrandbits(48)}@example.com" if email_user else None)
        if user.email:
            data = await self._ok("POST", "/api/auth/signup", 201, json={"email": user.email, "password": PASSWORD})
            user.id, user.headers = data["user"]["id"], {"Authorization": f"Bearer {data['access_token']}"}
            self.counts.signups += 1
            await self._siwe(user, link=True)  # links the wallet to the email account
        else:
            data = await self._siwe(user, link=False)  # creates the account
            user.id = data["user"]["id"]
            user.headers = {"Authorization": f"Bearer {data['access_token']}"}
            self.counts.signups += 1
        return user

    async def _relogin(self, user: User) -> None:
        if user.email:
            data = await self._ok("POST", "/api/auth/login", json={"email": user.email, "password": PASSWORD})
        else:
            data = await self._siwe(user, link=False)
        user.headers = {"Authorization": f"Bearer {data['access_token']}"}

    async def setup(self) -> None:
        self.admin = await self._signup(True)
        await self.pool.execute("UPDATE users SET role = 'admin' WHERE id = $1", self.admin.id)
        await self._relogin(self.admin)
        for i in range(self.n_creators):
            who = await self._signup(True)
            await self._ok("POST", "/api/creators/apply", 201, headers=who.headers,
                           json={"display_name": f"Creator {i}", "bio": "chaos", "categories": ["art"]})  # fmt: skip
            await self._ok("POST", f"/api/admin/creators/{who.id}/approve", headers=self.admin.headers)
            await self._relogin(who)
            self.creators.append(who)
            self.counts.creators_approved += 1
        for i in range(self.n_fans):
            fan = await self._signup(i % 2 == 0)
            await asyncio.to_thread(self._fund_tk, fan)
            self.fans.append(fan)
        accrue = validate_accrue({"epoch": "1", "accounts": [f.address.lower() for f in self.fans],
                                  "amounts": [str(10**12)] * len(self.fans)})  # fmt: skip
        await self.pool.execute(
            "INSERT INTO tx_requests (kind, idempotency_key, payload) VALUES ('accrue', 'accrue:chaos:1', $1::jsonb)",
            json.dumps(accrue),
        )

    # -- the load ----------------------------------------------------------------------------------

    async def tip(self) -> None:
        fan, star = self.rng.choice(self.fans), self.rng.choice(self.creators)
        kind = self.rng.choice([KIND_CLAP, KIND_GIFT])
        token = self.manifest.contract("Engagement" if kind == KIND_CLAP else "Coin").address
        nonce, fan.next_nonce = fan.next_nonce, fan.next_nonce + 1
        message = {"from": fan.address, "to": star.address, "token": token, "amount": self.rng.randint(1, 1000),
                   "kind": kind, "nonce": nonce, "deadline": int(time.time()) + 30 * 86400}  # fmt: skip
        domain = {"name": "TipRouter", "version": "1", "chainId": self.manifest.chain_id,
                  "verifyingContract": self.manifest.contract("TipRouter").address}  # fmt: skip
        signable = encode_typed_data(domain_data=domain, message_types={"Intent": INTENT_TYPES}, message_data=message)
        signature = "0x" + bytes(fan.account.sign_message(signable).signature).hex()
        body = {k: str(v) for k, v in message.items() if k != "kind"} | {"signature": signature}
        route = "clap" if kind == KIND_CLAP else "gift"
        response = await self.http.post(f"/api/contracts/{route}", json=body, headers=fan.headers)
        if response.status_code == 201:
            self.intents[response.json()["data"]["intent"]["digest"]] = fan
            self.counts.intents_accepted[route] += 1
        elif 400 <= response.status_code < 500:
            self.counts.intents_refused_by_api += 1
        else:
            self.failures.append(f"POST /api/contracts/{route}: {response.status_code} {response.text[:200]}")
        if self.rng.random() < 0.1:  # a replay of the same signed intent must be refused
            replay = await self.http.post(f"/api/contracts/{route}", json=body, headers=fan.headers)
            if replay.status_code != 409:
                self.failures.append(f"a replayed intent answered {replay.status_code}: {replay.text[:200]}")
        if self.rng.random() < 0.05:  # a top-up (a reorg may have dropped the first funding)
            await asyncio.to_thread(self._fund_tk, self.rng.choice(self.fans))
        if self.rng.random() < 0.03:
            task = asyncio.create_task(self._revoke_for_a_while(self.rng.choice(self.fans)))
            self.revocations.add(task)
            task.add_done_callback(self.revocations.discard)

    async def _revoke_for_a_while(self, fan: User) -> None:
        """The fan withdraws the router's Coin allowance for 1-4 s: gifts approved by the policy before it and
        settled during it are rejected on chain (IntentRejected, insufficient_allowance), ones decided during
        it are refused by the policy; both must be reported as such, exactly once."""
        router = self.manifest.contract("TipRouter").address
        await asyncio.to_thread(self._send, fan.address, "Coin", "approve", [router, 0])
        self.counts.allowance_revocations += 1
        await asyncio.sleep(self.rng.uniform(1.0, 4.0))
        await asyncio.to_thread(self._send, fan.address, "Coin", "approve", [router, 2**255])

    def _auction_round(self) -> None:
        seller = self.rng.choice(self.creators)
        if (metadata := hostile_metadata(self.rng)) is None:
            self._send(seller.address, "MeetingAuction", "create_auction", [1000, AUCTION_SECONDS, "chaos meeting"])
        else:  # raw calldata: bytes no encoder would send as a string
            to = self.manifest.contract("MeetingAuction").address
            self._send_data(seller.address, to, create_auction_data(1000, AUCTION_SECONDS, metadata), "create_auction")
            self.counts.auctions_hostile += 1
        self.counts.auctions_created += 1
        auction_id = self._call("MeetingAuction", "auction_count", [])
        self.auction_ids.add(auction_id)
        for bidder in self.rng.sample(self.fans, self.rng.randint(2, min(4, len(self.fans)))):
            try:
                amount = self._call("MeetingAuction", "min_next_bid", [auction_id]) + self.rng.randint(0, 500)
            except Exception:  # noqa: BLE001 (the auction was reorged away)
                break
            self._send(bidder.address, "MeetingAuction", "bid", [auction_id], value=amount)
            self.counts.bids += 1

    def jump_time(self, seconds: int) -> None:
        """Chain time past the auctions' end (anvil: evm_increaseTime, then a block)."""
        with CHAIN_LOCK:
            rpc(self.url, "evm_increaseTime", [seconds])
            rpc(self.url, "evm_mine")
        self.counts.time_jumps += 1

    async def auction(self) -> None:
        await asyncio.to_thread(self._auction_round)
        if self.rng.random() < 0.5:
            await asyncio.to_thread(self.jump_time, EXTENDED_SECONDS + 60)

    async def redeem(self) -> None:
        """Winners of materialized meetings ask for access with a signed redemption (the pass is burned)."""
        fan = self.rng.choice(self.fans)
        response = await self.http.get("/api/meetings", headers=fan.headers)
        if response.status_code != 200:
            self.failures.append(f"GET /api/meetings: {response.status_code} {response.text[:200]}")
            return
        for meeting in response.json()["data"]["items"]:
            if meeting["role"] != "winner" or meeting["id"] in self.redeemed or not meeting.get("pass_id"):
                continue
            deadline = int(time.time()) + 3600  # the API bounds it by the wall clock, the contract by chain time
            domain = {"name": "MeetingPass", "version": "1", "chainId": self.manifest.chain_id,
                      "verifyingContract": to_checksum_address(self.manifest.contract("MeetingPass").address)}  # fmt: skip
            message = {"tokenId": int(meeting["pass_id"]), "holder": fan.address, "deadline": deadline}
            signable = encode_typed_data(domain_data=domain, message_types={"Redemption": REDEMPTION_TYPES},
                                         message_data=message)  # fmt: skip
            body = {"holder": fan.address, "deadline": deadline,
                    "signature": "0x" + bytes(fan.account.sign_message(signable).signature).hex()}  # fmt: skip
            answer = await self.http.post(f"/api/meetings/{meeting['id']}/access", json=body, headers=fan.headers)
            if answer.status_code in (200, 201, 202):
                self.redeemed.add(meeting["id"])
                self.counts.redemptions_accepted += 1
            elif 400 <= answer.status_code < 500:  # e.g. the pass moved in a reorg
                self.counts.redemptions_refused += 1
                self.counts.last_refusal = answer.text[:200]
            else:
                self.failures.append(f"POST meeting access: {answer.status_code} {answer.text[:200]}")

    async def run(self, stop: asyncio.Event) -> None:
        """Tips, auctions and redemptions in turn until ``stop``; an API call failing is a finding."""
        while not stop.is_set():
            try:
                roll = self.rng.random()
                if roll < 0.6:
                    await self.tip()
                elif roll < 0.85:
                    await self.auction()
                else:
                    await self.redeem()
            except Exception as exc:  # noqa: BLE001 (recorded: the run fails on it)
                self.failures.append(f"flow error: {type(exc).__name__}: {str(exc)[:300]}")
            await asyncio.sleep(self.rng.uniform(0.02, 0.15))
        await asyncio.gather(*self.revocations)  # allowances restored before the drain

    # -- the end -----------------------------------------------------------------------------------

    async def settled(self) -> bool:
        """No intent waits for a decision or an on-chain outcome; no auction is left active."""
        waiting = await self.pool.fetchval(
            "SELECT count(*) FROM tip_intents t WHERE status IN ('pending', 'approved') OR (status = 'submitted'"
            " AND NOT EXISTS (SELECT 1 FROM intent_outcomes o WHERE o.chain_id = t.chain_id AND o.digest = t.digest))"
        )
        active = await self.pool.fetchval("SELECT count(*) FROM auctions WHERE status = 'active'")
        return bool(waiting == 0 and active == 0)

    async def check(self, logs: list[dict[str, Any]]) -> dict[str, Any]:
        """The flows' invariants against the chain's final logs; returns figures, appends to ``failures``."""
        fail = self.failures.append
        router = self.manifest.contract("TipRouter").address.lower()
        auction_addr = self.manifest.contract("MeetingAuction").address.lower()
        pass_addr = self.manifest.contract("MeetingPass").address.lower()
        outcomes: dict[str, list[str]] = {}
        created: dict[int, int] = {}
        metadata: dict[int, bytes] = {}
        ended: dict[int, list[str]] = {}
        last_bidder: dict[int, str] = {}
        minted: dict[int, list[tuple[int, str]]] = {}
        redeemed: dict[int, int] = {}
        for log in sorted(logs, key=lambda x: (int(x["blockNumber"], 16), int(x["logIndex"], 16))):
            address, topics = log["address"].lower(), log["topics"]
            if address == router and topics[0] in (SETTLED, REJECTED):
                outcomes.setdefault(topics[1].lower(), []).append("settled" if topics[0] == SETTLED else "rejected")
            elif address == auction_addr and topics[0] == CREATED:
                created[int(topics[1], 16)] = created.get(int(topics[1], 16), 0) + 1
                metadata[int(topics[1], 16)] = metadata_of(log)
            elif address == auction_addr and topics[0] == BID:
                last_bidder[int(topics[1], 16)] = _address(topics[2])
            elif address == auction_addr and topics[0] == ENDED:
                ended.setdefault(int(topics[1], 16), []).append(_address(topics[2]))
            elif address == pass_addr and topics[0] == PASS_MINTED:
                minted.setdefault(int(topics[3], 16), []).append((int(topics[1], 16), _address(topics[2])))
            elif address == pass_addr and topics[0] == PASS_REDEEMED:
                redeemed[int(topics[1], 16)] = redeemed.get(int(topics[1], 16), 0) + 1

        # Tips: every accepted intent stored; refused ones never on chain, the rest exactly once, API agrees.
        rows = {r["digest"]: r for r in await self.pool.fetch("SELECT digest, status, reason FROM tip_intents")}
        for fan in self.fans:
            await self._relogin(fan)
        statuses: dict[str, int] = {}
        for digest, fan in self.intents.items():
            row = rows.get(digest)
            if row is None:
                fail(f"intent {digest} was accepted (201) but is not stored")
                continue
            on_chain = outcomes.get(digest, [])
            expected_count = 0 if row["status"] == "refused" else 1
            if len(on_chain) != expected_count:
                fail(f"intent {digest} ({row['status']} {row['reason']}) has {len(on_chain)} outcomes on chain")
            response = await self.http.get(f"/api/contracts/intents/{digest}", headers=fan.headers)
            api_status = response.json()["data"]["intent"]["status"] if response.status_code == 200 else None
            statuses[str(api_status)] = statuses.get(str(api_status), 0) + 1
            want = on_chain[0] if len(on_chain) == 1 else ("refused" if expected_count == 0 else None)
            if api_status != want:
                fail(f"intent {digest}: the API says {api_status}, the chain {on_chain or 'nothing'}")
        stray = set(outcomes) - set(rows)
        if stray:
            fail(f"{len(stray)} intent outcome(s) on chain for intents nobody accepted")

        # Auctions: each created one ended exactly once, one pass to the last bidder, burned at most once.
        indexed = {int(r["auction_id"]): r for r in await self.pool.fetch(
            "SELECT auction_id, status, winner, pass_id, metadata, metadata_hex FROM auctions")}  # fmt: skip
        passes = 0
        for auction_id in sorted(created):
            winners = ended.get(auction_id, [])
            if len(winners) != 1:
                fail(f"auction {auction_id} ended {len(winners)} times on chain")
                continue
            winner, passes_of = winners[0], minted.get(auction_id, [])
            want_winner = last_bidder.get(auction_id, ZERO)
            if winner != want_winner:
                fail(f"auction {auction_id} won by {winner}, the highest bidder was {want_winner}")
            if len(passes_of) != (0 if winner == ZERO else 1) or any(holder != winner for _, holder in passes_of):
                fail(f"auction {auction_id} (winner {winner}) minted passes {passes_of}")
            passes += len(passes_of)
            row = indexed.get(auction_id)
            if row is None or row["status"] != "ended" or (row["winner"] or ZERO) != winner:
                fail(f"auction {auction_id}: indexed {dict(row) if row else None}, chain winner {winner}")
        if set(indexed) != set(created):
            fail(f"indexed auctions {sorted(set(indexed) ^ set(created))} differ from the chain's")
        hostile = await check_metadata(self.http, indexed, metadata, fail)
        burned_twice = {token: n for token, n in redeemed.items() if n > 1}
        if burned_twice:
            fail(f"passes burned more than once: {burned_twice}")
        return {
            "intents_on_chain": {k: sum(1 for v in outcomes.values() if v[0] == k) for k in ("settled", "rejected")},
            "intents_api_status": statuses,
            "auctions_on_chain": len(created),
            "auctions_with_winner": sum(1 for w in ended.values() if w and w[0] != ZERO),
            "passes_minted": passes,
            "passes_burned": len(redeemed),
            **hostile,
        }
