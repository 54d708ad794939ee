"""A JSON-RPC proxy in front of a node that misbehaves on purpose: it can swallow the response to the next
call(s) of a method (the request still reaches the node, as when a reply is lost or times out), or answer them
with an HTTP 503 without forwarding."""

from __future__ import annotations

import http.client
import json
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
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    method = json.loads(body).get("method", "?")
                except (ValueError, AttributeError):
                    method = "?"
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

    def __enter__(self) -> FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
