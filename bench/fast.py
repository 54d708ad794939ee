"""Setup at node speed: JSON-RPC batches of ``eth_sendTransaction`` from anvil's unlocked dev accounts.

Only for building state that is not being measured (thousands of loans, records): anvil signs,
so no Python signing, and one HTTP round trip carries a whole batch. Measured paths never use it.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from pylender.client.tx import Call
from pylender.errors import TransactionFailed

log = logging.getLogger(__name__)

BATCH = 500
MAX_FEE = 200 * 10**9
TIP = 10**9


class FastSender:
    """Sends unsigned transactions from anvil dev accounts in JSON-RPC batches and checks every receipt."""

    def __init__(self, url: str, gas: int = 3_000_000) -> None:
        parts = urllib.parse.urlsplit(url)
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=120)
        self.gas = gas
        self._id = 0

    def close(self) -> None:
        self._conn.close()

    def rpc_batch(self, requests: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """One HTTP request carrying ``requests``; the results in order (raises on any error)."""
        body = []
        for method, params in requests:
            self._id += 1
            body.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        self._conn.request("POST", "/", body=json.dumps(body), headers={"Content-Type": "application/json"})
        replies = json.loads(self._conn.getresponse().read())
        by_id = {r["id"]: r for r in replies}
        out = []
        for item in body:
            reply = by_id[item["id"]]
            if "error" in reply:
                raise TransactionFailed(f"{item['method']} failed: {reply['error']}")
            out.append(reply["result"])
        return out

    def send(
        self,
        calls: Sequence[tuple[str, Call]],
        *,
        gas: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Send ``(from_address, call)`` pairs, mine them in as few blocks as fit, check every receipt.

        Automine is off while the batch goes in (anvil mines one block per transaction otherwise,
        and its per-block cost grows with the chain), then back on. Calls must not depend on each
        other's effects except through the sender's nonce order.
        """
        if not calls:
            return []
        gas = gas or self.gas
        senders = sorted({sender for sender, _ in calls})
        counts = self.rpc_batch([("eth_getTransactionCount", [a, "pending"]) for a in senders])
        nonces = {a: int(n, 16) for a, n in zip(senders, counts, strict=True)}
        fees = {"maxFeePerGas": hex(MAX_FEE), "maxPriorityFeePerGas": hex(TIP)}
        hashes: list[str] = []
        self.rpc_batch([("evm_setAutomine", [False])])
        try:
            for start in range(0, len(calls), BATCH):
                txs = []
                for sender, c in calls[start : start + BATCH]:
                    tx = {"from": sender, "to": c.to, "data": c.data, "gas": hex(gas), "nonce": hex(nonces[sender])}
                    nonces[sender] += 1
                    txs.append(("eth_sendTransaction", [{**tx, **fees}]))
                hashes.extend(self.rpc_batch(txs))
            self._mine_all()
        finally:
            self.rpc_batch([("evm_setAutomine", [True])])
        receipts: list[dict[str, Any]] = []
        for start in range(0, len(hashes), BATCH):
            got = self.rpc_batch([("eth_getTransactionReceipt", [h]) for h in hashes[start : start + BATCH]])
            for (sender, call), h, receipt in zip(
                calls[start : start + BATCH], hashes[start : start + BATCH], got, strict=True
            ):
                if receipt is None or int(receipt["status"], 16) != 1:
                    raise TransactionFailed(f"setup transaction {call.label} from {sender} failed: {h}")
                receipts.append(receipt)
            if progress is not None:
                progress(len(got))
        return receipts

    def _mine_all(self) -> None:
        for _ in range(100_000):
            status = self.rpc_batch([("txpool_status", [])])[0]
            if int(status["pending"], 16) == 0:
                if int(status["queued"], 16) != 0:
                    raise TransactionFailed(f"setup transactions stuck behind a nonce gap: {status}")
                return
            self.rpc_batch([("evm_mine", [])])
        raise TransactionFailed("setup transactions did not all get mined")
