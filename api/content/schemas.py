"""Content: posts, likes, comments and their pages."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from api.media.schemas import UUID, MediaView
from api.openapi import Model
from api.schemas import PageQuery


class PostBody(Model):
    body: str = Field(min_length=1, max_length=5000)
    media_ids: list[Annotated[str, Field(pattern=UUID)]] = Field(
        default_factory=list, max_length=4, description="confirmed 'post' uploads of yours"
    )


class Post(Model):
    id: int
    author_id: int
    username: str | None
    body: str
    like_count: int
    comment_count: int
    liked: bool = Field(description="the viewer likes it")
    media: list[MediaView]
    created_at: str
    updated_at: str


class PostsPage(Model):
    items: list[Post]
    next_cursor: str | None


class LikeState(Model):
    post_id: int
    liked: bool
    like_count: int


class LikeBody(Model):
    liked: bool = Field(True, description="false: unlike (both idempotent)")


class CommentBody(Model):
    post_id: int = Field(ge=1, le=2**63 - 1)
    body: str = Field(min_length=1, max_length=2000)


class Comment(Model):
    id: int
    post_id: int
    author_id: int
    username: str | None
    body: str
    created_at: str


class CommentsPage(Model):
    items: list[Comment]
    next_cursor: str | None


class ContentQuery(PageQuery):
    pass
