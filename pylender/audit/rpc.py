"""JSON-RPC for the audit tools with retries: every read the audit makes besides ``eth_getLogs``.

A public or consortium node drops connections, times out, answers 429 or 503 now and then. An audit
of 100,000 records makes a few hundred requests, so one lost reply must not end it with a traceback.
:class:`Rpc` sends single requests and JSON-RPC batches over :class:`pylender.audit.transport.RawHttp`
(or the web3 provider when it needs its own transport), and retries what failed in transit (a closed
connection, a timeout, HTTP 429/5xx, a reply cut short, a node that says it is busy) with exponential
backoff, up to :class:`RetryPolicy`'s bound. Then it raises :class:`RpcExhausted`, naming the method,
the attempts, the time spent and the last failure. An error the node *answers* (a revert, an unknown
method, a missing state) is returned to the caller: retrying would not change it.

``eth_getLogs`` has its own loop in :mod:`pylender.audit.fetch` (it also narrows the range on refusals).
"""

from __future__ import annotations

import http.client
import logging
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from web3 import Web3

from pylender.audit.transport import RawHttp
from pylender.errors import HttpStatusError, RpcError, RpcExhausted

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
TRANSIENT_TEXT = ("timeout", "timed out", "rate limit", "too many requests", "temporarily", "try again", "busy")
Request = tuple[str, list[Any]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is sent again: ``attempts`` in all, waiting ``backoff`` seconds
    after the first failure and twice as long after each next one, never more than ``max_backoff``."""

    attempts: int = 8
    backoff: float = 0.1
    max_backoff: float = 5.0

    def delays(self) -> list[float]:
        """The waits between the attempts (``attempts - 1`` of them)."""
        return [min(self.backoff * 2**i, self.max_backoff) for i in range(max(0, self.attempts - 1))]


DEFAULT_POLICY = RetryPolicy()


def is_transient(exc: BaseException) -> bool:
    """Whether an exception raised while sending a request is worth sending it again for."""
    if isinstance(exc, HttpStatusError):
        return exc.status_code in TRANSIENT_STATUS
    if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout, http.client.HTTPException, EOFError)):
        return True  # RemoteDisconnected, ConnectionResetError, BadStatusLine, IncompleteRead, NodeUnreachable...
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        return int(status) in TRANSIENT_STATUS
    name = type(exc).__name__.lower()  # requests' and aiohttp's own classes
    return "timeout" in name or "connection" in name or "disconnect" in name


def is_transient_reply(reply: Any) -> bool:
    """Whether a JSON-RPC error object is the node being busy rather than a real answer."""
    error = reply.get("error") if isinstance(reply, Mapping) else None
    if not isinstance(error, Mapping):
        return False
    text = str(error.get("message", "")).lower()
    if any(marker in text for marker in TRANSIENT_TEXT):
        return True
    return error.get("code") == 429


class _Retry(Exception):
    """A reply that must be asked for again (cut short, or the node said it is busy)."""


class Rpc:
    """Retried JSON-RPC requests to one node (thread-safe: one connection per thread)."""

    def __init__(
        self,
        w3: Web3,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.w3 = w3
        self.policy = policy or DEFAULT_POLICY
        self._sleep = sleep
        self._http = RawHttp.for_provider(w3.provider)
        self.requests = 0  # round trips, retries included
        self.retries = 0

    @property
    def raw_http(self) -> RawHttp | None:
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    # ------------------------------------------------------------------ the retry loop

    def retrying(self, what: str, send: Callable[[], Any]) -> Any:
        """``send()`` until it returns without a transient failure; :class:`RpcExhausted` after the last try."""
        started = time.monotonic()
        delays = self.policy.delays()
        last: BaseException | None = None
        for attempt in range(len(delays) + 1):
            self.requests += 1
            try:
                return send()
            except _Retry as exc:
                last = exc
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # every transport raises its own classes
                if not is_transient(exc):
                    raise
                last = exc
            if attempt == len(delays):
                break
            self.retries += 1
            log.info("%s: %s; retrying in %.2f s", what, last, delays[attempt])
            self._sleep(delays[attempt])
        assert last is not None
        raise RpcExhausted(what, len(delays) + 1, time.monotonic() - started, last)

    # ------------------------------------------------------------------ requests

    def request(self, method: str, params: Sequence[Any]) -> Any:
        """The node's reply object to one request (``result`` or ``error``), retried on transient failures."""

        def send() -> Any:
            reply = self._send_one(method, list(params))
            if is_transient_reply(reply):
                raise _Retry(str(reply.get("error")))
            return reply

        return self.retrying(method, send)

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """The ``result`` of one request; :class:`RpcError` when the node answers with an error."""
        reply = self.request(method, params)
        if not isinstance(reply, Mapping):
            raise RpcError(method, reply)
        if reply.get("error") is not None or "result" not in reply:
            raise RpcError(method, reply.get("error", reply))
        return reply["result"]

    def batch(self, requests: Sequence[Request]) -> list[Any]:
        """The reply objects to ``requests`` in their order: one JSON-RPC batch, sent again whole when it is
        lost or comes back incomplete; one request at a time on a provider without batches."""
        if not requests:
            return []
        if len(requests) == 1:
            return [self.request(*requests[0])]
        what = f"a batch of {len(requests)} {requests[0][0]}"

        def send() -> list[Any]:
            replies = self._send_batch(list(requests))
            if replies is None:
                return [self.request(method, params) for method, params in requests]
            if any(is_transient_reply(r) for r in replies):
                raise _Retry("the node answered part of the batch with a transient error")
            return replies

        replies: list[Any] = self.retrying(what, send)
        return replies

    # ------------------------------------------------------------------ transports

    def _send_one(self, method: str, params: list[Any]) -> Any:
        if self._http is not None:
            return self._http.call(method, params)
        return self.w3.provider.make_request(method, params)  # type: ignore[arg-type]

    def _send_batch(self, requests: list[Request]) -> list[Any] | None:
        """One batch; None when the provider cannot send batches (the caller then sends them one by one)."""
        if self._http is not None:
            body = msgspec.json.encode(
                [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(requests)]
            )
            raw = self._http.post(body)
            try:
                answer = msgspec.json.decode(raw)
            except msgspec.DecodeError as exc:
                raise _Retry(f"the node's answer is not JSON: {raw[:120]!r}") from exc
            if not isinstance(answer, list):
                if isinstance(answer, Mapping) and answer.get("error") is not None and not is_transient_reply(answer):
                    return None  # the node refuses batches: {"error": ...} for the whole body
                raise _Retry(f"not a batch answer: {str(answer)[:120]}")
            by_id = {r.get("id"): r for r in answer if isinstance(r, Mapping)}
            if any(i not in by_id for i in range(len(requests))):
                raise _Retry(f"the batch answer holds {len(by_id)} of {len(requests)} replies")
            return [by_id[i] for i in range(len(requests))]
        make_batch = getattr(self.w3.provider, "make_batch_request", None)
        if make_batch is None:
            return None
        try:
            replies = make_batch(requests)
        except NotImplementedError:
            return None
        if not isinstance(replies, list):
            return None
        if len(replies) != len(requests):
            raise _Retry(f"the batch answer holds {len(replies)} of {len(requests)} replies")
        return replies

    # ------------------------------------------------------------------ common reads

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def code(self, address: str, block: int | str = "latest") -> bytes:
        tag = hex(block) if isinstance(block, int) else block
        return bytes.fromhex(str(self.call("eth_getCode", [address, tag]))[2:])

    def block(self, number: int | str) -> Mapping[str, Any] | None:
        """``eth_getBlockByNumber`` without transactions (None when the node has no such block)."""
        tag = hex(number) if isinstance(number, int) else number
        found = self.call("eth_getBlockByNumber", [tag, False])
        return found if isinstance(found, Mapping) else None

    def blocks(self, numbers: Sequence[int], per_batch: int = 500) -> dict[int, Mapping[str, Any]]:
        """Several blocks (without transactions) in batches; a block the node does not have is left out."""
        out: dict[int, Mapping[str, Any]] = {}
        for i in range(0, len(numbers), per_batch):
            part = numbers[i : i + per_batch]
            replies = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in part])
            for number, reply in zip(part, replies, strict=True):
                found = reply.get("result") if isinstance(reply, Mapping) else None
                if isinstance(found, Mapping):
                    out[number] = found
        return out
