"""JSON-RPC over a plain ``http.client`` connection, for the audit's bulk reads.

web3's :class:`~web3.HTTPProvider` posts through requests, which spends about 20 ms of CPU reading
the 13 MB ``eth_getLogs`` reply of 10,000 records; ``http.client`` reads it in about 4 ms, and
msgspec parses it in about 60% of the time ``json`` takes. :meth:`RawHttp.for_provider` is used
for pylender's own :class:`~pylender.client.transport.KeepAliveHTTPProvider` (what ``pylender`` connects with:
plain HTTP(S), credentials in the URL) and for a stock ``HTTPProvider`` (``make_request`` not
overridden) whose request options are the headers and a timeout; anything else (auth, proxies,
client certificates, an explicit session, a subclass that wraps requests) keeps the provider's own
transport.
"""

from __future__ import annotations

import http.client
import threading
from typing import Any
from urllib.parse import urlsplit

import msgspec
from web3 import HTTPProvider

from pylender.errors import FetchError, HttpStatusError

DEFAULT_TIMEOUT = 30.0
PLAIN_OPTIONS = {"headers", "timeout"}


class RawHttp:
    """POSTs JSON-RPC requests to one URL; one connection per thread, reopened after a failure or a
    :meth:`close`."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = {**headers, "Content-Type": "application/json"}
        self.timeout = timeout
        self._local = threading.local()
        self._ids = 0
        self._lock = threading.Lock()
        self._open: list[http.client.HTTPConnection] = []

    @classmethod
    def for_provider(cls, provider: Any) -> RawHttp | None:
        """A transport with the provider's URL, headers and timeout; None when the provider needs its own."""
        from pylender.client.transport import KeepAliveHTTPProvider

        if type(provider) is KeepAliveHTTPProvider:  # pylender's own: plain HTTP(S), optional basic auth
            return cls(str(provider.endpoint_uri), provider.auth_headers(), provider.timeout)
        if not isinstance(provider, HTTPProvider) or type(provider).make_request is not HTTPProvider.make_request:
            return None
        if type(provider)._make_request is not HTTPProvider._make_request:
            return None
        if getattr(provider._request_session_manager, "_explicit_session", None) is not None:
            return None
        options = dict(provider.get_request_kwargs())
        if set(options) - PLAIN_OPTIONS:
            return None
        timeout = options.get("timeout", DEFAULT_TIMEOUT)
        if not isinstance(timeout, (int, float)):  # a (connect, read) pair: leave it to requests
            return None
        try:
            return cls(str(provider.endpoint_uri), dict(options.get("headers") or {}), float(timeout))
        except ValueError:
            return None

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = self._local.conn = kind(self.host, self.port, timeout=self.timeout)
            with self._lock:
                self._open.append(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection (a later request opens a new one)."""
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def post(self, body: bytes) -> bytes:
        """The raw reply to one request body; connection errors and timeouts propagate (the caller retries)."""
        conn = self._connection()
        try:
            conn.request("POST", self.path, body=body, headers=self.headers)
            response = conn.getresponse()
            data = response.read()
        except BaseException:
            conn.close()
            raise
        if response.status != 200:
            raise HttpStatusError(response.status, data)
        return data

    def call(self, method: str, params: list[Any], decoder: msgspec.json.Decoder[Any] | None = None) -> Any:
        """One JSON-RPC request; the decoded reply object (``result`` or ``error``).

        ``decoder`` reads the reply into the types it was made for (skipping fields they do not name); a
        reply it cannot read that way is decoded as plain JSON."""
        self._ids += 1
        raw = self.post(msgspec.json.encode({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params}))
        try:
            if decoder is not None:
                try:
                    return decoder.decode(raw)
                except msgspec.ValidationError:
                    pass
            return msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise FetchError(f"{method}: the node's answer is not JSON: {raw[:200]!r}") from exc
