"""Profiles, statistics and the social graph reads: request and response models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.auth.schemas import Tokens
from api.media.schemas import MediaId, VariantUrl
from api.openapi import Model
from api.schemas import PageQuery
from api.strict import QueryInt

USERNAME = r"^[A-Za-z0-9_]{3,30}$"
NAME = Field(None, max_length=80)


class CreatorPart(Model):
    display_name: str = Field(min_length=1, max_length=80)
    bio: str = Field("", max_length=1000)
    categories: list[str] = Field(default_factory=list, max_length=10)


class PublicProfile(Model):
    id: int
    username: str | None
    display_name: str
    bio: str
    role: str
    avatar: dict[str, VariantUrl] | None = Field(description="variant name -> URL and size; null: none")
    creator: CreatorPart | None = Field(description="the creator profile, for a creator")
    created_at: str


class MyProfile(PublicProfile):
    first_name: str
    last_name: str


class ProfilePatch(Model):
    """Only the fields given change; a username is unique case-insensitively and not a reserved word."""

    username: str | None = Field(None, min_length=3, max_length=30)
    display_name: str | None = NAME
    bio: str | None = Field(None, max_length=1000)
    first_name: str | None = NAME
    last_name: str | None = NAME
    creator: CreatorPart | None = Field(None, description="a creator's public profile (creators only)")


class NamesBody(Model):
    """Seed 003's profile: first and last name."""

    first_name: str = Field(max_length=80)
    last_name: str = Field(max_length=80)


class AvatarBody(Model):
    media_id: str = MediaId


class PasswordBody(Model):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=8, max_length=256)


class PasswordChanged(Tokens):
    """The new session; every other session of the account was signed out."""


class Statistics(Model):
    following: int
    followers: int
    tips_sent: int
    wallets: int
    media: int
    member_since: str


class UserRef(Model):
    id: int
    username: str | None
    display_name: str


class UsersPage(Model):
    items: list[UserRef]
    next_cursor: str | None


class GraphQuery(PageQuery):
    pass


class FollowStatus(Model):
    user_id: int
    following: bool = Field(description="the viewer follows this user")
    followed_by: bool = Field(description="this user follows the viewer")
    blocked: bool = Field(description="a block stands between the two")


class SearchQuery(Model):
    q: str = Field(min_length=1, max_length=100, description="words, or the start of a username")
    kind: Literal["users", "creators"] = "users"
    limit: QueryInt = Field(20, ge=1, le=50)
    cursor: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="next_cursor of the previous page")


class SearchHit(Model):
    id: int
    username: str | None
    display_name: str
    is_creator: bool
    rank: float


class SearchPage(Model):
    items: list[SearchHit]
    next_cursor: str | None
