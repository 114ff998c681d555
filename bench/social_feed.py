"""Social reads on a large graph: wrk against ``python -m api`` (2 workers) on 1M posts, 100k users, 10M follows.

``python -m bench.social_feed [--users 100000] [--creators 10000] [--follows 100] [--posts 1000000]
[--duration 15] [--connections 32]``

Builds its own migrated database and fills it with SQL (``generate_series``): ``--users`` users
(the first ``--creators`` of them creators with profiles), each following ``--follows`` creators
(users x follows rows), ``--posts`` posts (nine in ten by creators), then ``VACUUM ANALYZE``. Starts the
API with ``API_WORKERS=2`` and runs wrk (Debian: ``apt-get install -y wrk``) over random users on:

- ``GET /health`` — the baseline of the same run: the HTTP stack with no database read;
- ``GET /api/content/feed?limit=20`` — the personalised feed (followed creators and self), each
  request with its user's bearer token;
- ``GET /api/content/users/{id}/posts?limit=20`` — a creator's posts;
- ``GET /api/content/feed/public?limit=20`` — the public feed;
- ``GET /api/search?q=…`` — users and creators by a name prefix.

Prints req/s and p50/p99 per case, then ``EXPLAIN (ANALYZE, BUFFERS)`` of the feed queries and the search for one
user. Needs PostgreSQL at ``BENCH_DATABASE_URL`` and Redis at ``BENCH_REDIS_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time

import asyncpg

from api.auth.tokens import issue_access_token, signing_key
from api.content.service import NEWEST
from api.content.service import QUERIES as CONTENT
from api.profiles.search import like_prefix
from api.profiles.service import QUERIES as PROFILES
from bench.api_reads import ADMIN_DSN, Case, dsn_for, run_cases
from core.db.migrate import migrate

SECRET = "bench-secret-for-the-social-feed-0123456789"  # noqa: S105 (signs the bench's own tokens)


async def build_database(name: str, users: int, creators: int, follows: int, posts: int) -> dict[str, int]:
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    await migrate(dsn_for(name))
    conn = await asyncpg.connect(dsn_for(name))
    try:
        await conn.execute("SET session_replication_role = replica")  # bulk load: no per-row FK triggers
        await conn.execute(
            "INSERT INTO users (email, role) SELECT 'u' || g || '@bench.example', "
            "CASE WHEN g <= $2 THEN 'creator' ELSE 'user' END FROM generate_series(1, $1) g",
            users, creators,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO user_profiles (user_id, username, display_name) "
            "SELECT g, 'user_' || g, 'User ' || g FROM generate_series(1, $1) g",
            users,
        )
        await conn.execute(
            "INSERT INTO creator_profiles (user_id, display_name, bio) "
            "SELECT g, 'Creator ' || g, 'music and art ' || g FROM generate_series(1, $1) g",
            creators,
        )
        # Each user follows `follows` distinct creators (consecutive from a point that depends on the
        # user; distinct as follows < creators), never themselves. Loaded without the indexes.
        await conn.execute("ALTER TABLE follows DROP CONSTRAINT follows_pkey")
        await conn.execute("DROP INDEX follows_creator")
        await conn.execute(
            "INSERT INTO follows (follower_id, creator_id) "
            "SELECT u, c FROM generate_series(1, $1) u, generate_series(1, $2) k, "
            "LATERAL (SELECT ((u * 7919 + k) % $3) + 1 AS c) x WHERE c <> u",
            users, follows, creators,
        )  # fmt: skip
        await conn.execute("ALTER TABLE follows ADD PRIMARY KEY (follower_id, creator_id)")
        await conn.execute("CREATE INDEX follows_creator ON follows (creator_id)")
        await conn.execute("DROP INDEX posts_author")
        await conn.execute(
            "INSERT INTO posts (author_id, body, created_at) "
            "SELECT CASE WHEN g % 10 = 0 THEN (g * 31) % $2 + 1 ELSE (g * 13) % $3 + 1 END, 'post ' || g, "
            "now() - make_interval(secs => $1 - g) FROM generate_series(1, $1) g",
            posts, users, creators,
        )  # fmt: skip
        await conn.execute("CREATE INDEX posts_author ON posts (author_id, id DESC)")
        await conn.execute(
            "VACUUM ANALYZE"
        )  # the steady state autovacuum keeps: visibility map, GIN pending lists merged
        counts = {
            table: int(await conn.fetchval(f"SELECT count(*) FROM {table}")) for table in ("users", "follows", "posts")
        }
        counts["megabytes"] = int(await conn.fetchval("SELECT pg_database_size(current_database())")) // 2**20
    finally:
        await conn.close()
    return counts


async def plans(name: str, viewer: int, author: int) -> dict[str, str]:
    conn = await asyncpg.connect(dsn_for(name))
    try:
        out = {}
        for label, sql, args in (
            ("personal_feed", CONTENT.personal_feed, (viewer, NEWEST, 20)),
            ("author_posts", CONTENT.author_posts, (viewer, NEWEST, 20, author)),
            ("public_feed", CONTENT.public_feed, (viewer, NEWEST, 20)),
            ("search", PROFILES.search, ("user_12", like_prefix("user_12"), 20, 0, False, viewer)),
        ):
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", *args)
            out[label] = "\n".join(r[0] for r in rows)
        return out
    finally:
        await conn.close()


async def drop(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--creators", type=int, default=10_000)
    parser.add_argument("--follows", type=int, default=100, help="creators followed by each user")
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.follows >= args.creators:
        raise SystemExit("--follows must be below --creators")
    db = f"bench_social_{os.getpid()}"
    started = time.perf_counter()
    counts = asyncio.run(build_database(db, args.users, args.creators, args.follows, args.posts))
    print(f"database: {counts['users']:,} users ({args.creators:,} creators), {counts['follows']:,} follows,"
          f" {counts['posts']:,} posts, {counts['megabytes']:,} MB ({time.perf_counter() - started:.0f} s)")  # fmt: skip
    rng = random.Random(3)
    viewers = [rng.randrange(1, args.users + 1) for _ in range(2000)]
    tokens = [issue_access_token(signing_key(SECRET), v, "user", 3600) for v in viewers]  # the API's key
    authors = [rng.randrange(1, args.creators + 1) for _ in range(2000)]
    cases: list[Case] = [
        ("GET /health (baseline: no database read)", ["/health"], None),
        ("GET /api/content/feed?limit=20 (personalised)", ["/api/content/feed?limit=20"] * len(tokens), tokens),
        ("GET /api/content/users/{id}/posts?limit=20", [f"/api/content/users/{a}/posts?limit=20" for a in authors], None),
        ("GET /api/content/feed/public?limit=20", ["/api/content/feed/public?limit=20"], None),
        ("GET /api/search?q=user_12 (prefix)", [f"/api/search?q=user_{rng.randrange(10, 99)}" for _ in range(200)], None),
    ]  # fmt: skip
    try:
        run_cases(db, cases, args.duration, args.connections, SECRET)
        for label, plan in asyncio.run(plans(db, viewers[0], authors[0])).items():
            print(f"\n-- {label} (viewer {viewers[0]}, author {authors[0]})\n{plan}")
    finally:
        if not args.keep:
            asyncio.run(drop(db))


if __name__ == "__main__":
    main()
