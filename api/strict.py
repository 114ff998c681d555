"""Strict field types for amounts, quantities, limits and ids in request models.

* ``StrictInt`` (pydantic's) in bodies: a JSON integer only; ``true``, ``"10"`` and ``10.0`` are refused.
  ``api.inputs.parse_body`` also validates every body in pydantic strict mode.
* ``QueryInt`` in query strings, where every value is text: plain ASCII decimal digits only
  (pydantic's lax int would take ``"10.0"``, ``" 10"``, ``"+10"`` and ``"1_0"``).
* ``Uint256`` for uint256 amounts carried as decimal strings: a JSON string of digits, no leading
  zeros, below 2**256.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StrictInt, StrictStr, StringConstraints

__all__ = ["QueryInt", "StrictInt", "Uint256"]

_DIGITS = re.compile(r"[0-9]{1,20}")
_UINT256 = r"^(0|[1-9][0-9]{0,77})$"


def _query_int(value: object) -> object:
    if type(value) is int:  # a default
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise ValueError("must be a decimal integer (digits only)")


def _below_2_256(value: str) -> str:
    if int(value) >= 2**256:
        raise ValueError("must be below 2**256")
    return value


QueryInt = Annotated[int, BeforeValidator(_query_int)]
Uint256 = Annotated[StrictStr, StringConstraints(pattern=_UINT256), AfterValidator(_below_2_256)]
