"""Postgres access: pool factory, SQL-file loader, migrations, driver-error translation."""

from core.db.outage import DatabaseUnavailable, database_errors, is_connection_error
from core.db.pool import create_pool, translate_errors
from core.db.queries import Queries

__all__ = [
    "DatabaseUnavailable",
    "Queries",
    "create_pool",
    "database_errors",
    "is_connection_error",
    "translate_errors",
]
