"""Signing keys: anvil's dev accounts locally, an env private key or a keystore elsewhere.

Keys never leave this process: transactions are signed locally (:mod:`pylender.client.tx`) and sent raw.
"""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from pylender.errors import SignerError

log = logging.getLogger(__name__)

TEST_MNEMONIC = "test test test test test test test test test test test junk"
"""The mnemonic anvil and hardhat derive their funded dev accounts from (public, test only)."""

ENV_PRIVATE_KEY = "PYLENDER_PRIVATE_KEY"
ENV_KEYSTORE_PASSWORD = "PYLENDER_KEYSTORE_PASSWORD"

Account.enable_unaudited_hdwallet_features()


@lru_cache(maxsize=64)
def dev_account(index: int) -> LocalAccount:
    """Anvil's dev account ``index`` (``m/44'/60'/0'/0/index`` of :data:`TEST_MNEMONIC`)."""
    if index < 0:
        raise SignerError(f"dev account index must be >= 0, got {index}")
    return Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def dev_accounts(count: int) -> list[LocalAccount]:
    """The first ``count`` dev accounts."""
    return [dev_account(i) for i in range(count)]


def from_private_key(key: str) -> LocalAccount:
    """An account from a hex private key (with or without ``0x``)."""
    try:
        return Account.from_key(key.strip())
    except (ValueError, TypeError) as exc:
        raise SignerError("the private key is not a valid 32-byte hex string") from exc


def from_env(var: str = ENV_PRIVATE_KEY) -> LocalAccount | None:
    """The account whose private key is in ``$var``, or ``None`` if it is unset."""
    key = os.environ.get(var)
    return from_private_key(key) if key else None


def from_keystore(path: str | Path, password: str | None = None) -> LocalAccount:
    """Decrypt a keystore (V3 JSON) file; the password defaults to ``$PYLENDER_KEYSTORE_PASSWORD``."""
    path = Path(path)
    if password is None:
        password = os.environ.get(ENV_KEYSTORE_PASSWORD)
    if password is None:
        raise SignerError(f"keystore {path} needs a password: set {ENV_KEYSTORE_PASSWORD}")
    try:
        keyfile = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SignerError(f"cannot read keystore {path}: {exc}") from exc
    try:
        key = Account.decrypt(keyfile, password)
    except ValueError as exc:
        raise SignerError(f"cannot decrypt keystore {path}: wrong password or corrupt file") from exc
    return Account.from_key(key)


def resolve_signer(keystore: str | Path | None = None, *, local: bool) -> LocalAccount:
    """The account that signs: a keystore if given, else ``$PYLENDER_PRIVATE_KEY``, else (only on a
    local dev chain) anvil's first dev account."""
    if keystore is not None:
        return from_keystore(keystore)
    account = from_env()
    if account is not None:
        return account
    if local:
        return dev_account(0)
    raise SignerError(f"no signing key: set {ENV_PRIVATE_KEY} or pass --keystore (with {ENV_KEYSTORE_PASSWORD})")
