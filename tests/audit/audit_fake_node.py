"""An in-memory JSON-RPC provider serving audit logs, with the refusals real providers make."""

from __future__ import annotations

from typing import Any

import requests
from web3 import Web3
from web3.providers.base import BaseProvider


class FakeLogNode(BaseProvider):
    """Serves ``eth_getLogs`` from a list of raw logs; refuses wide ranges or large results like Infura/Alchemy."""

    def __init__(
        self,
        logs: list[dict[str, Any]],
        latest: int,
        *,
        max_range: int | None = None,
        max_results: int | None = None,
        timeouts: int = 0,
        connection_errors: int = 0,
        interrupt_after: int | None = None,
        fork_after: int | None = None,
    ) -> None:
        super().__init__()
        self.logs = logs
        self.latest = latest
        self.max_range = max_range
        self.max_results = max_results
        self.timeouts = timeouts
        self.connection_errors = connection_errors
        self.interrupt_after = interrupt_after
        self.fork_after = fork_after  # blocks after this one have other hashes (another branch of the chain)
        self.served: list[tuple[int, int]] = []
        self.refused: list[tuple[int, int]] = []

    def make_request(self, method: str, params: Any) -> dict[str, Any]:  # type: ignore[override]
        if method == "eth_blockNumber":
            return {"jsonrpc": "2.0", "id": 1, "result": hex(self.latest)}
        if method == "eth_chainId":
            return {"jsonrpc": "2.0", "id": 1, "result": hex(31337)}
        if method == "eth_getBlockByNumber":  # every block up to latest, its hash derived from its number
            number = int(params[0], 16)
            forked = self.fork_after is not None and number > self.fork_after
            found = {"number": params[0], "hash": block_hash(number, forked)} if number <= self.latest else None
            return {"jsonrpc": "2.0", "id": 1, "result": found}
        assert method == "eth_getLogs", method
        query = params[0]
        start, end = int(query["fromBlock"], 16), int(query["toBlock"], 16)
        if self.connection_errors:
            self.connection_errors -= 1
            raise requests.exceptions.ConnectionError("Connection aborted: remote end closed connection")
        if self.timeouts:
            self.timeouts -= 1
            raise requests.exceptions.ReadTimeout("HTTPConnectionPool: Read timed out. (read timeout=30)")
        if self.max_range is not None and end - start + 1 > self.max_range:
            self.refused.append((start, end))
            return {
                "jsonrpc": "2.0",
                "id": 1,
                "error": {"code": -32600, "message": f"eth_getLogs block range is too wide (max {self.max_range})"},
            }
        topics = {t.lower() for t in query["topics"][0]}
        found = [
            log
            for log in self.logs
            if start <= int(log["blockNumber"], 16) <= end
            and log["address"].lower() == query["address"].lower()
            and log["topics"][0].lower() in topics
        ]
        if self.max_results is not None and len(found) > self.max_results:
            self.refused.append((start, end))
            return {
                "jsonrpc": "2.0",
                "id": 1,
                "error": {"code": -32005, "message": f"query returned more than {self.max_results} results"},
            }
        if self.interrupt_after is not None and len(self.served) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.served.append((start, end))
        return {"jsonrpc": "2.0", "id": 1, "result": found}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def block_hash(number: int, forked: bool = False) -> str:
    """The fake chain's hash of block ``number`` (on the other branch when ``forked``)."""
    return "0x" + ((b"\xff" if forked else b"\0") + number.to_bytes(31, "big")).hex()


def fake_web3(node: FakeLogNode) -> Web3:
    return Web3(node)
