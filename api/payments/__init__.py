"""Payments (Stripe Checkout), discount codes, account flags and the credits ledger."""

from __future__ import annotations

from pathlib import Path

from core.db import Queries

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
