"""The signer: an encrypted JSON keystore + password from the environment, or (dev only) a raw key."""

from __future__ import annotations

import json

from eth_account import Account
from eth_account.signers.local import LocalAccount

from core.chain.devkeys import is_dev_address
from core.errors import ConfigError
from relayer.settings import RelayerSettings


def load_signer(settings: RelayerSettings) -> LocalAccount:
    account = _load(settings)
    if not settings.is_development and is_dev_address(account.address):
        raise ConfigError(
            f"the signer {account.address} is a well-known anvil development account: not outside development"
        )
    return account


def _load(settings: RelayerSettings) -> LocalAccount:
    if settings.keystore_path is not None:
        try:
            keystore = json.loads(settings.keystore_path.read_text())
            key = Account.decrypt(keystore, settings.keystore_password.get_secret_value())
        except (OSError, ValueError) as exc:
            # The message never includes the password or key material.
            raise ConfigError(f"cannot open keystore {settings.keystore_path}: {type(exc).__name__}") from None
        account: LocalAccount = Account.from_key(key)
        return account
    if not settings.private_key.get_secret_value():
        raise ConfigError(
            "set RELAYER_KEYSTORE_PATH (+ RELAYER_KEYSTORE_PASSWORD) or, in development, RELAYER_PRIVATE_KEY"
        )
    try:
        account = Account.from_key(settings.private_key.get_secret_value())
    except (ValueError, TypeError):
        raise ConfigError("RELAYER_PRIVATE_KEY is not a valid private key") from None
    return account
