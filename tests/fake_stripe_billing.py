"""The billing half of the Stripe fake (``tests/fake_stripe.py``): Prices, Customers, Subscriptions and
Invoices as Stripe's API shows them at the library's pinned version (``current_period_*`` on the
subscription items; an invoice names its subscription under ``parent.subscription_details``, a line
its price under ``pricing.price_details`` and whether it is a proration under
``parent.subscription_item_details``).

- ``POST /v1/customers``, ``GET /v1/customers/{id}``
- ``GET /v1/subscriptions/{id}``, ``POST /v1/subscriptions/{id}`` (``items[0][price]``,
  ``cancel_at_period_end``, ``proration_behavior``: ``create_prorations`` (the default: pending items
  on the next invoice), ``always_invoice`` (an invoice paid now) or ``none``; ``metadata``),
  ``DELETE /v1/subscriptions/{id}`` (cancel now)
- a completed subscription-mode Checkout creates the customer (unless given), the subscription and
  its first invoice (paid); ``renew`` ends a period as Stripe's clock would: the next invoice (paid),
  or the end of a subscription set to cancel at period end.

Every event made goes to ``events`` in the order Stripe would send it.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

MONTH = 30 * 86400
NOT_FOUND = "resource_missing"


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


def error(status: int, message: str, code: str | None = None, param: str | None = None) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code:
        body["code"] = code
    if param:
        body["param"] = param
    return status, {"error": body}


def _listed(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": False, "total_count": len(data), "url": url}


class Billing:
    """Mixed into ``FakeStripe`` (which provides ``event`` and the HTTP server)."""

    url: str
    sessions: dict[str, dict[str, Any]]

    def _init_billing(self) -> None:
        self.prices: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.pending_items: dict[str, list[dict[str, Any]]] = {}  # subscription -> proration lines
        self.events: list[dict[str, Any]] = []
        self._clock = 0

    @staticmethod
    def event(
        kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None, created: int | None = None
    ) -> dict[str, Any]:
        raise NotImplementedError  # FakeStripe's

    def now(self) -> int:
        """Stripe's clock: wall time, but strictly increasing, so events made in order have rising ``created``."""
        self._clock = max(int(time.time()), self._clock + 1)
        return self._clock

    def emit(self, kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        made = self.event(kind, _copy(obj), previous, self.now())
        self.events.append(made)
        return made

    def last(self, kind: str) -> dict[str, Any]:
        return next(e for e in reversed(self.events) if e["type"] == kind)

    # ------------------------------------------------------------------ prices (set up by the tests)
    def add_price(self, price_id: str, unit_amount: int, currency: str = "usd", interval: str = "month") -> None:
        self.prices[price_id] = {
            "id": price_id, "object": "price", "active": True, "billing_scheme": "per_unit", "currency": currency,
            "livemode": False, "metadata": {}, "product": "prod_" + price_id.removeprefix("price_"),
            "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
            "type": "recurring", "unit_amount": unit_amount, "unit_amount_decimal": str(unit_amount),
        }  # fmt: skip

    # ------------------------------------------------------------------ HTTP
    def billing_post(self, path: str, form: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if path == "/v1/customers":
            return 200, self._create_customer(form)
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["v1", "subscriptions"]:
            sub = self.subscriptions.get(parts[2])
            if sub is None:
                return error(404, f"No such subscription: '{parts[2]}'", NOT_FOUND, "id")
            return self._update(sub, form)
        return None

    def billing_get(self, path: str) -> tuple[int, dict[str, Any]] | None:
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "v1":
            return None
        store = {"customers": self.customers, "subscriptions": self.subscriptions, "invoices": self.invoices}
        if parts[1] not in store:
            return None
        found = store[parts[1]].get(parts[2])
        if found is None:
            return error(404, f"No such {parts[1][:-1]}: '{parts[2]}'", NOT_FOUND, "id")
        return 200, found

    def billing_delete(self, path: str) -> tuple[int, dict[str, Any]] | None:
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[:2] != ["v1", "subscriptions"]:
            return None
        sub = self.subscriptions.get(parts[2])
        if sub is None:
            return error(404, f"No such subscription: '{parts[2]}'", NOT_FOUND, "id")
        if sub["status"] == "canceled":
            return error(400, "This subscription is already canceled.")
        return 200, self._end(sub)

    # ------------------------------------------------------------------ customers
    def _create_customer(self, form: dict[str, Any]) -> dict[str, Any]:
        customer = {
            "id": _id("cus"), "object": "customer", "created": self.now(), "email": form.get("email"),
            "name": form.get("name"), "description": form.get("description"), "metadata": form.get("metadata", {}),
            "livemode": False, "invoice_prefix": secrets.token_hex(4).upper(), "balance": 0, "delinquent": False,
        }  # fmt: skip
        self.customers[customer["id"]] = customer
        self.emit("customer.created", customer)
        return customer

    # ------------------------------------------------------------------ subscriptions
    def subscription_session_checks(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]] | dict[str, Any]:
        """A subscription-mode session's line: its Price must exist and be recurring; returns the price."""
        items = form.get("line_items") or []
        if not items or not isinstance(items[0], dict) or "price" not in items[0]:
            return error(400, "line_items[0][price] is required in subscription mode", param="line_items")
        price = self.prices.get(items[0]["price"])
        if price is None:
            return error(400, f"No such price: '{items[0]['price']}'", NOT_FOUND, "line_items[0][price]")
        customer = form.get("customer")
        if customer is not None and customer not in self.customers:
            return error(400, f"No such customer: '{customer}'", NOT_FOUND, "customer")
        return price

    def start_subscription(self, session: dict[str, Any], form: dict[str, Any]) -> None:
        """A subscription-mode Checkout paid: customer (unless given), subscription, its first invoice."""
        customer = session["customer"] or self._create_customer({"email": session.get("customer_email")})["id"]
        price = self.prices[form["line_items"][0]["price"]]
        start = self.now()
        sub_id = _id("sub")
        item = {
            "id": _id("si"), "object": "subscription_item", "created": start, "metadata": {}, "price": price,
            "quantity": int(form["line_items"][0].get("quantity", 1)), "subscription": sub_id,
            "current_period_start": start, "current_period_end": start + MONTH,
        }  # fmt: skip
        sub = {
            "id": sub_id, "object": "subscription", "customer": customer, "status": "active",
            "cancel_at_period_end": False, "cancel_at": None, "canceled_at": None, "ended_at": None,
            "collection_method": "charge_automatically", "created": start, "start_date": start,
            "billing_cycle_anchor": start, "currency": price["currency"], "latest_invoice": None, "livemode": False,
            "metadata": (form.get("subscription_data") or {}).get("metadata", {}),
            "items": _listed([item], f"/v1/subscription_items?subscription={sub_id}"),
        }  # fmt: skip
        self.subscriptions[sub_id] = sub
        self.emit("customer.subscription.created", sub)
        invoice = self._invoice(sub, "subscription_create", [self._line(sub, item, start, start + MONTH)])
        session.update(status="complete", payment_status="paid", customer=customer, subscription=sub_id,
                       invoice=invoice["id"])  # fmt: skip

    def _update(self, sub: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if sub["status"] in ("canceled", "incomplete_expired"):
            return error(400, "A canceled subscription can only update its cancellation_details and metadata.")
        previous: dict[str, Any] = {}
        behaviour = form.get("proration_behavior", "create_prorations")
        if behaviour not in ("create_prorations", "always_invoice", "none"):
            return error(400, f"Invalid proration_behavior: {behaviour}", param="proration_behavior")
        item = sub["items"]["data"][0]
        changes = form.get("items") or []
        if changes:
            change = changes[0]
            if change.get("id", item["id"]) != item["id"]:
                return error(400, f"No such subscription item: '{change.get('id')}'", NOT_FOUND, "items[0][id]")
            price = self.prices.get(change.get("price", ""))
            if price is None:
                return error(400, f"No such price: '{change.get('price')}'", NOT_FOUND, "items[0][price]")
            if price["id"] != item["price"]["id"]:
                previous["items"] = _copy(sub["items"])
                lines = self._prorate(sub, item, item["price"], price) if behaviour != "none" else []
                item["price"] = price
                if behaviour == "always_invoice" and lines:
                    self._invoice(sub, "subscription_update", lines)
                elif lines:
                    self.pending_items.setdefault(sub["id"], []).extend(lines)
        if "cancel_at_period_end" in form:
            flag = form["cancel_at_period_end"] == "true"
            if flag != sub["cancel_at_period_end"]:
                previous.update(cancel_at_period_end=sub["cancel_at_period_end"], cancel_at=sub["cancel_at"],
                                canceled_at=sub["canceled_at"])  # fmt: skip
                sub.update(cancel_at_period_end=flag, cancel_at=item["current_period_end"] if flag else None,
                           canceled_at=self.now() if flag else None)  # fmt: skip
        if "metadata" in form:
            previous["metadata"] = dict(sub["metadata"])
            sub["metadata"] = {**sub["metadata"], **form["metadata"]}
        if previous:
            self.emit("customer.subscription.updated", sub, previous)
        return 200, sub

    def _prorate(
        self, sub: dict[str, Any], item: dict[str, Any], old: dict[str, Any], new: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Unused time on the old price credited, the rest of the period on the new price charged."""
        start, end, now = item["current_period_start"], item["current_period_end"], self.now()
        left = max(0.0, (end - now) / (end - start))
        credit = self._line(sub, {**item, "price": old}, now, end, amount=-round(old["unit_amount"] * left))
        debit = self._line(sub, {**item, "price": new}, now, end, amount=round(new["unit_amount"] * left))
        for line in (credit, debit):
            line["parent"]["subscription_item_details"].update(proration=True, invoice_item=_id("ii"))
            line["description"] = ("Unused time on " if line is credit else "Remaining time on ") + line["description"]
        return [credit, debit]

    def _end(self, sub: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        sub.update(status="canceled", ended_at=now, canceled_at=sub["canceled_at"] or now)
        self.emit("customer.subscription.deleted", sub)
        return sub

    def renew(self, sub_id: str) -> list[dict[str, Any]]:
        """The period ends: a subscription set to cancel ends; else the next period's invoice is paid."""
        sub = self.subscriptions[sub_id]
        first = len(self.events)
        if sub["status"] == "canceled":
            return []  # nothing is billed any more
        if sub["cancel_at_period_end"]:
            self._end(sub)
            return self.events[first:]
        item = sub["items"]["data"][0]
        start = item["current_period_end"]
        previous = {"items": _copy(sub["items"])}
        item.update(current_period_start=start, current_period_end=start + MONTH)
        lines = [*self.pending_items.pop(sub_id, []), self._line(sub, item, start, start + MONTH)]
        self._invoice(sub, "subscription_cycle", lines)
        self.emit("customer.subscription.updated", sub, previous)
        return self.events[first:]

    # ------------------------------------------------------------------ invoices
    def _line(
        self, sub: dict[str, Any], item: dict[str, Any], start: int, end: int, amount: int | None = None
    ) -> dict[str, Any]:
        price, quantity = item["price"], item["quantity"]
        amount = price["unit_amount"] * quantity if amount is None else amount
        return {
            "id": _id("il"), "object": "line_item", "amount": amount, "currency": price["currency"],
            "description": f"{quantity} x {price['product']}", "discount_amounts": [], "discountable": True,
            "discounts": [], "invoice": None, "livemode": False, "metadata": {},
            "parent": {
                "type": "subscription_item_details", "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None, "proration": False, "proration_details": {"credited_items": None},
                    "subscription": sub["id"], "subscription_item": item["id"],
                },
            },
            "period": {"start": start, "end": end},
            "pricing": {"type": "price_details", "price_details": {"price": price["id"], "product": price["product"]},
                        "unit_amount_decimal": price["unit_amount_decimal"]},
            "quantity": quantity, "subtotal": amount, "taxes": [],
        }  # fmt: skip

    def _invoice(self, sub: dict[str, Any], reason: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """An invoice of ``lines``, finalized and paid at once (a card on file that works)."""
        invoice_id, now = _id("in"), self.now()
        for line in lines:
            line["invoice"] = invoice_id
        total = max(0, sum(line["amount"] for line in lines))
        invoice = {
            "id": invoice_id, "object": "invoice", "customer": sub["customer"], "billing_reason": reason,
            "collection_method": "charge_automatically", "currency": sub["currency"], "created": now,
            "amount_due": total, "amount_paid": total, "amount_remaining": 0, "subtotal": total, "total": total,
            "attempt_count": 1, "attempted": True, "livemode": False, "metadata": {},
            "number": f"{self.customers[sub['customer']]['invoice_prefix']}-{len(self.invoices) + 1:04d}",
            "parent": {
                "type": "subscription_details", "quote_details": None,
                "subscription_details": {"subscription": sub["id"], "metadata": dict(sub["metadata"]),
                                         "subscription_proration_date": None},
            },
            "lines": _listed(lines, f"/v1/invoices/{invoice_id}/lines"),
            "period_start": min(line["period"]["start"] for line in lines),
            "period_end": max(line["period"]["end"] for line in lines),
            "status": "paid",
            "status_transitions": {"finalized_at": now, "paid_at": now, "marked_uncollectible_at": None,
                                   "voided_at": None},
        }  # fmt: skip
        self.invoices[invoice_id] = invoice
        sub["latest_invoice"] = invoice_id
        self.emit("invoice.paid", invoice)
        return invoice


def _copy(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_copy(v) for v in obj]
    return obj
