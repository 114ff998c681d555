import json
import os
from pathlib import Path

import pytest

from api.settings import ApiSettings
from core.db.queries import parse_queries
from indexer.settings import IndexerSettings
from relayer.settings import RelayerSettings

DEV_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    shared = ("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "RPC_URLS", "ENVIRONMENT", "MANIFEST_PATH", "LOG_LEVEL")
    for name in list(os.environ):
        if name in shared or name.startswith(("API_", "INDEXER_", "RELAYER_")):
            monkeypatch.delenv(name, raising=False)


def test_prefixed_value_beats_shared_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://h/shared")
    monkeypatch.setenv("API_DATABASE_URL", "postgresql://h/api")
    monkeypatch.setenv("RPC_URLS", "http://a:1, http://b:2")
    assert ApiSettings().database_url == "postgresql://h/api"
    indexer = IndexerSettings()
    assert indexer.database_url == "postgresql://h/shared"
    assert indexer.rpc_urls == ["http://a:1", "http://b:2"]


def test_the_read_replica_url_is_unset_by_default_and_the_prefixed_one_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ApiSettings().database_read_url == ""
    monkeypatch.setenv("DATABASE_READ_URL", "postgresql://standby/shared")
    assert ApiSettings().database_read_url == "postgresql://standby/shared"
    monkeypatch.setenv("API_DATABASE_READ_URL", "postgresql://standby/api")
    assert ApiSettings().database_read_url == "postgresql://standby/api"
    assert ApiSettings(database_read_url="postgresql://standby/init").database_read_url == "postgresql://standby/init"


def test_dotenv_shared_values_apply_to_every_process_below_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """A .env copied from .env.example with ENVIRONMENT=production must not be silently ignored."""
    (tmp_path / ".env").write_text(
        "ENVIRONMENT=test\nDATABASE_URL=postgresql://h/dotenv\nPORT=1234\nAPI_DATABASE_URL=postgresql://h/api-dotenv\n"
    )
    indexer = IndexerSettings()
    assert (indexer.environment, indexer.database_url) == ("test", "postgresql://h/dotenv")
    api = ApiSettings()
    assert (api.environment, api.database_url, api.port) == ("test", "postgresql://h/api-dotenv", 8000)
    monkeypatch.setenv("DATABASE_URL", "postgresql://h/env")
    assert IndexerSettings().database_url == "postgresql://h/env"  # the environment beats the file
    assert ApiSettings().database_url == "postgresql://h/api-dotenv"  # and a prefixed name beats both


def test_unprefixed_process_fields_are_not_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "1234")
    assert ApiSettings().port == 8000


def test_production_refuses_raw_keys_and_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("RELAYER_PRIVATE_KEY", DEV_KEY)
    with pytest.raises(ValueError, match="development only") as info:
        RelayerSettings()
    assert DEV_KEY not in str(info.value)  # secrets never appear in errors
    with pytest.raises(ValueError, match="API_JWT_SECRET"):
        ApiSettings()
    monkeypatch.setenv("API_JWT_SECRET", "a-long-random-production-secret")
    assert ApiSettings().jwt_secret.get_secret_value() == "a-long-random-production-secret"


def test_relayer_needs_a_key_source_only_to_sign() -> None:
    from core.errors import ConfigError  # noqa: PLC0415
    from relayer.keys import load_signer  # noqa: PLC0415

    with pytest.raises(ConfigError, match="KEYSTORE"):
        load_signer(RelayerSettings())  # queue commands work without a key; signing does not
    assert load_signer(RelayerSettings(private_key=DEV_KEY)).address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    with pytest.raises(ConfigError, match="not a valid private key"):
        load_signer(RelayerSettings(private_key="0x1234"))
    assert RelayerSettings(private_key=DEV_KEY).keystore_path is None
    assert DEV_KEY not in repr(RelayerSettings(private_key=DEV_KEY))


def test_the_signer_pool_is_read_from_json_lists_and_raw_keys_are_for_development_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from eth_account import Account  # noqa: PLC0415

    from anvil.node import POOL_KEYS  # noqa: PLC0415
    from core.errors import ConfigError  # noqa: PLC0415
    from relayer.keys import load_pool  # noqa: PLC0415

    monkeypatch.setenv("RELAYER_POOL_PRIVATE_KEYS", json.dumps(list(POOL_KEYS)))
    monkeypatch.setenv("RELAYER_MAX_PENDING_PER_KEY", "7")
    settings = RelayerSettings(private_key=DEV_KEY)
    assert settings.max_pending_per_key == 7
    assert [a.key.to_0x_hex() for a in load_pool(settings)] == list(POOL_KEYS)
    assert POOL_KEYS[0] not in repr(settings)  # secrets never appear in reprs
    real = Account.create()
    keystore = tmp_path / "k.json"
    keystore.write_text(json.dumps(Account.encrypt(real.key, "pw", iterations=2)))
    monkeypatch.delenv("RELAYER_POOL_PRIVATE_KEYS")
    monkeypatch.setenv("RELAYER_POOL_KEYSTORE_PATHS", json.dumps([str(keystore)]))
    monkeypatch.setenv("RELAYER_KEYSTORE_PASSWORD", "pw")
    assert [a.address for a in load_pool(RelayerSettings())] == [real.address]
    monkeypatch.setenv("RELAYER_KEYSTORE_PASSWORD", "wrong")
    with pytest.raises(ConfigError, match="cannot open keystore") as info:
        load_pool(RelayerSettings())
    assert "wrong" not in info.value.message
    monkeypatch.delenv("RELAYER_POOL_KEYSTORE_PATHS")
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("RELAYER_POOL_PRIVATE_KEYS", json.dumps([POOL_KEYS[0]]))
    with pytest.raises(ValueError, match="RELAYER_POOL_PRIVATE_KEYS is for development only") as error:
        RelayerSettings()
    assert POOL_KEYS[0] not in str(error.value)


def test_named_queries_are_parsed_and_checked() -> None:
    assert parse_queries("-- name: a\nSELECT 1;\n\n-- name: b_2\nSELECT\n 2;") == {
        "a": "SELECT 1;",
        "b_2": "SELECT\n 2;",
    }
    with pytest.raises(ValueError, match="twice"):
        parse_queries("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;")
    with pytest.raises(ValueError, match="empty"):
        parse_queries("-- name: a\n-- name: b\nSELECT 2;")


def test_an_invalid_configuration_exits_2_without_printing_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.process import start_process  # noqa: PLC0415

    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("RELAYER_PRIVATE_KEY", DEV_KEY)
    with pytest.raises(SystemExit) as info:
        start_process(RelayerSettings, "relayer")
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "development only" in err
    assert DEV_KEY[-12:] not in err and "input_value" not in err


def test_the_api_tip_caps_take_their_own_variable_then_the_relayers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIPS_DAILY_MAX_INTENTS", "99")  # unprefixed: a name of no process's
    monkeypatch.setenv("RELAYER_TIPS_DAILY_MAX_INTENTS", "50")
    assert ApiSettings().tips_daily_max_intents == 50
    monkeypatch.setenv("API_TIPS_DAILY_MAX_INTENTS", "7")
    assert ApiSettings().tips_daily_max_intents == 7
    assert ApiSettings(tips_daily_max_intents=3).tips_daily_max_intents == 3
    monkeypatch.setenv("RELAYER_TIPS_DAILY_MAX_GIFT_AMOUNT", "1000")
    assert ApiSettings().tips_daily_max_gift_amount == 1000
