"""Jitsi room tokens: the JWT Jitsi Meet's token authentication (prosody ``token`` auth) checks.

``iss`` is the app id, ``aud`` the accepted audience, ``sub`` the Jitsi domain (the tenant),
``room`` the room name, ``nbf``/``exp`` its validity; ``context.user`` names the participant and
whether they moderate (the seller hosts). Signed HS256 with the app secret.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import jwt

from api.settings import ApiSettings
from core.errors import RetryableError


def room_token(
    settings: ApiSettings, *, room: str, user_id: int, name: str, moderator: bool, not_after: datetime
) -> dict[str, Any]:
    """A token for ``room`` valid for ``jitsi_token_ttl`` seconds, never past ``not_after`` (the meeting's end)."""
    if not settings.jitsi_configured:
        raise RetryableError("meeting rooms are not configured on this server (API_JITSI_APP_SECRET)")
    now = int(time.time())
    exp = min(now + settings.jitsi_token_ttl, int(not_after.timestamp()))
    claims = {
        "aud": settings.jitsi_audience,
        "iss": settings.jitsi_app_id,
        "sub": settings.jitsi_domain,
        "room": room,
        "iat": now,
        "nbf": now - 5,  # a little clock skew between us and the Jitsi server
        "exp": exp,
        "context": {"user": {"id": str(user_id), "name": name, "moderator": moderator}},
    }
    token = jwt.encode(claims, settings.jitsi_app_secret.get_secret_value(), algorithm="HS256")
    return {
        "token": token,
        "room": room,
        "domain": settings.jitsi_domain,
        "url": f"https://{settings.jitsi_domain}/{room}?jwt={token}",
        "expires_at": datetime.fromtimestamp(exp, UTC).isoformat(),
        "moderator": moderator,
    }
