"""Health and readiness: request and response models (pydantic)."""

from __future__ import annotations

from api.openapi import Model


class Health(Model):
    status: str


class Ready(Model):
    status: str
    checks: dict[str, dict[str, bool | float | str]]
