"""Fields read from a verified Stripe event's object: hostile-shaped values are refused, never coerced."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput


def event_text(obj: dict[str, Any], field: str) -> str | None:
    value = obj.get(field)
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= 255 else None


def event_cents(obj: dict[str, Any], field: str) -> int:
    value = obj.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"the event's {field} is not an amount in cents")
    return value
