"""The models every domain shares: patterns, the indexed block, read and page queries (each domain's own are in
``api/<domain>/schemas.py``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.openapi import Model
from api.strict import QueryInt

ADDRESS = r"^0x[0-9a-fA-F]{40}$"
BYTES32 = r"^0x[0-9a-fA-F]{64}$"
EMAIL = r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,190}\.[^@\s\x00-\x1f.]{1,63}$"
CURSOR = r"^[A-Za-z0-9_-]{1,200}$"
FEED_CURSOR = r"^[0-9]{1,20}-[0-9]{1,20}$"
Role = Literal["user", "creator", "admin"]


# ------------------------------------------------------------------ shared by the reads of every domain
class IndexedBlock(Model):
    number: int
    hash: str


class ReadQuery(Model):
    min_block: QueryInt | None = Field(
        None, ge=0, le=2**62, description="wait (<= API_MIN_BLOCK_TIMEOUT s) for this block to be indexed, else 409"
    )


class PageQuery(ReadQuery):
    limit: QueryInt = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, pattern=CURSOR, description="next_cursor of the previous page")


class AccountPageQuery(PageQuery):
    account: str = Field(pattern=ADDRESS)


UINT = "base units, decimal string"


class Done(Model):
    done: bool
