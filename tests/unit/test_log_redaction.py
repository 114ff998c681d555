"""core.logging: secrets in keys, messages and nested values never reach a log line; request ids do."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from api.request_ids import request_id_from
from core.logging import REDACTED, bind_request_id, current_request_id, redact, setup_logging

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
STRIPE_SIGNATURE = "t=1700000000,v1=" + "ab" * 32
SECRETS = (JWT, STRIPE_SIGNATURE, "hunter2-password", "whsec_0123456789abcdef", "r3fresh-t0ken-value")


def test_redact_masks_secret_keys_and_secrets_inside_text() -> None:
    event = {
        "event": f"Authorization: Bearer {JWT} sig={STRIPE_SIGNATURE} password=hunter2-password",
        "password": "hunter2-password",
        "headers": {"Stripe-Signature": STRIPE_SIGNATURE, "Accept": "*/*"},
        "body": '{"refresh_token": "r3fresh-t0ken-value", "email": "fan@example.com"}',
        "args": ["whsec_0123456789abcdef"],
        "request_id": "kept-id",
        "status": 200,
    }
    out = redact(None, "info", dict(event))
    text = json.dumps(out)
    for secret in SECRETS:
        assert secret not in text
    assert out["password"] == REDACTED and out["headers"]["Stripe-Signature"] == REDACTED
    assert out["headers"]["Accept"] == "*/*" and out["status"] == 200 and out["request_id"] == "kept-id"
    assert "fan@example.com" in out["body"] and "Bearer [redacted]" in out["event"]


def test_json_lines_carry_an_iso_timestamp_the_process_and_the_bound_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("relayer", "INFO", json=True)
        bind_request_id("req-123")
        assert current_request_id() == "req-123"
        logging.getLogger("relayer.send").info("signed with %s", f"Bearer {JWT}", extra={"kind": "mint"})
        bind_request_id(None)
        structlog.get_logger("relayer").info("plain", password="hunter2-password")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        structlog.reset_defaults()
    first, second = lines[-2:]
    assert first["request_id"] == "req-123" and first["process"] == "relayer" and first["kind"] == "mint"
    assert first["timestamp"].endswith("Z") and "T" in first["timestamp"] and first["level"] == "info"
    assert JWT not in first["event"] and "request_id" not in second and second["password"] == REDACTED


@pytest.mark.parametrize("given", [None, "", "x" * 129, "bad id", "a\nb", "é", "<script>"])
def test_an_unsafe_or_missing_request_id_is_replaced(given: str | None) -> None:
    generated = request_id_from(given)
    assert generated != given and len(generated) == 32


def test_a_safe_request_id_is_kept() -> None:
    assert request_id_from("web-01:9f8e.7d_6c") == "web-01:9f8e.7d_6c"
