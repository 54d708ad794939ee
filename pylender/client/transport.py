"""JSON-RPC over HTTP to any node: a keep-alive web3 provider, a raw probe, and :func:`connect`.

:func:`connect` opens a web3 connection to ``--rpc``/``PYLENDER_RPC`` and checks the chain id;
:class:`KeepAliveHTTPProvider` keeps one HTTP connection per thread (web3's default opens a
``requests`` session per call, which dominated the time of a local node's answers).
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
import urllib.request

from web3 import HTTPProvider, Web3

from pylender.errors import NodeUnreachable, WrongChainId

ENV_RPC = "PYLENDER_RPC"
"""The environment variable naming the JSON-RPC URL when no ``--rpc``/``rpc=`` is given."""


def rpc_call(url: str, method: str, params: list[object] | None = None, timeout: float = 2.0) -> object:
    """One raw JSON-RPC call (no web3), used to probe nodes; raises ``OSError``/``ValueError``."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        payload = json.loads(resp.read())
    if "error" in payload:
        raise ValueError(payload["error"])
    return payload["result"]


class KeepAliveHTTPProvider(HTTPProvider):
    """web3's HTTP provider over one persistent ``http.client`` connection per thread.

    ``requests`` costs about a millisecond per call; a local anvil answers in a tenth of that, so the
    transport dominated. Same JSON-RPC encoding and decoding as the parent class.
    """

    def __init__(self, endpoint_uri: str, timeout: float = 30.0) -> None:
        super().__init__(endpoint_uri, request_kwargs={"timeout": timeout})
        parts = urllib.parse.urlsplit(endpoint_uri)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._local = threading.local()
        self._auth = None
        if parts.username:
            import base64

            token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
            self._auth = f"Basic {token}"

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=self._timeout)
            self._local.conn = conn
        return conn

    @property
    def timeout(self) -> float:
        return self._timeout

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header of credentials in the URL (empty without them)."""
        return {"Authorization": self._auth} if self._auth else {}

    def _make_request(self, method: str, request_data: bytes) -> bytes:
        headers = {"Content-Type": "application/json", **self.auth_headers()}
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", self._path, body=request_data, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                if resp.status >= 400 and not body.startswith(b"{"):
                    raise OSError(f"HTTP {resp.status} from {self.endpoint_uri}")
                return body
            except (http.client.HTTPException, ConnectionError, OSError) as exc:
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    # A named PylenderError (also a ConnectionError) rather than the socket's own.
                    raise NodeUnreachable(str(self.endpoint_uri), str(exc) or type(exc).__name__) from exc
        raise AssertionError("unreachable")  # pragma: no cover


def make_web3(url: str, timeout: float = 30.0) -> Web3:
    """A web3 instance for ``url`` over a keep-alive HTTP connection (no extra middleware)."""
    return Web3(KeepAliveHTTPProvider(url, timeout), middleware=[])


def connect(url: str, chain_id: int | None = None, timeout: float = 30.0) -> Web3:
    """Connect to a JSON-RPC node; :class:`NodeUnreachable` if it does not answer,
    :class:`WrongChainId` if ``chain_id`` is given and differs from the node's."""
    try:
        actual = int(str(rpc_call(url, "eth_chainId", timeout=min(timeout, 5.0))), 16)
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        raise NodeUnreachable(url, str(reason)) from exc
    if chain_id is not None and actual != chain_id:
        raise WrongChainId(chain_id, actual, url)
    return make_web3(url, timeout)
