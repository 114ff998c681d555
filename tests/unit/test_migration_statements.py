"""A migration split into statements by owner (the indexer alone applies its own and core's)."""

import pytest

from core.db.migrate import INDEXER_ALONE, load_migrations
from core.db.statements import owned_statements, split_statements, statement_owner
from core.errors import ConfigError


def test_statements_keep_quoted_parts_and_drop_comments() -> None:
    sql = """-- a comment; with a semicolon
CREATE TABLE users (note text DEFAULT 'a;b', "odd;name" int); /* block; comment */
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE 'x;y'; END $$;
INSERT INTO users VALUES ('it''s;');"""
    assert split_statements(sql) == [
        "CREATE TABLE users (note text DEFAULT 'a;b', \"odd;name\" int)",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE 'x;y'; END $$",
        "INSERT INTO users VALUES ('it''s;')",
    ]


def test_each_statement_goes_to_its_tables_owner() -> None:
    assert statement_owner("CREATE INDEX x ON token_transfers (chain_id)") == "indexer"
    assert statement_owner("ALTER TABLE tx_requests ADD COLUMN y int") == "relayer"
    assert statement_owner("insert into payment_packages values (1)") == "api"
    assert statement_owner('CREATE TABLE IF NOT EXISTS custom_events."a__b" (x int)') == "indexer"
    assert statement_owner("DROP INDEX IF EXISTS whatever") == "any"
    assert statement_owner("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql") is None
    with pytest.raises(ConfigError, match="does not list"):
        statement_owner("CREATE TABLE nobody_owns_me (x int)")


def test_a_file_shared_by_owners_cannot_hold_a_statement_naming_no_table() -> None:
    mixed = "CREATE TABLE users (x int); CREATE TABLE token_mints (x int); CREATE FUNCTION f() RETURNS int AS 'x'"
    with pytest.raises(ConfigError, match="shared by owners"):
        owned_statements(mixed, INDEXER_ALONE)
    api_only = "CREATE TABLE users (x int); CREATE FUNCTION f() RETURNS int AS 'x'"
    assert owned_statements(api_only, INDEXER_ALONE) == []


def test_every_migration_splits_and_the_payments_seeds_stay_out() -> None:
    kept = {m.version: owned_statements(m.sql, INDEXER_ALONE) for m in load_migrations()}
    assert not any("payment_packages" in s or "users" in s.split("(")[0] for group in kept.values() for s in group)
    assert kept[7] == [] and len(kept[1]) == 11 and kept[24]  # 0001: the indexer's half; 0024: its own
