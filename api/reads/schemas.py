"""Balances, mints, transfers, passes and withdrawals as indexed: request and response models (pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.openapi import Model
from api.schemas import UINT, IndexedBlock


class TokenBalance(Model):
    token: str
    address: str
    balance: str = Field(description="base units, decimal string")
    updated_block: int | None


class BalancesData(Model):
    address: str
    balances: list[TokenBalance]
    indexed_block: IndexedBlock | None


class Earning(Model):
    token: str
    token_name: str | None
    amount: str = Field(description="owed by the TipRouter (net tips minus withdrawals), base units")


class WalletBalances(Model):
    address: str
    balances: list[TokenBalance]
    earnings: list[Earning] = Field(default_factory=list, description="creator earnings held by the TipRouter")


class MyBalancesData(Model):
    wallets: list[WalletBalances]
    indexed_block: IndexedBlock | None


class Mint(Model):
    payment_ref: str
    token: str
    account: str
    amount: str
    tx_hash: str
    block_number: int


class MintData(Model):
    mint: Mint
    indexed_block: IndexedBlock | None


class MintsPage(Model):
    items: list[Mint]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


class Transfer(Model):
    block_number: int
    log_index: int
    token: str
    token_name: str | None
    sender: str
    receiver: str
    amount: str
    tx_hash: str
    direction: Literal["in", "out", "self"]


class TransfersPage(Model):
    items: list[Transfer]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


class MeetingPass(Model):
    token_id: str
    auction_id: str
    owner: str | None
    redeemed: bool
    minted_block: int
    updated_block: int


class PassesPage(Model):
    items: list[MeetingPass]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


class Withdrawal(Model):
    block_number: int
    log_index: int
    creator: str
    token: str
    token_name: str | None
    amount: str = Field(description=UINT)
    tx_hash: str


class WithdrawalsPage(Model):
    items: list[Withdrawal]
    next_cursor: str | None
    indexed_block: IndexedBlock | None
