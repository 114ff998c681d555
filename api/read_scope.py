"""Which server a request's reads may use, and read-your-writes (README "Read replicas").

Every request opens a :class:`~core.db.replica.ReadScope`: a GET or HEAD may read from the replica, any
other method reads from the primary (so a write's own reads, checks and read-modify-writes never see a
stale row). When a replica is configured:

- the response to a write (POST, PUT, PATCH, DELETE) carries ``X-Min-Lsn``: the primary's WAL position
  after the request, which covers everything it committed;
- a read that sends it back (``X-Min-Lsn`` request header; the TypeScript client does it by itself) is
  answered by the replica only once that has replayed this far — else, after a bounded wait, by the
  primary. A missing or malformed token is no token: the read may see the replica's (older) state;
- ``X-Read-Source`` names where the request's routed reads were answered (``replica``, ``primary``).
"""

from __future__ import annotations

import logging

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse

from core.db.replica import current_scope, open_scope, parse_lsn

log = logging.getLogger("api.read_scope")
LSN_HEADER = "X-Min-Lsn"
SOURCE = "X-Read-Source"
READS = frozenset({"GET", "HEAD"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def install(app: Sanic) -> None:
    async def begin(request: Request) -> None:
        open_scope(replica_ok=request.method in READS, min_lsn=parse_lsn(request.headers.get(LSN_HEADER)) or 0)

    async def stamp(request: Request, response: BaseHTTPResponse) -> None:
        built = getattr(request.app.ctx, "services", None)
        if built is None or not built.reads.configured:
            return
        scope = current_scope()
        if scope is not None and scope.sources:
            response.headers[SOURCE] = ",".join(sorted(scope.sources))
        if request.method in WRITES:
            try:
                response.headers[LSN_HEADER] = str(await built.reads.primary_lsn())
            except Exception as exc:  # noqa: BLE001 (the primary is away: the write failed too; no token)
                log.warning("no read-your-writes token: %s", type(exc).__name__)

    app.register_middleware(begin, "request", priority=90)  # after the request id, before everything else
    app.register_middleware(stamp, "response", priority=-90)
