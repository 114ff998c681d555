"""Creator verification against moto's S3 wire server: identity documents are private objects no one but
an admin reads (not other users, not the creator after submission, not after the presigned link expires),
every admin read is logged; approval of the creator role can require a verified identity; payout details
are stored encrypted, answered masked, changed only with the current password, in the sensitive tier."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sanic import Sanic

from api.verify.payouts import Payouts, iban_valid, routing_valid
from tests.fakes import FakeSmtpServer
from tests.integration.api.conftest import api_settings, make_app
from tests.integration.api.test_media import image, post_form
from tests.integration.api.tipping import PASSWORD, Person, login, person
from tests.s3 import keys, s3_client, s3_endpoint, s3_settings

__all__ = ["s3_client", "s3_endpoint", "s3_settings"]  # fixtures
IBAN = "DE89370400440532013000"


@pytest.fixture
async def app(
    db_url: str, chain: str, manifest_path: Path, redis: object, smtp: FakeSmtpServer, s3_settings: dict[str, Any],
    s3_client: Any,
) -> Sanic:  # fmt: skip
    await s3_client.create_bucket(Bucket=s3_settings["s3_bucket"])
    settings = api_settings(db_url, chain, manifest_path, verification_read_ttl=2, creator_requires_verification=True,
                            payout_key="a-test-payout-key-of-some-length", **s3_settings)  # fmt: skip
    return make_app(settings, smtp)


async def document(app: Sanic, who: Person) -> str:
    _, form = await app.asgi_client.post(
        "/api/media/uploads", headers=who.headers, json={"purpose": "verification", "content_type": "image/png"}
    )
    assert form.status == 201, form.text
    data = form.json["data"]
    assert await post_form(data, image("PNG")) in (200, 201, 204)
    _, confirmed = await app.asgi_client.post(f"/api/media/{data['id']}/confirm", headers=who.headers, json={})
    assert confirmed.status == 200, confirmed.text
    assert confirmed.json["data"]["variants"] == {}  # a private object: no URL, even for its owner
    return str(data["id"])


async def test_documents_are_read_by_admins_only_and_logged(app: Sanic, pool: asyncpg.Pool, s3_client: Any) -> None:
    admin, applicant, other = await person(app, pool, role="admin"), await person(app, pool), await person(app, pool)
    doc = await document(app, applicant)
    bucket = app.ctx.settings.s3_bucket
    assert all(k.startswith(f"private/{doc}/") for k in await keys(s3_client, bucket))  # never under media/

    for headers in (applicant.headers, other.headers, {}):
        _, read = await app.asgi_client.get(f"/api/media/{doc}", headers=headers)
        assert read.status == 404, read.text
    _, stolen = await app.asgi_client.post(
        "/api/verification", headers=other.headers, json={"document_kind": "passport", "media_ids": [doc]}
    )
    assert stolen.status == 404  # not theirs
    body = {"document_kind": "passport", "media_ids": [doc]}
    _, submitted = await app.asgi_client.post("/api/verification", headers=applicant.headers, json=body)
    assert submitted.status == 201, submitted.text
    vid = submitted.json["data"]["id"]
    assert submitted.json["data"]["status"] == "pending" and submitted.json["data"]["documents"] == 1
    _, twice = await app.asgi_client.post("/api/verification", headers=applicant.headers, json=body)
    assert twice.status == 409

    for headers in (applicant.headers, other.headers):  # the creator after submission, another user
        _, listed = await app.asgi_client.get("/api/admin/verifications", headers=headers)
        _, detail = await app.asgi_client.get(f"/api/admin/verifications/{vid}", headers=headers)
        assert (listed.status, detail.status) == (403, 403)
        _, read = await app.asgi_client.get(f"/api/media/{doc}", headers=headers)
        assert read.status == 404
    _, mine = await app.asgi_client.get("/api/verification", headers=applicant.headers)
    assert mine.status == 200 and "document_urls" not in mine.json["data"]

    _, listed = await app.asgi_client.get("/api/admin/verifications", headers=admin.headers)
    assert [v["id"] for v in listed.json["data"]["items"]] == [vid]
    _, detail = await app.asgi_client.get(f"/api/admin/verifications/{vid}", headers=admin.headers)
    assert detail.status == 200, detail.text
    urls = detail.json["data"]["document_urls"]
    assert detail.json["data"]["expires_in"] == 2 and [u["media_id"] for u in urls] == [doc]
    link = urls[0]["variants"]["large"]["url"]
    assert f"private/{doc}/large.webp" in link and "X-Amz-Expires=2" in link
    async with httpx.AsyncClient() as client:
        fresh = await client.get(link)
        assert fresh.status_code == 200 and fresh.content[:4] == b"RIFF"
        deadline = time.monotonic() + 60
        while (expired := await client.get(link)).status_code == 200 and time.monotonic() < deadline:  # noqa: ASYNC110 (polls the store)
            await asyncio.sleep(0.5)
        assert expired.status_code == 403 and b"expired" in expired.content.lower()  # the store refuses it

    _, views = await app.asgi_client.get(f"/api/admin/verifications/{vid}/views", headers=admin.headers)
    assert [(v["admin_id"], v["media_id"]) for v in views.json["data"]["items"]] == [(admin.id, doc)]
    assert await pool.fetchval("SELECT count(*) FROM verification_document_views") == 1


async def test_creator_approval_needs_a_verified_identity(app: Sanic, pool: asyncpg.Pool) -> None:
    admin, applicant = await person(app, pool, role="admin"), await person(app, pool)
    body = {"display_name": "Vee", "bio": "", "categories": []}
    assert (await app.asgi_client.post("/api/creators/apply", headers=applicant.headers, json=body))[1].status == 201
    _, early = await app.asgi_client.post(f"/api/admin/creators/{applicant.id}/approve", headers=admin.headers)
    assert early.status == 409 and early.json["error"]["details"]["reason"] == "identity_not_verified"

    doc = await document(app, applicant)
    _, submitted = await app.asgi_client.post(
        "/api/verification", headers=applicant.headers, json={"document_kind": "id_card", "media_ids": [doc]}
    )
    vid = submitted.json["data"]["id"]
    _, rejected = await app.asgi_client.post(
        f"/api/admin/verifications/{vid}/reject", headers=admin.headers, json={"reason": "blurry"}
    )
    assert rejected.status == 200 and rejected.json["data"]["reason"] == "blurry"
    _, decided = await app.asgi_client.post(f"/api/admin/verifications/{vid}/approve", headers=admin.headers)
    assert decided.status == 409  # decided once
    _, still = await app.asgi_client.post(f"/api/admin/creators/{applicant.id}/approve", headers=admin.headers)
    assert still.status == 409

    doc2 = await document(app, applicant)
    _, again = await app.asgi_client.post(
        "/api/verification", headers=applicant.headers, json={"document_kind": "passport", "media_ids": [doc2]}
    )
    _, ok = await app.asgi_client.post(f"/api/admin/verifications/{again.json['data']['id']}/approve",
                                       headers=admin.headers)  # fmt: skip
    assert ok.status == 200 and ok.json["data"]["status"] == "approved"
    _, approved = await app.asgi_client.post(f"/api/admin/creators/{applicant.id}/approve", headers=admin.headers)
    assert approved.status == 200, approved.text


async def test_payout_details_encrypted_masked_and_password_checked(app: Sanic, pool: asyncpg.Pool) -> None:
    admin = await person(app, pool, role="admin")
    await pool.execute("UPDATE users SET role = 'creator' WHERE id = $1", (fan := await person(app, pool)).id)
    email = await pool.fetchval("SELECT email FROM users WHERE id = $1", fan.id)
    star = Person(fan.id, {"Authorization": f"Bearer {(await login(app, email))['access_token']}"}, fan.account)
    plain = await person(app, pool)
    body = {"current_password": PASSWORD, "method": "iban", "iban": "de89 3704 0044 0532 0130 00",
            "account_holder": "A"}  # fmt: skip
    _, fan_put = await app.asgi_client.put("/api/payout-details", headers=plain.headers, json=body)
    assert fan_put.status == 403  # creators only

    _, saved = await app.asgi_client.put("/api/payout-details", headers=star.headers, json=body)
    assert saved.status == 200, saved.text
    assert saved.json["data"]["masked"] == "DE•• •••• 3000" and "0532013" not in saved.text
    _, shown = await app.asgi_client.get("/api/payout-details", headers=star.headers)
    assert shown.json["data"] == saved.json["data"] and IBAN not in shown.text
    raw = await pool.fetchrow("SELECT * FROM payout_details WHERE user_id = $1", star.id)
    assert IBAN.encode() not in bytes(raw["ciphertext"]) and b"0532013000" not in bytes(raw["ciphertext"])
    assert IBAN not in str(dict(raw)) and len(raw["ciphertext"]) > 28
    payouts = Payouts(pool, app.ctx.settings)
    assert (await payouts.reveal(star.id))["iban"] == IBAN  # it opens under the key, for its own user only
    await pool.execute("UPDATE payout_details SET user_id = $1 WHERE user_id = $2", admin.id, star.id)
    with pytest.raises(Exception, match="do not open"):
        await payouts.reveal(admin.id)
    await pool.execute("UPDATE payout_details SET user_id = $1 WHERE user_id = $2", star.id, admin.id)

    _, wrong = await app.asgi_client.put("/api/payout-details", headers=star.headers,
                                         json={**body, "current_password": "not-it"})  # fmt: skip
    assert wrong.status == 403 and wrong.json["error"]["details"]["reason"] == "password"
    _, bad_iban = await app.asgi_client.put("/api/payout-details", headers=star.headers,
                                            json={**body, "iban": "DE00370400440532013000"})  # fmt: skip
    assert bad_iban.status == 400
    _, limited = await app.asgi_client.put("/api/payout-details", headers=star.headers, json=body)
    assert limited.status == 429 and limited.json["error"]["details"]["tier"] == "sensitive"  # 3 per 15 min
    _, unchanged = await app.asgi_client.get("/api/payout-details", headers=star.headers)
    assert unchanged.json["data"]["masked"] == "DE•• •••• 3000"


def test_bank_number_checks() -> None:
    assert iban_valid(IBAN) and not iban_valid("DE89370400440532013001") and not iban_valid("XX")
    assert routing_valid("011000015") and not routing_valid("011000016") and not routing_valid("12345678")
