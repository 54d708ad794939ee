"""Signing keys: dev accounts, env private key, keystore; confirmations on an interval-mining chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from pylender import errors
from pylender.client import accounts
from pylender.client.node import LocalNode
from pylender.client.tx import Call, TxSender
from pylender.errors import SignerError

KEY = "0x" + "11" * 32


def test_dev_accounts_are_anvils() -> None:
    assert accounts.dev_account(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert accounts.dev_account(1).address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_env_private_key_wins_over_dev_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYLENDER_PRIVATE_KEY", KEY)
    assert accounts.resolve_signer(local=True).address == Account.from_key(KEY).address


def test_keystore_with_password_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(KEY, "s3cret", kdf="pbkdf2", iterations=1000)))
    monkeypatch.delenv("PYLENDER_PRIVATE_KEY", raising=False)
    monkeypatch.setenv("PYLENDER_KEYSTORE_PASSWORD", "s3cret")
    assert accounts.resolve_signer(keystore, local=False).address == Account.from_key(KEY).address
    monkeypatch.setenv("PYLENDER_KEYSTORE_PASSWORD", "wrong")
    with pytest.raises(SignerError, match="wrong password"):
        accounts.from_keystore(keystore)


def test_real_network_without_a_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYLENDER_PRIVATE_KEY", raising=False)
    with pytest.raises(SignerError, match="PYLENDER_PRIVATE_KEY"):
        accounts.resolve_signer(local=False)


def test_bad_private_key() -> None:
    with pytest.raises(SignerError):
        accounts.from_private_key("0x1234")


def test_confirmations_wait_for_later_blocks() -> None:
    with LocalNode(block_time=0.2) as node:
        w3 = node.web3()
        sender = TxSender(w3, accounts.dev_account(0), errors.ErrorDecoder(), confirmations=2)
        transfer = Call(to=accounts.dev_account(1).address, data="0x", label="transfer", value=1)
        receipt = sender.send(transfer, gas=21_000)
        assert receipt.status == 1
        assert w3.eth.block_number >= receipt.block_number + 2
