"""Content: posts, edits and deletes by their author only, likes (idempotent; 50 concurrent likers on one
post against a running ``python -m api`` → an exact count), comments, the public and personalised feeds
with cursor pages, a user's posts, blocked authors hidden both ways."""

from __future__ import annotations

import asyncio
import itertools

import asyncpg
import httpx
from sanic import Sanic

PASSWORD = "content-password-1"
_emails = itertools.count()


async def signup(app: Sanic) -> tuple[int, dict[str, str]]:
    email = f"content{next(_emails)}@example.com"
    _, response = await app.asgi_client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status == 201, response.text
    data = response.json["data"]
    return data["user"]["id"], {"Authorization": f"Bearer {data['access_token']}"}


async def post(app: Sanic, headers: dict[str, str], body: str) -> int:
    _, response = await app.asgi_client.post("/api/content/posts", headers=headers, json={"body": body})
    assert response.status == 201, response.text
    return int(response.json["data"]["id"])


async def pages(app: Sanic, url: str, headers: dict[str, str] | None = None) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        _, page = await app.asgi_client.get(url + "?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert page.status == 200, page.text
        seen += [p["id"] for p in page.json["data"]["items"]]
        cursor = page.json["data"]["next_cursor"]
        if cursor is None:
            return seen


async def test_posts_comments_likes_feeds_and_blocks(app: Sanic, pool: asyncpg.Pool) -> None:
    author_id, author = await signup(app)
    _, fan = await signup(app)
    stranger_id, stranger = await signup(app)
    await pool.execute("INSERT INTO creator_profiles (user_id, display_name) VALUES ($1, 'A')", author_id)
    first = await post(app, author, "first")
    second = await post(app, author, "second")
    own = await post(app, fan, "fan's own")
    other = await post(app, stranger, "stranger's")
    _, followed = await app.asgi_client.post(f"/api/creators/{author_id}/follow", headers=fan)
    assert followed.status == 200, followed.text

    assert await pages(app, "/api/content/feed/public") == [other, own, second, first]
    assert await pages(app, "/api/content/feed", fan) == [own, second, first]
    assert await pages(app, "/api/content/posts", author) == [second, first]
    assert await pages(app, f"/api/content/users/{author_id}/posts") == [second, first]

    _, edited = await app.asgi_client.put(f"/api/content/posts/{first}", headers=author, json={"body": "first!"})
    assert edited.status == 200 and edited.json["data"]["body"] == "first!"
    _, not_yours = await app.asgi_client.put(f"/api/content/posts/{first}", headers=fan, json={"body": "mine"})
    assert not_yours.status == 403
    _, pending_media = await app.asgi_client.post(
        "/api/content/posts", headers=author, json={"body": "x", "media_ids": ["00000000-0000-4000-8000-000000000000"]}
    )
    assert pending_media.status == 404

    for _ in range(2):  # idempotent
        _, liked = await app.asgi_client.post(f"/api/content/posts/{first}/like", headers=fan)
        assert liked.status == 200 and liked.json["data"] == {"post_id": first, "liked": True, "like_count": 1}
    _, one = await app.asgi_client.get(f"/api/content/posts/{first}", headers=fan)
    assert one.json["data"]["liked"] is True and one.json["data"]["like_count"] == 1
    for _ in range(2):
        _, unliked = await app.asgi_client.post(f"/api/content/posts/{first}/like", headers=fan, json={"liked": False})
        assert unliked.json["data"]["like_count"] == 0

    for text in ("nice", "great", "again"):
        _, commented = await app.asgi_client.post("/api/content/comments", headers=fan,
                                                  json={"post_id": first, "body": text})  # fmt: skip
        assert commented.status == 201, commented.text
    _, missing = await app.asgi_client.post("/api/content/comments", headers=fan, json={"post_id": 999999, "body": "x"})
    assert missing.status == 404
    assert len(await pages(app, f"/api/content/posts/{first}/comments")) == 3
    _, counted = await app.asgi_client.get(f"/api/content/posts/{first}")
    assert counted.json["data"]["comment_count"] == 3

    _, blocked = await app.asgi_client.post(f"/api/creators/{stranger_id}/block", headers=author)
    assert blocked.status == 200, blocked.text
    assert await pages(app, "/api/content/feed/public", author) == [own, second, first]
    assert await pages(app, "/api/content/feed/public", stranger) == [other, own]
    _, hidden = await app.asgi_client.get(f"/api/content/posts/{first}", headers=stranger)
    assert hidden.status == 404
    _, no_like = await app.asgi_client.post(f"/api/content/posts/{first}/like", headers=stranger)
    assert no_like.status == 404

    _, foreign_delete = await app.asgi_client.delete(f"/api/content/posts/{first}", headers=fan)
    assert foreign_delete.status == 403
    _, deleted = await app.asgi_client.delete(f"/api/content/posts/{first}", headers=author)
    assert deleted.status == 200
    _, gone = await app.asgi_client.get(f"/api/content/posts/{first}")
    assert gone.status == 404
    for bad in ("0", "x", "9" * 19):
        _, response = await app.asgi_client.get(f"/api/content/posts/{bad}")
        assert response.status == 400
    _, anonymous = await app.asgi_client.get("/api/content/feed")
    assert anonymous.status == 401


async def test_fifty_concurrent_likes_count_exactly(api_server: str, pool: asyncpg.Pool) -> None:
    async with httpx.AsyncClient(base_url=api_server, timeout=60) as client:
        sessions = []
        for _ in range(51):
            email = f"content{next(_emails)}@example.com"
            signed = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
            assert signed.status_code == 201, signed.text
            sessions.append({"Authorization": f"Bearer {signed.json()['data']['access_token']}"})
        created = await client.post("/api/content/posts", headers=sessions[0], json={"body": "like me"})
        post_id = created.json()["data"]["id"]
        likes = [client.post(f"/api/content/posts/{post_id}/like", headers=h) for h in sessions[1:] for _ in range(2)]
        results = await asyncio.gather(*likes)
        assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]
        final = await client.get(f"/api/content/posts/{post_id}")
        assert final.json()["data"]["like_count"] == 50
    assert await pool.fetchval("SELECT count(*) FROM post_likes WHERE post_id = $1", post_id) == 50
