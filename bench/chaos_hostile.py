"""Hostile auction metadata for the chaos run's flows (bench/chaos_flows.py).

Some auctions are created with raw calldata encoded here, so their metadata can be anything
MeetingAuction accepts (``String[256]``, no UTF-8 check): NUL, invalid UTF-8, empty, all NUL at
the limit. Invariant (:func:`check_metadata`): every auction the chain created is indexed with
the metadata the storable-value rule gives (``indexer.codec.storable_text``) and, when that had
to alter it, the original bytes in ``metadata_hex``; ``GET /api/auctions/{id}`` says the same.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector

from indexer.codec import storable_text

CREATE_AUCTION = function_signature_to_4byte_selector("create_auction(uint256,uint256,string)")
HOSTILE = [
    b"meet\x00ing",
    b"\xff\xfe not UTF-8 \xc3(",
    b"",
    b"\x00" * 256,
    b"\xed\xa0\x80 an encoded surrogate",
    "ünïcödé ✓ \U0001f600".encode(),
]
SHARE = 0.3  # of the auctions created


def hostile_metadata(rng: random.Random) -> bytes | None:
    """Metadata for the next auction: hostile bytes (some of the time), else None (plain text)."""
    if rng.random() >= SHARE:
        return None
    if rng.random() < 0.5:
        return rng.choice(HOSTILE)
    return bytes(rng.choice([0, 0xFF, 0xC3, 0x80, 0x41]) for _ in range(rng.randint(1, 256)))


def create_auction_data(reserve: int, duration: int, metadata: bytes) -> str:
    """``create_auction`` calldata; a string's ABI encoding is that of the same bytes."""
    return "0x" + (CREATE_AUCTION + encode(["uint256", "uint256", "bytes"], [reserve, duration, metadata])).hex()


def metadata_of(log: dict[str, Any]) -> bytes:
    """The raw metadata bytes of an ``AuctionCreated`` log."""
    *_, raw = decode(["uint256", "uint256", "uint256", "bytes"], bytes.fromhex(log["data"][2:]))
    return bytes(raw)


async def check_metadata(
    http: httpx.AsyncClient, rows: dict[int, Any], created: dict[int, bytes], fail: Any
) -> dict[str, int]:
    """Every created auction's indexed and served metadata against the chain's bytes."""
    altered = 0
    for auction_id, raw in sorted(created.items()):
        text, changed = storable_text(raw)
        want = (text, "0x" + raw.hex() if changed else None)
        altered += changed
        row = rows.get(auction_id)
        if row is None:
            continue  # reported by the auction invariant
        if (row["metadata"], row["metadata_hex"]) != want:
            fail(f"auction {auction_id}: indexed metadata {row['metadata']!r}/{row['metadata_hex']}, want {want}")
        if changed or not raw:
            response = await http.get(f"/api/auctions/{auction_id}")
            got = response.json()["data"]["auction"] if response.status_code == 200 else None
            if got is None or (got["metadata"], got["metadata_hex"]) != want:
                fail(f"GET /api/auctions/{auction_id}: {response.status_code} {response.text[:200]}, want {want}")
    return {"auctions_hostile_metadata": altered}
