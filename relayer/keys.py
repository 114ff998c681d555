"""The signers: the default key and the pool's others, each from an encrypted JSON keystore (password from
the environment) or, in development only, a raw key."""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from core.chain.devkeys import is_dev_address
from core.errors import ConfigError
from relayer.settings import RelayerSettings


def load_signer(settings: RelayerSettings) -> LocalAccount:
    """The default key (``RELAYER_KEYSTORE_PATH`` or ``RELAYER_PRIVATE_KEY``)."""
    return _checked(settings, _load_default(settings))


def load_pool(settings: RelayerSettings) -> list[LocalAccount]:
    """The pool's keys beside the default one, in configuration order, without duplicates of it or each other."""
    password = settings.keystore_password.get_secret_value()
    accounts = [_from_keystore(path, password) for path in settings.pool_keystore_paths]
    for index, secret in enumerate(settings.pool_private_keys):
        accounts.append(_from_key(secret.get_secret_value(), f"RELAYER_POOL_PRIVATE_KEYS[{index}]"))
    return [_checked(settings, account) for account in accounts]


def _checked(settings: RelayerSettings, account: LocalAccount) -> LocalAccount:
    if not settings.is_development and is_dev_address(account.address):
        raise ConfigError(
            f"the signer {account.address} is a well-known anvil development account: not outside development"
        )
    return account


def _load_default(settings: RelayerSettings) -> LocalAccount:
    if settings.keystore_path is not None:
        return _from_keystore(settings.keystore_path, settings.keystore_password.get_secret_value())
    if not settings.private_key.get_secret_value():
        raise ConfigError(
            "set RELAYER_KEYSTORE_PATH (+ RELAYER_KEYSTORE_PASSWORD) or, in development, RELAYER_PRIVATE_KEY"
        )
    return _from_key(settings.private_key.get_secret_value(), "RELAYER_PRIVATE_KEY")


def _from_keystore(path: Path, password: str) -> LocalAccount:
    try:
        keystore = json.loads(path.read_text())
        key = Account.decrypt(keystore, password)
    except (OSError, ValueError) as exc:
        # The message never includes the password or key material.
        raise ConfigError(f"cannot open keystore {path}: {type(exc).__name__}") from None
    account: LocalAccount = Account.from_key(key)
    return account


def _from_key(key: str, name: str) -> LocalAccount:
    try:
        account: LocalAccount = Account.from_key(key)
    except (ValueError, TypeError):
        raise ConfigError(f"{name} is not a valid private key") from None
    return account
