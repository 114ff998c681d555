"""Hostile input against every operation of the served OpenAPI spec.

``python -m bench.hostile --url http://127.0.0.1:8000 --dsn postgresql://…/db [--token T]``
(or through ``tests/integration/api/test_hostile.py``, which starts the API itself).

For each operation it sends: SQL-ish, oversized, control-character, non-ASCII and out-of-range
values in every path and query parameter; bodies that are invalid UTF-8, not JSON, the wrong
JSON type, deeply nested, larger than the body limit, or the right shape with every field
replaced by a hostile value; forged bearer tokens; and every path under a method the spec does not
list for it. It asserts: no 5xx; every error is the JSON envelope, with none of the database
driver's own text in it; an unlisted method is 405 with ``Allow``; and a rejected request wrote nothing (a fingerprint of every table — row count and
newest ``xmin`` — is taken before and after each rejected request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx

HOSTILE_STRINGS = [
    "' OR '1'='1",
    "1; DROP TABLE users; --",
    '" OR ""="',
    "%00",
    "\x00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "😀" * 50,
    "A" * 5000,
    "-1",
    "0x" + "f" * 64,
    str(2**256),
    "1e309",
    "NaN",
    "",
]
HOSTILE_JSON_VALUES: list[Any] = [
    "' OR 1=1 --",
    "\x00\x01\x02",
    "A" * 100_000,
    -1,
    2**256,
    1e308,
    None,
    True,
    [],
    {},
    {"$ne": None},
]
SKIP_PATHS = ("/api/feed/", "/api/auth/logout")
# PostgreSQL's / asyncpg's own wording: an error envelope carrying any of these leaks the driver's text.
DRIVER_TEXT = ("violates", "invalid byte sequence", "asyncpg", "invalid input syntax", "out of range for type", "Key (")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class Report:
    requests: int = 0
    rejected: int = 0
    accepted: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


_FINGERPRINT_SQL = """
SELECT string_agg(format('SELECT %L AS t, count(*) AS n, max(xmin::text::bigint) AS x FROM %I.%I',
                         c.relname, n.nspname, c.relname), ' UNION ALL ')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname = 'public'
