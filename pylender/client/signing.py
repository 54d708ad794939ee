"""Fast transaction signing for the bulk path: RLP + keccak + one secp256k1 signature.

``eth_account.Account.sign_transaction`` validates and converts the transaction dict through
several typed layers and costs ~2 ms; the bulk path signs hundreds of transactions a second,
so that was most of its time. Here the two transaction types pylender sends - EIP-1559
(type 2) and legacy EIP-155 - are serialised directly and signed with coincurve, which is
deterministic (RFC 6979) like eth_account's own coincurve backend: the same key and fields give
the same bytes (``tests/client/test_signing.py`` checks that against eth_account).
Anything else falls back to eth_account.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

try:
    import coincurve
except ImportError:  # pragma: no cover - coincurve is a declared dependency
    coincurve = None  # type: ignore[assignment]


def _address_bytes(to: str | None) -> bytes:
    return bytes.fromhex(to[2:]) if to else b""


def _data_bytes(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    return bytes.fromhex(data[2:] if data.startswith("0x") else data)


class FastSigner:
    """Signs pylender's transactions for one account; ``sign(tx) -> raw bytes``."""

    def __init__(self, account: LocalAccount) -> None:
        self.account = account
        self._key = coincurve.PrivateKey(bytes(account.key)) if coincurve is not None else None

    def _signature(self, digest: bytes) -> tuple[int, int, int]:
        assert self._key is not None  # sign() signs with eth_account when coincurve is missing
        sig = self._key.sign_recoverable(digest, hasher=None)
        return sig[64], int.from_bytes(sig[0:32], "big"), int.from_bytes(sig[32:64], "big")

    def sign(self, tx: dict[str, Any]) -> bytes:
        if self._key is None or tx.get("accessList") or tx.get("type") not in (None, 2, "0x2"):
            return bytes(self.account.sign_transaction(tx).raw_transaction)
        to = _address_bytes(tx.get("to"))
        data = _data_bytes(tx.get("data", b""))
        value = int(tx.get("value", 0))
        if "maxFeePerGas" in tx:
            fields = [
                int(tx["chainId"]),
                int(tx["nonce"]),
                int(tx["maxPriorityFeePerGas"]),
                int(tx["maxFeePerGas"]),
                int(tx["gas"]),
                to,
                value,
                data,
                [],
            ]
            y, r, s = self._signature(keccak(b"\x02" + rlp.encode(fields)))
            return b"\x02" + rlp.encode([*fields, y, r, s])
        chain_id = int(tx["chainId"])
        fields = [int(tx["nonce"]), int(tx["gasPrice"]), int(tx["gas"]), to, value, data]
        recid, r, s = self._signature(keccak(rlp.encode([*fields, chain_id, 0, 0])))
        return rlp.encode([*fields, recid + 35 + 2 * chain_id, r, s])
