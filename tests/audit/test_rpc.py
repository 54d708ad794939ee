"""Every audit read retries what fails in transit, with backoff and a bound, and ends in a named error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from web3 import HTTPProvider, Web3

from pylender.audit.rpc import RetryPolicy, Rpc
from pylender.client.transport import make_web3
from pylender.errors import RpcError, RpcExhausted


class _Node(ThreadingHTTPServer):
    """A JSON-RPC node that plays ``script`` first, one step per request: ``drop`` (close without a reply),
    ``503``, ``busy`` (a rate-limit error), ``half`` (a batch answered in part); then answers every request."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[str] = []
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    if request["method"] == "eth_call" and request["params"][0].get("data") == "0xdead":
        return {"jsonrpc": "2.0", "id": request["id"], "error": {"code": 3, "message": "execution reverted"}}
    return {"jsonrpc": "2.0", "id": request["id"], "result": hex(len(json.dumps(request["params"])))}


class _Handler(BaseHTTPRequestHandler):
    server: _Node
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests += 1
        step = self.server.script.pop(0) if self.server.script else "ok"
        if step == "drop":
            self.close_connection = True
            return
        if step == "503":
            self._send(503, b"overloaded")
            return
        if step == "busy":
            first = body[0] if isinstance(body, list) else body
            error = {"jsonrpc": "2.0", "id": first["id"], "error": {"code": 429, "message": "rate limit exceeded"}}
            self._send(200, json.dumps([error] if isinstance(body, list) else error).encode())
            return
        reply = [_answer(r) for r in body] if isinstance(body, list) else _answer(body)
        if step == "half":
            reply = reply[: len(reply) // 2]
        self._send(200, json.dumps(reply).encode())

    def _send(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def node() -> Iterator[_Node]:
    server = _Node()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _rpc(url: str, attempts: int = 5, provider: str = "pylender") -> tuple[Rpc, list[float]]:
    waits: list[float] = []
    w3 = make_web3(url) if provider == "pylender" else Web3(HTTPProvider(url))
    return Rpc(w3, RetryPolicy(attempts=attempts, backoff=0.1, max_backoff=0.3), sleep=waits.append), waits


@pytest.mark.parametrize("provider", ["pylender", "web3"])
def test_a_dropped_connection_a_503_and_a_busy_node_are_retried_with_backoff(node: _Node, provider: str) -> None:
    node.script = ["drop", "503", "busy"]
    rpc, waits = _rpc(node.url, provider=provider)
    assert rpc.call("eth_blockNumber") == hex(2)  # len("[]")
    assert waits == [0.1, 0.2, 0.3] and rpc.retries == 3


def test_a_batch_lost_or_answered_in_part_is_sent_again_whole(node: _Node) -> None:
    node.script = ["drop", "half"]
    rpc, waits = _rpc(node.url)
    requests = [("eth_call", [{"to": "0x" + "11" * 20, "data": "0x" + "22" * i}, "latest"]) for i in range(1, 7)]
    replies = rpc.batch(requests)
    assert [r["result"] for r in replies] == [hex(len(json.dumps(p))) for _, p in requests]
    assert len(waits) == 2 and node.requests == 3


def test_the_bound_ends_in_a_named_error_that_says_what_was_tried(node: _Node) -> None:
    node.script = ["drop"] * 10
    rpc, waits = _rpc(node.url, attempts=4)
    with pytest.raises(RpcExhausted, match=r"eth_chainId: no answer after 4 attempts over .* s \(last: "):
        rpc.chain_id()
    assert len(waits) == 3 and node.requests == 4


def test_an_answered_error_is_not_retried(node: _Node) -> None:
    rpc, waits = _rpc(node.url)
    with pytest.raises(RpcError, match="execution reverted") as info:
        rpc.call("eth_call", [{"to": "0x" + "11" * 20, "data": "0xdead"}, "latest"])
    assert info.value.code == 3 and waits == [] and node.requests == 1


def test_views_read_through_the_retrying_rpc(node: _Node) -> None:
    from pylender.audit.ingest import load_ledger_abi
    from pylender.audit.views import LedgerViews

    node.script = ["drop", "drop"]
    views = LedgerViews(make_web3(node.url), "0x" + "11" * 20, load_ledger_abi(), retry=RetryPolicy(3, 0.0))
    replies = views._send([("eth_blockNumber", []), ("eth_chainId", [])])
    assert [r["result"] for r in replies] == ["0x2", "0x2"] and views.requests == 3