"""


class Fingerprint:
    def __init__(self, conn: asyncpg.Connection, query: str) -> None:
        self.conn, self.query = conn, query

    @classmethod
    async def open(cls, dsn: str) -> Fingerprint:
        conn = await asyncpg.connect(dsn)
        return cls(conn, await conn.fetchval(_FINGERPRINT_SQL))

    async def take(self) -> dict[str, tuple[int, int | None]]:
        return {r["t"]: (r["n"], r["x"]) for r in await self.conn.fetch(self.query)}

    async def close(self) -> None:
        await self.conn.close()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    ops = []
    for path, item in spec.get("paths", {}).items():
        if any(path.startswith(skip) or path == skip for skip in SKIP_PATHS):
            continue
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                ops.append((path, method.upper(), op))
    return ops


def _params(op: dict[str, Any], where: str) -> list[str]:
    return [p["name"] for p in op.get("parameters", []) if p.get("in") == where]


def _fill(path: str, value: str) -> str:
    """``path`` with every ``{param}`` replaced by ``value``, percent-encoded."""
    return re.sub(r"\{[^}]*\}", lambda _: quote(value, safe="") or "x", path)


def _body_fields(op: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    content = op.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec.get("components", {}).get("schemas", {}).get(name, {})
    return list(schema.get("properties", {}))


def _webhook_cases(url: str) -> list[dict[str, Any]]:
    """Stripe-shaped events with forged, stale, malformed or missing signatures."""
    now = int(time.time())
    event = {
        "id": "evt_" + secrets.token_hex(8),
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_" + secrets.token_hex(8), "payment_status": "paid", "metadata": {}}},
    }
    body = json.dumps(event).encode()
    headers = [
        f"t={now},v1={secrets.token_hex(32)}",
        f"t={now - 86400},v1={secrets.token_hex(32)}",
        f"t={now + 86400},v1={secrets.token_hex(32)}",
        "t=abc,v1=zz",
        "v1=" + secrets.token_hex(32),
        "t=" + str(now),
        "' OR 1=1 --",
        "A" * 5000,
    ]
    cases: list[dict[str, Any]] = [
        {"url": url, "content": body, "headers": {"Content-Type": "application/json", "Stripe-Signature": h}}
        for h in headers
    ]
    cases.append({"url": url, "content": body, "headers": {"Content-Type": "application/json"}})
    return cases


def _cases(path: str, method: str, op: dict[str, Any], spec: dict[str, Any], max_body: int) -> list[dict[str, Any]]:
    neutral = _fill(path, "1")
    cases: list[dict[str, Any]] = []
    if "{" in path:
        cases += [{"url": _fill(path, s)} for s in HOSTILE_STRINGS]
    for name in _params(op, "query"):
        cases += [{"url": neutral, "params": {name: s}} for s in HOSTILE_STRINGS[:10]]
    if method in {"POST", "PUT", "PATCH", "DELETE"}:
        json_headers = {"Content-Type": "application/json"}
        cases += [
            {"url": neutral, "content": b'{"a": "\xff\xfe\xfd"}', "headers": json_headers},
            {"url": neutral, "content": b"\xff\xfe\x00\x01", "headers": json_headers},
            {"url": neutral, "content": b"{{{not json", "headers": json_headers},
            {"url": neutral, "content": b"[1, 2, 3]", "headers": json_headers},
            {"url": neutral, "content": b"null", "headers": json_headers},
            {"url": neutral, "content": b"[" * 5000 + b"]" * 5000, "headers": json_headers},
            {"url": neutral, "content": b'{"x": "' + b"A" * (max_body + 1) + b'"}', "headers": json_headers},
            {"url": neutral, "content": b"a=1&b=2", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        ]
        fields = _body_fields(op, spec)
        for value in HOSTILE_JSON_VALUES:
            if fields:
                body = json.dumps({f: value for f in fields}).encode()
                cases.append({"url": neutral, "content": body, "headers": json_headers})
    if "webhook" in path and method == "POST":
        cases += _webhook_cases(neutral)
    cases.append({"url": neutral, "headers": {"Authorization": "Bearer ' OR 1=1 --"}, "auth": False})
    cases.append({"url": neutral, "headers": {"Authorization": "Bearer " + "e" * 9000}, "auth": False})
    return cases


def _feature_off(response: httpx.Response) -> bool:
    """A 503 ``config_error``: a feature this deployment has not configured (e.g. the LiveKit webhook
    without LiveKit), whatever the input; any other 5xx is a failure."""
    if response.status_code != 503:
        return False
    try:
        return bool(response.json()["error"]["code"] == "config_error")
    except (ValueError, KeyError, TypeError):
        return False


async def run(url: str, dsn: str, token: str | None, *, max_body: int = 65536, limit: int | None = None) -> Report:
    report = Report()
    fingerprint = await Fingerprint.open(dsn)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            spec = (await client.get("/docs/openapi.json")).json()
            for path, method, op in _operations(spec):
                for case in _cases(path, method, op, spec, max_body)[:limit]:
                    headers = dict(case.get("headers", {}))
                    if token and case.get("auth", True) and "Authorization" not in headers:
                        headers["Authorization"] = f"Bearer {token}"
                    before = await fingerprint.take()
                    try:
                        response = await client.request(
                            method, case["url"], params=case.get("params"), content=case.get("content"), headers=headers
                        )
                    except httpx.HTTPError as exc:
                        report.failures.append(f"{method} {case['url'][:80]}: transport error {exc!r}")
                        continue
                    report.requests += 1
                    report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
                    where = f"{method} {path} -> {case['url'][:60]!r} {str(case.get('params'))[:60]}"
                    if response.status_code >= 500 and not _feature_off(response):
                        report.failures.append(f"{where}: {response.status_code} {response.text[:200]}")
                        continue
                    if response.status_code < 400:
                        report.accepted += 1
                        continue
                    report.rejected += 1
                    try:
                        envelope = response.json()
                        assert envelope["success"] is False and envelope["error"]["code"]
                    except (ValueError, KeyError, TypeError, AssertionError):
                        report.failures.append(f"{where}: {response.status_code} without the error envelope")
                    if leaked := [marker for marker in DRIVER_TEXT if marker in response.text]:
                        report.failures.append(f"{where}: driver text {leaked} in {response.text[:200]}")
                    after = await fingerprint.take()
                    changed = sorted(t for t in after if after[t] != before.get(t))
                    if changed:
                        report.failures.append(f"{where}: rejected ({response.status_code}) but wrote to {changed}")
            await _unlisted_methods(client, spec, report)
    finally:
        await fingerprint.close()
    return report


async def _unlisted_methods(client: httpx.AsyncClient, spec: dict[str, Any], report: Report) -> None:
    """Every path, under a method the spec does not list for it: 405 with ``Allow`` naming the listed ones."""
    for path, item in spec.get("paths", {}).items():
        if path.startswith(SKIP_PATHS):
            continue
        listed = {m.upper() for m in item if m.upper() in METHODS}
        for method in [m for m in METHODS if m not in listed][:1]:
            response = await client.request(method, _fill(path, "1"))
            report.requests += 1
            report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
            allowed = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
            if response.status_code != 405 or not listed <= allowed:
                report.failures.append(
                    f"{method} {path}: {response.status_code}, Allow {sorted(allowed)} (want {sorted(listed)})"
                )
            else:
                report.rejected += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--dsn", required=True, help="the API's database, to check rejected requests wrote nothing")
    parser.add_argument("--token", help="a bearer token (an admin's reaches every route)")
    parser.add_argument("--max-body", type=int, default=65536)
    args = parser.parse_args()
    report = asyncio.run(run(args.url, args.dsn, args.token, max_body=args.max_body))
    summary = {
        "requests": report.requests,
        "rejected": report.rejected,
        "accepted": report.accepted,
        "statuses": dict(sorted(report.statuses.items())),
        "failures": report.failures[:100],
    }
    print(json.dumps(summary, indent=2))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
