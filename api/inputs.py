"""Request parsing into pydantic models; anything malformed becomes :class:`InvalidInput`."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sanic import Request

from api.bodies import load_json, reject_nul
from core.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")


def _invalid(exc: ValidationError) -> InvalidInput:
    fields = [
        {"loc": ".".join(str(p) for p in err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    return InvalidInput("the input is malformed", details={"fields": fields})


def parse_body(request: Request, model: type[M]) -> M:
    """The body as ``model``, validated strictly (pydantic strict mode on the JSON): an integer field
    takes a JSON integer only (not ``true``, ``"10"`` or ``10.0``), a string field a JSON string."""
    body = request.body or b"null"
    data: Any = load_json(body)
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    try:
        return model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise _invalid(exc) from exc


def parse_query(request: Request, model: type[M]) -> M:
    # The first value of each parameter; unknown parameters are ignored.
    known = model.model_fields
    values = {name: request.args.get(name) for name in request.args if name in known}
    for value in values.values():
        reject_nul(value or "", "query")
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise _invalid(exc) from exc


def parse_address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise InvalidInput("address must be 0x followed by 40 hex digits", details={"address": value[:64]})
    return value.lower()


def parse_bytes32(value: str, name: str) -> str:
    if not _BYTES32.match(value):
        raise InvalidInput(f"{name} must be 0x followed by 64 hex digits", details={name: value[:80]})
    return value.lower()
