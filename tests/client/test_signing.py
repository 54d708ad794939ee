"""The bulk path's signer gives exactly eth_account's bytes, faster."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from pylender.client.accounts import dev_account
from pylender.client.signing import FastSigner

ACCOUNT = dev_account(3)
SIGNER = FastSigner(ACCOUNT)

common = {
    "chainId": st.sampled_from([1, 1337, 31337, 2**32 + 7]),
    "nonce": st.integers(0, 2**40),
    "gas": st.integers(21_000, 30_000_000),
    "to": st.sampled_from(["", "0x5FbDB2315678afecb367f032d93F642f64180aa3", "0x" + "00" * 20]),
    "value": st.integers(0, 10**24),
    "data": st.binary(max_size=300).map(lambda b: "0x" + b.hex()),
}


def _clean(tx: dict) -> dict:
    if tx["to"] == "":
        del tx["to"]
    return tx


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {**common, "maxFeePerGas": st.integers(0, 10**12), "maxPriorityFeePerGas": st.integers(0, 10**10)}
    )
)
def test_eip1559_bytes_equal_eth_account(tx):
    tx = _clean(tx)
    assert SIGNER.sign(tx) == bytes(ACCOUNT.sign_transaction(tx).raw_transaction)


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({**common, "gasPrice": st.integers(0, 10**12)}))
def test_legacy_eip155_bytes_equal_eth_account(tx):
    tx = _clean(tx)
    assert SIGNER.sign(tx) == bytes(ACCOUNT.sign_transaction(tx).raw_transaction)


def test_the_signed_transaction_recovers_to_the_account():
    tx = {
        "chainId": 31337,
        "nonce": 5,
        "gas": 100_000,
        "to": "0x" + "11" * 20,
        "value": 1,
        "data": "0x",
        "maxFeePerGas": 2 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    assert Account.recover_transaction(SIGNER.sign(tx)) == ACCOUNT.address


@pytest.mark.parametrize("extra", [{"accessList": [{"address": "0x" + "22" * 20, "storageKeys": []}]}])
def test_other_transaction_shapes_fall_back_to_eth_account(extra):
    tx = {
        "chainId": 1,
        "nonce": 0,
        "gas": 50_000,
        "to": "0x" + "11" * 20,
        "value": 0,
        "data": "0x",
        "maxFeePerGas": 10,
        "maxPriorityFeePerGas": 1,
        **extra,
    }
    assert SIGNER.sign(tx) == bytes(ACCOUNT.sign_transaction(tx).raw_transaction)
