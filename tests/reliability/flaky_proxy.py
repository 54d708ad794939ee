"""A JSON-RPC proxy in front of a node that misbehaves on purpose: it can swallow the response to the next
call(s) of a method (the request still reaches the node, as when a reply is lost or times out), or answer them
with an HTTP 503 without forwarding.

Like a hosted provider it can also refuse ``eth_getLogs`` over more than ``max_log_range`` blocks, and drop a
share ``drop_rate`` of all requests (the connection is closed without a reply, the request never forwarded),
or the next ``drop_next[method]`` requests of a method.
Which requests are dropped comes from a seeded RNG keyed on the request itself (method and params, ids left
out) and on how many times that request was seen before: the same seed drops the same requests whatever the
order the client's threads send them in, so a failing run can be replayed exactly."""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FlakyProxy:
    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.stall: Counter[str] = Counter()  # method -> responses to swallow (request forwarded)
        self.refuse: Counter[str] = Counter()  # method -> requests answered 503 (not forwarded)
        self.stall_seconds = 2.0
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.max_log_range: int | None = None  # eth_getLogs over more blocks is refused (-32005)
        self.drop_rate = 0.0  # share of requests whose connection is closed without a reply
        self.drop_next: Counter[str] = Counter()  # method ("batch" for a JSON-RPC batch) -> requests to drop next
        self.seed = 0
        self.dropped: Counter[str] = Counter()
        self.range_refusals = 0
        self._occurrences: Counter[str] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    request = json.loads(body)
                except ValueError:
                    request = None
                method = request.get("method", "?") if isinstance(request, dict) else "batch"
                with proxy.lock:
                    forced = proxy.drop_next[method] > 0
                    if forced:
                        proxy.drop_next[method] -= 1
                if forced or proxy._drop(request):
                    with proxy.lock:
                        proxy.dropped[method] += 1
                    self.close_connection = True  # no reply: the client sees the connection closed
                    return
                refusal = proxy._range_refusal(request)
                if refusal is not None:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(refusal)))
                    self.end_headers()
                    self.wfile.write(refusal)
                    return
                with proxy.lock:
                    proxy.seen[method] += 1
                    refuse = proxy.refuse[method] > 0
                    if refuse:
                        proxy.refuse[method] -= 1
                    stall = not refuse and proxy.stall[method] > 0
                    if stall:
                        proxy.stall[method] -= 1
                if refuse:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
                reply = conn.getresponse().read()
                conn.close()
                if stall:
                    time.sleep(proxy.stall_seconds)  # the client times out; the node has done the work
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _drop(self, request: Any) -> bool:
        if self.drop_rate <= 0:
            return False
        items = request if isinstance(request, list) else [request]
        key = hashlib.sha256(
            json.dumps(
                [[i.get("method"), i.get("params")] if isinstance(i, dict) else i for i in items], sort_keys=True
            ).encode()
        ).hexdigest()
        with self.lock:
            self._occurrences[key] += 1
            occurrence = self._occurrences[key]
        return random.Random(f"{self.seed}:{key}:{occurrence}").random() < self.drop_rate

    def _range_refusal(self, request: Any) -> bytes | None:
        if self.max_log_range is None or not isinstance(request, dict) or request.get("method") != "eth_getLogs":
            return None
        query = request["params"][0]
        start, end = int(query["fromBlock"], 16), int(query["toBlock"], 16)
        if end - start + 1 <= self.max_log_range:
            return None
        with self.lock:
            self.range_refusals += 1
        error = {"code": -32005, "message": f"query exceeds max block range {self.max_log_range}"}
        return json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "error": error}).encode()

    def __enter__(self) -> FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
