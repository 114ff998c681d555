"""Creators: application → admin review → creator role and public profile; follow / block."""

from __future__ import annotations

import asyncpg
from sanic import Sanic

from tests.integration.api.tipping import creator, login, person


async def test_application_review_and_the_creator_role(app: Sanic, pool: asyncpg.Pool) -> None:
    admin = await person(app, pool, role="admin")
    applicant = await person(app, pool)
    body = {"display_name": "Bea", "bio": "music", "categories": ["music", "live", "music"]}
    _, applied = await app.asgi_client.post("/api/creators/apply", headers=applicant.headers, json=body)
    assert applied.status == 201, applied.text
    assert applied.json["data"]["status"] == "pending" and applied.json["data"]["categories"] == ["live", "music"]
    _, twice = await app.asgi_client.post("/api/creators/apply", headers=applicant.headers, json=body)
    assert twice.status == 409
    _, listed = await app.asgi_client.get("/api/admin/creators/applications", headers=admin.headers)
    assert [a["user_id"] for a in listed.json["data"]["items"]] == [applicant.id]

    _, self_approve = await app.asgi_client.post(
        f"/api/admin/creators/{applicant.id}/approve", headers=applicant.headers
    )
    assert self_approve.status == 403
    _, rejected = await app.asgi_client.post(
        f"/api/admin/creators/{applicant.id}/reject", headers=admin.headers, json={"reason": "no portfolio"}
    )
    assert rejected.status == 200 and rejected.json["data"]["status"] == "rejected"
    assert rejected.json["data"]["reason"] == "no portfolio"
    _, none_open = await app.asgi_client.post(f"/api/admin/creators/{applicant.id}/approve", headers=admin.headers)
    assert none_open.status == 404
    _, no_profile = await app.asgi_client.get(f"/api/creators/{applicant.id}")
    assert no_profile.status == 404

    _, again = await app.asgi_client.post("/api/creators/apply", headers=applicant.headers, json=body)
    assert again.status == 201
    _, approved = await app.asgi_client.post(f"/api/admin/creators/{applicant.id}/approve", headers=admin.headers)
    assert approved.status == 200 and approved.json["data"]["status"] == "approved"
    email = await pool.fetchval("SELECT email FROM users WHERE id = $1", applicant.id)
    assert (await login(app, email))["user"]["role"] == "creator"
    _, as_creator = await app.asgi_client.post("/api/creators/apply", headers=applicant.headers, json=body)
    assert as_creator.status == 409

    _, profile = await app.asgi_client.get(f"/api/creators/{applicant.id}")
    assert profile.status == 200, profile.text
    data = profile.json["data"]
    assert (data["display_name"], data["categories"], data["followers"], data["followed_by_me"]) == (
        "Bea", ["live", "music"], 0, None,
    )  # fmt: skip
    assert data["wallets"] == [applicant.address.lower()] and data["received"] == [] and data["earnings"] == []
    _, page = await app.asgi_client.get("/api/creators?limit=1")
    assert [c["id"] for c in page.json["data"]["items"]] == [applicant.id]
    for bad in ("0", "abc", "9" * 19):
        _, response = await app.asgi_client.get(f"/api/creators/{bad}")
        assert response.status == 400, bad


async def test_follow_unfollow_block_and_followers(app: Sanic, pool: asyncpg.Pool) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    fans = [await person(app, pool) for _ in range(3)]
    for fan in fans:
        _, followed = await app.asgi_client.post(f"/api/creators/{star.id}/follow", headers=fan.headers)
        assert followed.status == 200, followed.text
    _, twice = await app.asgi_client.post(f"/api/creators/{star.id}/follow", headers=fans[0].headers)
    assert twice.json["data"] == {"creator_id": star.id, "following": True, "followers": 3}  # idempotent
    _, profile = await app.asgi_client.get(f"/api/creators/{star.id}", headers=fans[0].headers)
    assert profile.json["data"]["followers"] == 3 and profile.json["data"]["followed_by_me"] is True

    _, unfollowed = await app.asgi_client.delete(f"/api/creators/{star.id}/follow", headers=fans[1].headers)
    assert unfollowed.json["data"] == {"creator_id": star.id, "following": False, "followers": 2}
    _, not_creator = await app.asgi_client.post(f"/api/creators/{fans[0].id}/follow", headers=fans[1].headers)
    assert not_creator.status == 404
    _, self_follow = await app.asgi_client.post(f"/api/creators/{star.id}/follow", headers=star.headers)
    assert self_follow.status == 400

    # The creator blocks a fan: the follow is dropped and cannot be made again until unblocked.
    _, blocked = await app.asgi_client.post(f"/api/creators/{fans[2].id}/block", headers=star.headers)
    assert blocked.json["data"] == {"user_id": fans[2].id, "blocked": True}
    _, refollow = await app.asgi_client.post(f"/api/creators/{star.id}/follow", headers=fans[2].headers)
    assert refollow.status == 403
    _, profile = await app.asgi_client.get(f"/api/creators/{star.id}")
    assert profile.json["data"]["followers"] == 1
    _, unblocked = await app.asgi_client.delete(f"/api/creators/{fans[2].id}/block", headers=star.headers)
    assert unblocked.json["data"]["blocked"] is False
    _, refollow = await app.asgi_client.post(f"/api/creators/{star.id}/follow", headers=fans[2].headers)
    assert refollow.status == 200 and refollow.json["data"]["followers"] == 2
    _, unknown = await app.asgi_client.post("/api/creators/999999/block", headers=star.headers)
    assert unknown.status == 404
    _, anonymous = await app.asgi_client.post(f"/api/creators/{star.id}/follow")
    assert anonymous.status == 401
