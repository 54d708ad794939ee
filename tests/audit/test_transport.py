"""The plain-HTTP transport: used for pylender's own provider and a stock HTTPProvider only, and failing the way
the fetcher's retries expect."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from audit_anvil import InterruptingProvider
from audit_fake_node import FakeLogNode
from audit_synthetic import LEDGER
from web3 import HTTPProvider, Web3

from pylender.audit.events import EventCatalog
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.records import LogDecoder, Record, encode_log
from pylender.audit.transport import RawHttp
from pylender.client.transport import KeepAliveHTTPProvider, make_web3
from pylender.errors import HttpStatusError

LATEST = 4_999


class _Node(ThreadingHTTPServer):
    """A JSON-RPC server over a :class:`FakeLogNode`; ``statuses`` are HTTP errors it answers first."""

    def __init__(self, node: FakeLogNode) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.node = node
        self.statuses: list[int] = []
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/rpc"


class _Handler(BaseHTTPRequestHandler):
    server: _Node

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(request)
        if self.server.statuses:
            self._answer(self.server.statuses.pop(0), b"busy")
            return
        reply = self.server.node.make_request(request["method"], request["params"])
        self._answer(200, json.dumps({**reply, "id": request["id"]}).encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture()
def spread(synthetic_records: list[Record]) -> list[Record]:
    return [r.model_copy(update={"block_number": 250 * i, "log_index": 0}) for i, r in enumerate(synthetic_records)]


@pytest.fixture()
def server(synthetic_catalog: EventCatalog, spread: list[Record]) -> Iterator[_Node]:
    logs = [encode_log(synthetic_catalog, r, LEDGER) for r in spread]
    srv = _Node(FakeLogNode(logs, LATEST))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


def test_only_a_stock_http_provider_with_headers_and_timeout_gets_the_plain_transport() -> None:
    url = "http://127.0.0.1:8545"
    plain = RawHttp.for_provider(HTTPProvider(url, request_kwargs={"timeout": 7, "headers": {"X-Key": "k"}}))
    assert plain is not None and (plain.host, plain.port, plain.path, plain.timeout) == ("127.0.0.1", 8545, "/", 7.0)
    assert plain.headers == {"X-Key": "k", "Content-Type": "application/json"}
    assert RawHttp.for_provider(HTTPProvider(url, request_kwargs={"auth": ("u", "p")})) is None
    assert RawHttp.for_provider(HTTPProvider(url, request_kwargs={"timeout": (3, 30)})) is None
    assert RawHttp.for_provider(InterruptingProvider(url)) is None  # wraps make_request: keep its hooks
    assert RawHttp.for_provider(FakeLogNode([], 0)) is None


def test_pylenders_own_provider_gets_the_plain_transport_with_its_credentials() -> None:
    plain = RawHttp.for_provider(KeepAliveHTTPProvider("https://audit:s3cret@node.example:8443/v1?key=k", 12.0))
    assert plain is not None and plain.https
    assert (plain.host, plain.port, plain.path, plain.timeout) == ("node.example", 8443, "/v1?key=k", 12.0)
    assert plain.headers == {"Authorization": "Basic YXVkaXQ6czNjcmV0", "Content-Type": "application/json"}
    bare = RawHttp.for_provider(KeepAliveHTTPProvider("http://127.0.0.1:8545"))
    assert bare is not None and bare.headers == {"Content-Type": "application/json"}


def test_the_fetcher_over_pylenders_provider_reads_every_log(
    synthetic_catalog: EventCatalog, spread: list[Record], server: _Node
) -> None:
    fetcher = LogFetcher(make_web3(server.url), LEDGER, synthetic_catalog.topics, FetchConfig(chunk_size=5_000))
    assert fetcher._http is not None
    assert LogDecoder(synthetic_catalog).decode_all(fetcher.fetch(0, LATEST)) == spread


def test_the_fetcher_reads_every_log_over_the_plain_transport(
    synthetic_catalog: EventCatalog, spread: list[Record], server: _Node
) -> None:
    w3 = Web3(HTTPProvider(server.url))
    fetcher = LogFetcher(w3, LEDGER, synthetic_catalog.topics, FetchConfig(chunk_size=1_000))
    assert fetcher._http is not None
    assert fetcher.final_block() == LATEST
    assert LogDecoder(synthetic_catalog).decode_all(fetcher.fetch(0, LATEST)) == spread
    assert [b["method"] for b in server.bodies] == ["eth_blockNumber"] + ["eth_getLogs"] * 4
    assert [b["id"] for b in server.bodies] == [1, 2, 3, 4, 5]
    assert server.node.served == [(0, 999), (1_000, 1_999), (2_000, 2_999), (3_000, 4_999)]


def test_a_busy_answer_is_retried_and_a_413_narrows_the_range(
    synthetic_catalog: EventCatalog, spread: list[Record], server: _Node
) -> None:
    sleeps: list[float] = []
    config = FetchConfig(chunk_size=5_000, backoff=0.5)
    fetcher = LogFetcher(Web3(HTTPProvider(server.url)), LEDGER, synthetic_catalog.topics, config, sleep=sleeps.append)
    server.statuses = [503, 413]
    logs = fetcher.fetch(0, LATEST)
    assert LogDecoder(synthetic_catalog).decode_all(logs) == spread
    assert sleeps == [0.5] and fetcher.refusals == 1
    assert server.node.served[0] == (0, 2_499)


def test_an_http_error_status_carries_its_code(server: _Node) -> None:
    transport = RawHttp.for_provider(HTTPProvider(server.url))
    assert transport is not None
    server.statuses = [502]
    with pytest.raises(HttpStatusError) as raised:
        transport.call("eth_blockNumber", [])
    assert raised.value.status_code == 502
    assert transport.call("eth_blockNumber", []) == {"jsonrpc": "2.0", "id": 2, "result": hex(LATEST)}


def test_logs_are_read_into_the_fields_the_audit_uses_and_odd_replies_as_plain_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pylender.audit.fetch import LOGS_REPLY

    log = {
        "address": LEDGER,
        "topics": ["0x" + "11" * 32],
        "data": "0x" + "22" * 32,
        "blockHash": "0x" + "33" * 32,
        "blockNumber": "0x5",
        "transactionHash": "0x" + "44" * 32,
        "transactionIndex": "0x0",
        "logIndex": "0x1",
        "removed": False,
    }
    http = RawHttp("http://127.0.0.1:1/", {})
    replies: list[dict[str, Any]] = [
        {"jsonrpc": "2.0", "id": 1, "result": [log]},
        {"jsonrpc": "2.0", "id": 2, "result": [{**log, "topics": "not a list"}]},  # not what the types say
        {"jsonrpc": "2.0", "id": 3, "error": {"code": -32005, "message": "query returned more than 10000 results"}},
    ]
    monkeypatch.setattr(http, "post", lambda body: json.dumps(replies.pop(0)).encode())

    typed = http.call("eth_getLogs", [], LOGS_REPLY)
    assert typed == {
        "result": [{k: log[k] for k in ("topics", "data", "blockNumber", "transactionHash", "logIndex", "removed")}]
    }
    assert http.call("eth_getLogs", [], LOGS_REPLY)["result"][0]["topics"] == "not a list"  # plain JSON, whole
    assert http.call("eth_getLogs", [], LOGS_REPLY)["error"]["code"] == -32005


def test_an_indexed_read_keeps_each_logs_block_hash_and_a_plain_one_skips_it() -> None:
    from pylender.audit.fetch import HASHED_LOGS_REPLY, LOGS_REPLY

    log = {"topics": [], "data": "0x", "blockNumber": "0x5", "blockHash": "0x" + "33" * 32, "logIndex": "0x0"}
    raw = json.dumps({"jsonrpc": "2.0", "id": 1, "result": [log]}).encode()
    assert HASHED_LOGS_REPLY.decode(raw)["result"][0]["blockHash"] == "0x" + "33" * 32
    assert "blockHash" not in LOGS_REPLY.decode(raw)["result"][0]
