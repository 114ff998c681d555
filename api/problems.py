"""Compatibility re-export: the API's domain errors now live in :mod:`core.errors`.

Import them from ``core.errors``; this module only keeps older imports working.
"""

from __future__ import annotations

from core.errors import Forbidden, InvalidCode, NotIndexedYet, RateLimited, Unauthenticated

__all__ = ["Forbidden", "InvalidCode", "NotIndexedYet", "RateLimited", "Unauthenticated"]
