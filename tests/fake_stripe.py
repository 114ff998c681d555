"""A local fake of Stripe's HTTP API for the calls the API makes, driven through the real
``stripe`` library (its API base pointed here), plus the events Stripe would send back.

- ``POST /v1/checkout/sessions`` (form-encoded, nested keys like ``line_items[0][price_data][currency]``;
  ``Idempotency-Key`` replays the first answer) and ``GET /v1/checkout/sessions/{id}``;
  a wrong API key gets Stripe's 401 error body, an unknown session its 404.
- ``complete``/``expire``/``refund``/``dispute`` change a session as Stripe would and return
  the event; ``signed`` serializes it and signs it with the library's own scheme
  (``stripe.WebhookSignature.generate_signature_header``: ``t=<ts>,v1=<HMAC-SHA256>``).
- Checkout in subscription mode (``line_items[0][price]`` a recurring Price added with ``add_price``),
  Customers, Subscriptions (retrieve, update, cancel) and Invoices: ``tests/fake_stripe_billing.py``;
  its events (``customer.subscription.*``, ``invoice.paid``, ...) go to ``events`` in Stripe's order.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import stripe

from anvil.node import free_port
from tests.fake_stripe_billing import Billing, error

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = [m.group(1) or m.group(2) for m in _KEY.finditer(key)]
        node: Any = root
        for part, following in itertools.pairwise(parts):
            child_default: Any = [] if following.isdigit() else {}
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if node[index] is None:
                    node[index] = child_default
                node = node[index]
            else:
                node = node.setdefault(part, child_default)
        last = parts[-1]
        if isinstance(node, list):
            index = int(last)
            while len(node) <= index:
                node.append(None)
            node[index] = value
        else:
            node[last] = value
    return root


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


class FakeStripe(Billing):
    def __init__(self, api_key: str = "sk_test_fake") -> None:
        self._init_billing()
        self.api_key = api_key
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sessions: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}  # session id -> charge
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.fail_next = 0  # answer this many session creations with a 500
        self._idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self._session_forms: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ HTTP
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", _id("req"))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {fake.api_key}":
                    return True
                self._answer(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
                return False

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_form(self.rfile.read(length).decode())
                fake.requests.append(("POST", self.path, form))
                if not self._authorized():
                    return
                key = self.headers.get("Idempotency-Key")
                with fake._lock:
                    if key and key in fake._idempotent:
                        self._answer(*fake._idempotent[key])
                        return
                    if fake.fail_next > 0 and self.path == "/v1/checkout/sessions":
                        fake.fail_next -= 1
                        self._answer(500, {"error": {"type": "api_error", "message": "fake outage"}})
                        return
                    if self.path == "/v1/checkout/sessions":
                        answer: tuple[int, dict[str, Any]] | None = fake._create_session(form)
                    else:
                        answer = fake.billing_post(self.path.split("?")[0], form)
                    answer = answer or error(404, "Unrecognized request URL")
                    if key:
                        fake._idempotent[key] = answer
                self._answer(*answer)

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path, {}))
                if not self._authorized():
                    return
                path = self.path.split("?")[0]
                match = re.fullmatch(r"/v1/checkout/sessions/([A-Za-z0-9_]+)", path)
                if match is None:
                    with fake._lock:
                        self._answer(*(fake.billing_get(path) or error(404, "Unrecognized request URL")))
                    return
                session = fake.sessions.get(match.group(1))
                if session is None:
                    self._answer(404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                                 "message": "No such checkout.session"}})  # fmt: skip
                    return
                self._answer(200, session)

            def do_DELETE(self) -> None:
                fake.requests.append(("DELETE", self.path, {}))
                if not self._authorized():
                    return
                with fake._lock:
                    answer = fake.billing_delete(self.path.split("?")[0])
                    self._answer(*(answer or error(404, "Unrecognized request URL")))

        return Handler

    def _create_session(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if form.get("mode") == "subscription":
            return self._create_subscription_session(form)
        items = form.get("line_items") or []
        try:
            total = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items)
            currency = items[0]["price_data"]["currency"]
        except (KeyError, IndexError, TypeError, ValueError):
            return 400, {"error": {"type": "invalid_request_error", "message": "line_items are required"}}
        if form.get("mode") != "payment" or "success_url" not in form:
            return 400, {"error": {"type": "invalid_request_error", "message": "mode and success_url are required"}}
        session_id = _id("cs")
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "currency": currency,
            "client_reference_id": form.get("client_reference_id"),
            "customer_email": form.get("customer_email"),
            "metadata": form.get("metadata", {}),
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": form["success_url"],
            "cancel_url": form.get("cancel_url"),
            "url": f"{self.url}/c/pay/{session_id}",
            "created": now,
            "expires_at": now + 86400,
            "livemode": False,
        }
        self.sessions[session_id] = session
        return 200, session

    def _create_subscription_session(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        checked = self.subscription_session_checks(form)
        if "success_url" not in form:
            return error(400, "success_url is required", param="success_url")
        if isinstance(checked, tuple):
            return checked
        total = int(checked["unit_amount"]) * int(form["line_items"][0].get("quantity", 1))
        session_id, now = _id("cs"), int(time.time())
        session = {
            "id": session_id, "object": "checkout.session", "mode": "subscription", "amount_subtotal": total,
            "amount_total": total, "currency": checked["currency"],
            "client_reference_id": form.get("client_reference_id"), "customer": form.get("customer"),
            "customer_email": form.get("customer_email"),
            "metadata": form.get("metadata", {}), "invoice": None, "subscription": None, "payment_intent": None,
            "payment_status": "unpaid", "status": "open", "success_url": form["success_url"],
            "cancel_url": form.get("cancel_url"), "url": f"{self.url}/c/pay/{session_id}", "created": now,
            "expires_at": now + 86400, "livemode": False,
        }  # fmt: skip
        self._session_forms[session_id] = form
        self.sessions[session_id] = session
        return 200, session

    # ------------------------------------------------------------------ what Stripe would send
    @staticmethod
    def event(
        kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None, created: int | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        return {
            "id": _id("evt"),
            "object": "event",
            "api_version": stripe.api_version,
            "created": created or int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }

    def complete(self, session_id: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        if session["mode"] == "subscription":
            with self._lock:
                self.start_subscription(session, self._session_forms[session_id])
                return self.emit("checkout.session.completed", session)
        session.update(status="complete", payment_status="paid", payment_intent=_id("pi"))
        self.charges[session_id] = {
            "id": _id("ch"), "object": "charge", "amount": session["amount_total"], "amount_refunded": 0,
            "refunded": False, "currency": session["currency"], "payment_intent": session["payment_intent"],
        }  # fmt: skip
        return self.event("checkout.session.completed", dict(session))

    def expire(self, session_id: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        session.update(status="expired")
        return self.event("checkout.session.expired", dict(session))

    def refund(self, session_id: str, amount: int | None = None) -> dict[str, Any]:
        charge = self.charges[session_id]
        charge["amount_refunded"] = min(charge["amount"], charge["amount_refunded"] + (amount or charge["amount"]))
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        return self.event("charge.refunded", dict(charge))

    def dispute(self, session_id: str) -> dict[str, Any]:
        charge = self.charges[session_id]
        dispute = {
            "id": _id("dp"), "object": "dispute", "amount": charge["amount"], "charge": charge["id"],
            "currency": charge["currency"], "payment_intent": charge["payment_intent"], "reason": "fraudulent",
            "status": "needs_response",
        }  # fmt: skip
        return self.event("charge.dispute.created", dispute)

    @staticmethod
    def signed(event: dict[str, Any], secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
        """The body and the Stripe-Signature header, as the library signs them."""
        body = json.dumps(event)
        return body.encode(), stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)
