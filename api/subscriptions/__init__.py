"""Subscriptions through Stripe Checkout (subscription mode): plans, status, plan changes, monthly credits."""

from __future__ import annotations

from pathlib import Path

from core.db import Queries

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
