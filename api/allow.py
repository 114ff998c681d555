"""The ``Allow`` header of a 405 (RFC 9110 §15.5.6), for every route, dynamic paths included.

Sanic's router names the allowed methods only for static paths; for a path with parameters
(``/api/creators/<id>/follow``) its 405 has no ``Allow``, and a method no route of a dynamic path
has can even come back as 404. Both are answered here by asking the router, method by method.
"""

from __future__ import annotations

from sanic import Request
from sanic.exceptions import MethodNotAllowed, NotFound

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route answers on this request's path (empty: no route has the path)."""
    router = request.app.router
    allowed = []
    for method in METHODS:
        try:
            router.get(request.path, method, request.headers.get("host"))
        except (MethodNotAllowed, NotFound):
            continue
        allowed.append(method)
    return allowed if set(allowed) - {"OPTIONS"} else []
