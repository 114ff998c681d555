"""The served OpenAPI document: every route documented with its request and response schemas."""

from __future__ import annotations

from sanic import Sanic


async def test_every_route_is_documented_with_schemas(app: Sanic) -> None:
    _, response = await app.asgi_client.get("/docs/openapi.json")
    assert response.status == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in ("/api/balances/{address}", "/api/contracts/balances", "/api/auth/login", "/api/auth/siwe/verify",
                 "/api/mints/{payment_ref}", "/api/transfers", "/api/feed/sse", "/api/auth/me"):  # fmt: skip
        assert path in paths, sorted(paths)
    for path, operations in paths.items():
        for method, op in operations.items():
            assert "default" in op["responses"], (method, path)
            if path not in {"/api/feed/sse", "/metrics", "/health", "/ready"}:
                ok = next(v for k, v in op["responses"].items() if k.startswith(("2", "3")))  # 302: sign-in redirects
                assert "$ref" in ok["content"]["application/json"]["schema"], (method, path)
            if method in {"post", "put"}:
                assert "$ref" in op["requestBody"]["content"]["application/json"]["schema"], (method, path)
    schemas = spec["components"]["schemas"]
    assert schemas["ErrorEnvelope"]["required"] == ["success", "error"]
