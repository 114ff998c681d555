"""Postgres access: pool factory, SQL-file loader, migrations, driver-error translation."""

from core.db.pool import create_pool, translate_errors
from core.db.queries import Queries

__all__ = ["Queries", "create_pool", "translate_errors"]
