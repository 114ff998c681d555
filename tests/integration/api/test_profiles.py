"""Profiles: username rules (case-insensitive uniqueness under concurrent claims, reserved words),
edits, seed 003's names and statistics, a creator by username, the social graph reads, and a password
change that signs every other session out."""

from __future__ import annotations

import asyncio
import itertools

import asyncpg
import httpx
import pytest
from sanic import Sanic

PASSWORD = "profile-password-1"
_emails = itertools.count()


async def signup(app: Sanic) -> tuple[int, dict[str, str], str]:
    email = f"profile{next(_emails)}@example.com"
    _, response = await app.asgi_client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status == 201, response.text
    data = response.json["data"]
    return data["user"]["id"], {"Authorization": f"Bearer {data['access_token']}"}, data["refresh_token"]


async def patch(app: Sanic, headers: dict[str, str], body: object) -> tuple[int, dict]:
    _, response = await app.asgi_client.patch("/api/viewer/profile", headers=headers, json=body)
    return response.status, response.json


@pytest.mark.parametrize(
    "name", ["ab", "a" * 31, "_alice", "alice_", "al__ice", "al ice", "alïce", "ADMIN", "Support", "me1"[:2]]
)
async def test_bad_and_reserved_usernames_are_refused(app: Sanic, name: str) -> None:
    _, headers, _ = await signup(app)
    status, body = await patch(app, headers, {"username": name})
    assert status == 400 and body["success"] is False, body


async def test_usernames_are_unique_case_insensitively_under_concurrent_claims(
    api_server: str, pool: asyncpg.Pool
) -> None:
    """Eight users claim spellings of one name at once against a running ``python -m api``: one wins."""
    async with httpx.AsyncClient(base_url=api_server, timeout=30) as client:
        users = []
        for _ in range(8):
            email = f"profile{next(_emails)}@example.com"
            signed = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
            assert signed.status_code == 201, signed.text
            data = signed.json()["data"]
            users.append((data["user"]["id"], {"Authorization": f"Bearer {data['access_token']}"}))
        spellings = ["Alice_1", "alice_1", "ALICE_1", "aLiCe_1"] * 2
        claims = [client.patch("/api/viewer/profile", headers=h, json={"username": n})
                  for (_, h), n in zip(users, spellings, strict=True)]  # fmt: skip
        results = await asyncio.gather(*claims)
        assert sorted(r.status_code for r in results) == [200] + [409] * 7, [r.text for r in results]
        assert await pool.fetchval("SELECT count(*) FROM user_profiles WHERE lower(username) = 'alice_1'") == 1
        winner = next(r.json()["data"] for r in results if r.status_code == 200)
        conflict = next(r.json() for r in results if r.status_code == 409)
        assert conflict["error"]["details"] == {"field": "username"}
        owner = next(h for uid, h in users if uid == winner["id"])
        again = await client.patch("/api/viewer/profile", headers=owner, json={"username": "ALICE_1"})
        assert again.status_code == 200 and again.json()["data"]["username"] == "ALICE_1"  # re-casing one's own


async def test_profile_edits_names_statistics_and_creator_by_username(app: Sanic, pool: asyncpg.Pool) -> None:
    user_id, headers, _ = await signup(app)
    status, body = await patch(app, headers, {"username": "bea_sings", "display_name": "Bea", "bio": "music"})
    assert status == 200, body
    _, names = await app.asgi_client.put(
        "/api/user/profile", headers=headers, json={"first_name": "Beatrice", "last_name": "Ro"}
    )
    assert names.status == 200 and names.json["data"]["username"] == "bea_sings"
    _, mine = await app.asgi_client.get("/api/viewer/me", headers=headers)
    data = mine.json["data"]
    assert (data["display_name"], data["bio"], data["first_name"], data["last_name"]) == (
        "Bea",
        "music",
        "Beatrice",
        "Ro",
    )
    _, seed3 = await app.asgi_client.get("/api/user/profile", headers=headers)
    assert seed3.json["data"] == data
    _, too_long = await app.asgi_client.put("/api/user/profile", headers=headers, json={"first_name": "x" * 81,
                                                                                       "last_name": ""})  # fmt: skip
    assert too_long.status == 400

    _, not_creator = await app.asgi_client.get("/api/social/creator/BEA_SINGS")
    assert not_creator.status == 404
    status, refused = await patch(app, headers, {"creator": {"display_name": "B", "bio": "", "categories": []}})
    assert status == 400 and refused["error"]["details"] == {"field": "creator"}
    await pool.execute("INSERT INTO creator_profiles (user_id, display_name) VALUES ($1, 'Bea')", user_id)
    status, edited = await patch(app, headers, {"creator": {"display_name": "Bea Live", "bio": "songs",
                                                            "categories": ["music", "live", "music"]}})  # fmt: skip
    assert status == 200 and edited["data"]["creator"]["categories"] == ["live", "music"]
    _, public = await app.asgi_client.get("/api/social/creator/BEA_SINGS")
    assert public.status == 200 and public.json["data"]["creator"]["display_name"] == "Bea Live"
    assert "first_name" not in public.json["data"]

    fan_id, fan, _ = await signup(app)
    _, followed = await app.asgi_client.post(f"/api/creators/{user_id}/follow", headers=fan)
    assert followed.status == 200, followed.text
    _, stats = await app.asgi_client.get("/api/user/statistics", headers=headers)
    assert stats.json["data"]["followers"] == 1 and stats.json["data"]["following"] == 0
    _, fan_stats = await app.asgi_client.get("/api/user/statistics", headers=fan)
    assert fan_stats.json["data"]["following"] == 1
    _, state = await app.asgi_client.get(f"/api/social/follow/{user_id}", headers=fan)
    assert state.json["data"] == {"user_id": user_id, "following": True, "followed_by": False, "blocked": False}
    _, followers = await app.asgi_client.get(f"/api/social/followers/{user_id}")
    assert [u["id"] for u in followers.json["data"]["items"]] == [fan_id]
    _, following = await app.asgi_client.get(f"/api/social/following/{fan_id}")
    assert [u["username"] for u in following.json["data"]["items"]] == ["bea_sings"]
    _, blocked = await app.asgi_client.post(f"/api/creators/{fan_id}/block", headers=headers)
    assert blocked.status == 200, blocked.text
    _, hidden = await app.asgi_client.get(f"/api/social/followers/{user_id}", headers=headers)
    assert hidden.json["data"]["items"] == []
    for bad in ("0", "x", "9" * 19):
        _, response = await app.asgi_client.get(f"/api/social/followers/{bad}")
        assert response.status == 400


