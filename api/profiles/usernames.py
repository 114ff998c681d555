"""Username rules: 3-30 characters of a-z, 0-9 and underscore, starting and ending with a letter or a
digit, no double underscore, not a reserved word. Unique case-insensitively (a unique index on
``lower(username)``): "Alice" and "alice" are the same name, shown as its owner typed it."""

from __future__ import annotations

import re

from core.errors import InvalidInput

PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9_]{1,28})[A-Za-z0-9]$"
_USERNAME = re.compile(PATTERN)
RESERVED = frozenset(
    [
        "about",
        "admin",
        "administrator",
        "api",
        "app",
        "auth",
        "billing",
        "creator",
        "creators",
        "dashboard",
        "docs",
        "feed",
        "follow",
        "followers",
        "following",
        "help",
        "home",
        "login",
        "logout",
        "me",
        "mod",
        "moderator",
        "null",
        "official",
        "payments",
        "posts",
        "privacy",
        "profile",
        "register",
        "root",
        "search",
        "security",
        "settings",
        "signin",
        "signup",
        "social",
        "staff",
        "statistics",
        "support",
        "system",
        "terms",
        "undefined",
        "user",
        "users",
        "viewer",
        "www",
    ]
)


def check_username(value: str) -> str:
    if not _USERNAME.match(value) or "__" in value:
        raise InvalidInput(
            "a username is 3-30 letters, digits or single underscores, starting and ending with a letter or digit",
            details={"field": "username"},
        )
    if value.lower() in RESERVED:
        raise InvalidInput("this username is reserved", details={"field": "username", "reason": "reserved"})
    return value
