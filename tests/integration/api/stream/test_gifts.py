"""The gift catalog: seeded, public, edited by admins only."""

from __future__ import annotations

import asyncpg
from sanic import Sanic

from tests.integration.api.payments.conftest import admin_user, email_user
from tests.integration.api.stream.conftest import call


async def test_catalog_is_seeded_and_admins_edit_it(stream_app: Sanic, pool: asyncpg.Pool) -> None:
    catalog = (await call(stream_app, "get", "/api/payment/gifts")).json["data"]["gifts"]
    assert [g["slug"] for g in catalog] == ["rose", "heart", "rocket", "crown"]
    assert catalog[0] == {"slug": "rose", "name": "Rose", "price": str(10**18), "active": True}

    user = await email_user(stream_app, "bob@example.com")
    body = {"name": "Star", "price": str(2 * 10**18), "active": True}
    assert (await call(stream_app, "put", "/api/admin/gifts/star", user, json=body)).status == 403
    admin = await admin_user(stream_app, pool)
    made = await call(stream_app, "put", "/api/admin/gifts/star", admin, json=body)
    assert made.status == 200 and made.json["data"] == {"slug": "star", **body}
    hidden = await call(stream_app, "put", "/api/admin/gifts/rose", admin, json={"name": "Rose", "price": "1",
                                                                                 "active": False})  # fmt: skip
    assert hidden.status == 200
    catalog = (await call(stream_app, "get", "/api/payment/gifts")).json["data"]["gifts"]
    assert [g["slug"] for g in catalog] == ["star", "heart", "rocket", "crown"]
    for slug, bad in (("star", {**body, "price": 10}), ("star", {**body, "price": "0"}),
                      ("star", {**body, "price": str(2**256)}), ("Bad_Slug", body)):  # fmt: skip
        response = await call(stream_app, "put", f"/api/admin/gifts/{slug}", admin, json=bad)
        assert response.status == 400 and response.json["success"] is False, (slug, bad, response.text)
