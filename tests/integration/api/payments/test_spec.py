"""Every payments/discount/credits route is in the served OpenAPI document with its schemas."""

from __future__ import annotations

from sanic import Sanic

ROUTES = {
    ("get", "/api/payment/packages"), ("post", "/api/payment/checkout"), ("post", "/api/payment/webhook"),
    ("get", "/api/payment/history"), ("get", "/api/payment/{payment_id}"),
    ("post", "/api/discount/validate"), ("get", "/api/discount/my-codes"),
    ("post", "/api/admin/discount-codes"), ("get", "/api/admin/flags"), ("post", "/api/admin/flags/{flag_id}/clear"),
    ("get", "/api/credits/balance"), ("get", "/api/credits/history"), ("get", "/api/credits/usage"),
    ("post", "/api/credits/spend"), ("post", "/api/credits/reserve"), ("post", "/api/credits/commit"),
    ("post", "/api/credits/release"), ("get", "/api/credits/prices"), ("get", "/api/credits/usage/features"),
    ("post", "/api/admin/credits/grant"),
    ("post", "/api/generate"), ("get", "/api/generate/status/{task_id}"), ("post", "/api/kie-callback"),
    ("get", "/api/videos"), ("get", "/api/videos/{video_id}"), ("delete", "/api/videos/{video_id}"),
    ("get", "/api/subscriptions/plans"), ("post", "/api/subscriptions/checkout"), ("get", "/api/subscriptions/status"),
    ("post", "/api/subscriptions/change"), ("post", "/api/subscriptions/cancel"), ("post", "/api/subscriptions/resume"),
    ("get", "/api/admin/subscription-plans"), ("put", "/api/admin/subscription-plans/{plan_id}"),
}  # fmt: skip


async def test_the_new_routes_are_documented(pay_app: Sanic) -> None:
    _, response = await pay_app.asgi_client.get("/docs/openapi.json")
    paths = response.json["paths"]
    for method, path in ROUTES:
        assert method in paths.get(path, {}), (method, path)
        op = paths[path][method]
        assert "default" in op["responses"]
        success = next(v for k, v in op["responses"].items() if k.startswith("2"))
        assert "$ref" in success["content"]["application/json"]["schema"], (method, path)
    webhook = paths["/api/payment/webhook"]["post"]
    assert any(p["name"] == "Stripe-Signature" and p["in"] == "header" and p["required"] for p in webhook["parameters"])