async def test_followers_pagination(app: Sanic, pool: asyncpg.Pool) -> None:
    creator_id, _, _ = await signup(app)
    fans = [await signup(app) for _ in range(5)]
    for fan_id, _, _ in fans:
        await pool.execute("INSERT INTO follows (follower_id, creator_id) VALUES ($1, $2)", fan_id, creator_id)
    seen, cursor = [], None
    while True:
        url = f"/api/social/followers/{creator_id}?limit=2" + (f"&cursor={cursor}" if cursor else "")
        _, page = await app.asgi_client.get(url)
        assert page.status == 200, page.text
        seen += [u["id"] for u in page.json["data"]["items"]]
        cursor = page.json["data"]["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(f for f, _, _ in fans)


async def test_password_change_signs_out_other_sessions(app: Sanic) -> None:
    _, headers, _ = await signup(app)
    email = f"profile{next(_emails) - 1}@example.com"
    _, other = await app.asgi_client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    other_refresh = other.json["data"]["refresh_token"]

    bad = {"current_password": "nope", "new_password": "new-password-2"}
    _, wrong = await app.asgi_client.patch("/api/viewer/password", headers=headers, json=bad)
    assert wrong.status == 401
    good = {"current_password": PASSWORD, "new_password": "new-password-2"}
    _, changed = await app.asgi_client.patch("/api/viewer/password", headers=headers, json=good)
    assert changed.status == 200, changed.text
    _, signed_out = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": other_refresh})
    assert signed_out.status == 401
    _, old_access = await app.asgi_client.get("/api/viewer/me", headers=headers)
    assert old_access.status == 401  # the access token the change was made with is revoked too
    fresh = changed.json["data"]
    _, rotated = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert rotated.status == 200
    _, old_password = await app.asgi_client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert old_password.status == 401
    _, new_password = await app.asgi_client.post("/api/auth/login", json={"email": email, "password": "new-password-2"})
    assert new_password.status == 200


async def test_search_ranks_users_and_creators(app: Sanic, pool: asyncpg.Pool) -> None:
    named = {}
    for username, bio in (("jazzcat", "plays jazz"), ("jazz", "sax"), ("rocker", "loves jazz too"), ("jaz_z", "")):
        user_id, headers, _ = await signup(app)
        status, body = await patch(app, headers, {"username": username, "bio": bio})
        assert status == 200, body
        named[username] = user_id
    await pool.execute("INSERT INTO creator_profiles (user_id, display_name) VALUES ($1, 'Rock')", named["rocker"])
    _, found = await app.asgi_client.get("/api/search?q=jazz")
    assert found.status == 200, found.text
    ids = [hit["id"] for hit in found.json["data"]["items"]]
    assert ids[:2] == [named["jazz"], named["jazzcat"]]  # exact username, then the prefix
    assert set(ids) == {named["jazz"], named["jazzcat"], named["rocker"]}  # "jaz_z": "_" is no wildcard
    _, creators = await app.asgi_client.get("/api/search?q=jazz&kind=creators")
    assert [hit["id"] for hit in creators.json["data"]["items"]] == [named["rocker"]]
    _, first = await app.asgi_client.get("/api/search?q=jazz&limit=2")
    _, rest = await app.asgi_client.get(f"/api/search?q=jazz&limit=2&cursor={first.json['data']['next_cursor']}")
    assert [h["id"] for h in first.json["data"]["items"] + rest.json["data"]["items"]] == ids
    for bad in ("", "q=" + "x" * 101, "q=a&kind=streams", "q=a&limit=0"):
        _, response = await app.asgi_client.get(f"/api/search?{bad}")
        assert response.status == 400, bad
