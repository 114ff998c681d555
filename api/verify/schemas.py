"""Creator verification and payout details: bodies and answers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.media.schemas import UUID
from api.openapi import Model
from api.schemas import PageQuery

DocumentKind = Literal["passport", "id_card", "driver_license", "other"]


class VerificationBody(Model):
    document_kind: DocumentKind
    media_ids: list[str] = Field(
        min_length=1, max_length=4, description="confirmed media objects uploaded with purpose 'verification'"
    )

    def ids(self) -> list[str]:
        return list(dict.fromkeys(self.media_ids))


class Verification(Model):
    id: int
    user_id: int
    document_kind: DocumentKind
    status: Literal["pending", "approved", "rejected"]
    reason: str | None
    documents: int
    created_at: str
    reviewed_at: str | None


class VerificationsQuery(PageQuery):
    status: Literal["pending", "approved", "rejected"] = "pending"


class VerificationsPage(Model):
    items: list[Verification]
    next_cursor: str | None


class DocumentUrl(Model):
    url: str
    width: int
    height: int


class VerificationDocument(Model):
    media_id: str = Field(pattern=UUID)
    variants: dict[str, DocumentUrl]


class VerificationDetail(Verification):
    """The verification with presigned reads of its documents (short-lived; each read is logged)."""

    expires_in: int
    document_urls: list[VerificationDocument]


class VerificationRejectBody(Model):
    reason: str = Field(min_length=1, max_length=500)


class DocumentView(Model):
    id: int
    media_id: str
    admin_id: int
    viewed_at: str


class DocumentViewsPage(Model):
    items: list[DocumentView]
    next_cursor: str | None


class PayoutBody(Model):
    """New payout details; ``current_password`` is checked afresh. One method: an IBAN, a bank account
    number with its routing number, or a wallet address."""

    current_password: str = Field(min_length=1, max_length=256)
    method: Literal["iban", "account", "wallet"]
    account_holder: str = Field("", max_length=120)
    iban: str | None = Field(None, max_length=42)
    account_number: str | None = Field(None, max_length=34)
    routing_number: str | None = Field(None, max_length=12)
    wallet_address: str | None = Field(None, max_length=42)


class PayoutDetails(Model):
    """Payout details, masked (the full details are never returned)."""

    method: Literal["iban", "account", "wallet"]
    masked: str
    updated_at: str
