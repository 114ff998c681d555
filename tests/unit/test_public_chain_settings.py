"""Outside development, finality depth and confirmations get public-chain values; anvil's keys are refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from eth_account import Account

from core.chain.devkeys import DEV_ACCOUNTS, dev_keys, is_dev_address, is_dev_key
from core.errors import ConfigError
from core.process import start_process
from core.settings import SAFE_CONFIRMATIONS, SAFE_FINALITY_DEPTH
from indexer.settings import IndexerSettings
from relayer.keys import load_signer
from relayer.settings import RelayerSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    shared = ("DATABASE_URL", "REDIS_URL", "RPC_URLS", "ENVIRONMENT", "MANIFEST_PATH", "LOG_LEVEL")
    for name in list(os.environ):
        if name in shared or name.startswith(("API_", "INDEXER_", "RELAYER_")):
            monkeypatch.delenv(name, raising=False)


def test_development_keeps_its_fast_defaults() -> None:
    assert IndexerSettings().finality_depth == 0
    assert RelayerSettings().confirmations == 1
    assert IndexerSettings(environment="test", finality_depth=0).finality_depth == 0


def test_production_defaults_are_the_public_chain_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    assert IndexerSettings().finality_depth == SAFE_FINALITY_DEPTH == 64
    relayer = RelayerSettings()
    assert relayer.confirmations == SAFE_CONFIRMATIONS == 3 and relayer.finality_blocks == 64
    monkeypatch.setenv("INDEXER_FINALITY_DEPTH", "128")
    monkeypatch.setenv("RELAYER_CONFIRMATIONS", "12")
    assert IndexerSettings().finality_depth == 128 and RelayerSettings().confirmations == 12  # explicit wins


@pytest.mark.parametrize(
    ("variable", "value", "settings"),
    [
        ("INDEXER_FINALITY_DEPTH", "0", IndexerSettings),
        ("INDEXER_FINALITY_DEPTH", "1", IndexerSettings),
        ("RELAYER_CONFIRMATIONS", "1", RelayerSettings),
        ("RELAYER_FINALITY_BLOCKS", "1", RelayerSettings),
    ],
)
def test_production_refuses_a_depth_of_0_or_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str, settings: type
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exited:
        start_process(settings, "proc")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{variable} must be at least 2 outside development" in err and "Traceback" not in err


def test_the_well_known_accounts_are_derived_from_the_mnemonic() -> None:
    keys = dev_keys()
    assert len(keys) == DEV_ACCOUNTS == 30
    assert keys["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"].endswith("f2ff80")  # anvil's account #0
    assert is_dev_address("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc")  # #2, lower case
    assert is_dev_key(list(keys.values())[29]) and not is_dev_key(Account.create().key.to_0x_hex())


def test_production_refuses_a_signer_that_is_an_anvil_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = list(dev_keys().values())[7]
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(key, "pw", kdf="pbkdf2", iterations=2)))
    monkeypatch.setenv("ENVIRONMENT", "production")
    settings = RelayerSettings(keystore_path=keystore, keystore_password="pw")
    with pytest.raises(ConfigError, match="well-known anvil development account") as info:
        load_signer(settings)
    assert key not in str(info.value)
    own = Account.create()
    keystore.write_text(json.dumps(Account.encrypt(own.key, "pw", kdf="pbkdf2", iterations=2)))
    assert load_signer(settings).address == own.address
