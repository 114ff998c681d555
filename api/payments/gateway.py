"""Stripe through the official ``stripe`` library: Checkout Sessions and webhook signatures.

The API base comes from the settings, so tests drive the real library against a local fake
(``tests/fake_stripe.py``) that speaks Stripe's HTTP API.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from api.bodies import load_json
from api.payments.problems import InvalidSignature, PaymentsUnavailable
from api.settings import ApiSettings
from core.errors import InvalidInput

log = logging.getLogger("api.payments")


class _HttpxClient(stripe.HTTPXClient):
    """The library's httpx client, sending the form body as ``content`` (httpx deprecates raw ``data``)."""

    def _get_request_args_kwargs(self, method: str, url: str, headers: Any, post_data: Any) -> list[Any]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        data = kwargs.pop("data", None)
        if isinstance(data, str | bytes):
            kwargs["content"] = data
        elif data:
            kwargs["data"] = data
        return [args, kwargs]


class StripeGateway:
    def __init__(self, settings: ApiSettings) -> None:
        self.secret_key = settings.stripe_secret_key.get_secret_value()
        self.webhook_secret = settings.stripe_webhook_secret.get_secret_value()
        self.tolerance = settings.stripe_webhook_tolerance
        self.http = _HttpxClient(timeout=settings.stripe_timeout)
        self.client = stripe.StripeClient(
            self.secret_key or "sk_unconfigured",
            base_addresses={"api": settings.stripe_api_base.rstrip("/")},
            http_client=self.http,
            max_network_retries=2,  # the library retries with the same Idempotency-Key
        )

    async def create_checkout(self, params: dict[str, Any], idempotency_key: str) -> tuple[str, str]:
        """Create a Checkout Session; returns (session id, URL to send the buyer to)."""
        if not self.secret_key:
            raise PaymentsUnavailable("payments are not configured (API_STRIPE_SECRET_KEY)")
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            log.warning("checkout session not created: %r (cause %r)", exc, exc.__cause__ or exc.__context__)
            raise PaymentsUnavailable(
                "the payment provider refused or did not answer", details={"provider_error": type(exc).__name__}
            ) from exc
        if not session.id or not session.url:
            raise PaymentsUnavailable("the payment provider answered without a session URL")
        return session.id, session.url

    def _configured(self) -> None:
        if not self.secret_key:
            raise PaymentsUnavailable("payments are not configured (API_STRIPE_SECRET_KEY)")

    @staticmethod
    def _refused(exc: stripe.StripeError) -> PaymentsUnavailable:
        log.warning("stripe call failed: %r (cause %r)", exc, exc.__cause__ or exc.__context__)
        return PaymentsUnavailable(
            "the payment provider refused or did not answer", details={"provider_error": type(exc).__name__}
        )

    async def create_customer(self, params: dict[str, Any], idempotency_key: str) -> str:
        """A Stripe Customer (POST /v1/customers); returns its id."""
        self._configured()
        try:
            customer = await self.client.v1.customers.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise self._refused(exc) from exc
        return customer.id

    async def subscription(self, subscription_id: str) -> dict[str, Any]:
        """The Subscription as Stripe has it now (GET /v1/subscriptions/{id})."""
        self._configured()
        try:
            found = await self.client.v1.subscriptions.retrieve_async(subscription_id)
        except stripe.StripeError as exc:
            raise self._refused(exc) from exc
        return found.to_dict(recursive=True)

    async def update_subscription(
        self, subscription_id: str, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        """``Subscription.modify`` (POST /v1/subscriptions/{id}): a new price, cancel_at_period_end, metadata."""
        self._configured()
        try:
            updated = await self.client.v1.subscriptions.update_async(
                subscription_id,
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise self._refused(exc) from exc
        return updated.to_dict(recursive=True)

    async def checkout_session(self, session_id: str) -> dict[str, Any]:
        """The Checkout Session as Stripe has it now (GET /v1/checkout/sessions/{id})."""
        if not self.secret_key:
            raise PaymentsUnavailable("payments are not configured (API_STRIPE_SECRET_KEY)")
        try:
            session = await self.client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise PaymentsUnavailable(
                "the payment provider refused or did not answer", details={"provider_error": type(exc).__name__}
            ) from exc
        return session.to_dict(recursive=True)

    def verify(self, payload: bytes, header: str | None) -> dict[str, Any]:
        """The event, if ``header`` is a valid, recent Stripe signature of ``payload``; else 400."""
        if not self.webhook_secret:
            raise InvalidSignature("webhooks are not configured (API_STRIPE_WEBHOOK_SECRET)")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidSignature("the body is not UTF-8") from exc
        try:
            stripe.WebhookSignature.verify_header(text, header, self.webhook_secret, self.tolerance)
        except stripe.SignatureVerificationError as exc:
            reason = str(exc)[:120]
            raise InvalidSignature("the Stripe-Signature header does not verify", details={"reason": reason}) from None
        event = load_json(payload)  # the one body parser: too deep, NUL, NaN -> 400
        if not (
            isinstance(event, dict)
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
            and isinstance(event.get("data"), dict)
            and isinstance(event["data"].get("object"), dict)
        ):
            raise InvalidInput("the body is not a Stripe event")
        return event

    async def close(self) -> None:
        await self.http.close_async()
