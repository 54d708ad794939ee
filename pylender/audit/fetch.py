"""Fetch the ledger's audit logs from a real node: adaptive ranges, retries, confirmations.

Providers limit ``eth_getLogs`` by block range or result size and say so in many dialects
(``-32005 query returned more than 10000 results``, ``block range is too wide``, ``Log response
size exceeded``, HTTP 413, ...). The fetcher halves the range on such refusals and doubles it again
after a run of successes; timeouts and connection errors are retried with exponential backoff.

With ``target_logs`` (the audit's default) the range is also split: the first request covers a
``PARTS``-th of it, the next ones twice the last while replies stay under ``target_logs`` (each request
costs a round trip), up to a ``MIN_PARTS``-th, and narrower after a reply of more logs than that.
:meth:`LogFetcher.iter_chunks_ahead` fetches the next range in a thread while the caller decodes the
current one: the node serves on one core while Python decodes on the other. Over a plain HTTP provider
the requests go through :class:`pylender.audit.transport.RawHttp` (http.client and msgspec, no requests).
"""

from __future__ import annotations

import http.client
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from web3 import Web3

from pylender.audit.transport import RawHttp
from pylender.errors import FetchError, RpcExhausted

log = logging.getLogger(__name__)

RANGE_ERROR_CODES = {-32005, -32602, -32614}
RANGE_ERROR_MARKERS = (
    "query returned more than",
    "block range",
    "range is too",
    "range too",
    "too many",
    "limit exceeded",
    "response size",
    "exceed",
    "max range",
    "maximum range",
    "too large",
    "too big",
    "narrow",
)
TRANSIENT_MARKERS = ("timeout", "timed out", "rate limit", "temporarily", "try again", "unavailable", "busy")


@dataclass
class FetchConfig:
    """How the fetcher sizes ranges and retries."""

    chunk_size: int = 5_000
    min_chunk: int = 1
    max_chunk: int = 100_000
    grow_after: int = 3
    retries: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    confirmations: int = 0
    block_hashes: bool = False
    """Keep each log's ``blockHash`` (an index stores them to notice reorganisations; a plain audit skips them)."""
    target_logs: int | None = None
    """Split the range into ``MIN_PARTS`` requests at least (never above ``chunk_size`` blocks), the first
    a ``PARTS``-th of it, narrowed after a reply of more than this many logs and widened back after smaller
    ones; None: ``chunk_size``."""


PARTS = 32  # with target_logs, the first request covers this fraction of the whole range (decoding starts early)
MIN_PARTS = 8  # and no request more than this fraction (the next range is fetched while one is decoded)
AHEAD = 2  # chunks iter_chunks_ahead keeps fetched before the caller takes them


@dataclass(frozen=True)
class Chunk:
    """The logs of one fetched, inclusive block range."""

    start: int
    end: int
    logs: list[Mapping[str, Any]]


class _RangeRefused(Exception):
    def __init__(self, message: str, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


class _Transient(Exception):
    def __init__(self, message: str, shrink: bool) -> None:
        super().__init__(message)
        self.shrink = shrink


def _classify_error(code: int | None, message: str) -> Exception:
    text = message.lower()
    if code in RANGE_ERROR_CODES or any(m in text for m in RANGE_ERROR_MARKERS):
        return _RangeRefused(f"{code}: {message}")
    if code == 429 or any(m in text for m in TRANSIENT_MARKERS):
        return _Transient(f"{code}: {message}", shrink="timeout" in text or "timed out" in text)
    return FetchError(f"eth_getLogs failed: {code}: {message}")


def _classify_exception(exc: Exception) -> Exception:
    """Map a provider exception to a range refusal, a transient failure or a hard error."""
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if status == 413:
        return _RangeRefused(f"HTTP 413: {exc}")
    if status in (429, 500, 502, 503, 504):
        return _Transient(f"HTTP {status}: {exc}", shrink=status == 504)
    name = type(exc).__name__.lower()
    if (
        isinstance(exc, (TimeoutError, ConnectionError, http.client.HTTPException))
        or "timeout" in name
        or "connection" in name
    ):
        return _Transient(f"{type(exc).__name__}: {exc}", shrink="timeout" in name or isinstance(exc, TimeoutError))
    rpc = getattr(exc, "rpc_response", None)
    err = rpc.get("error") if isinstance(rpc, dict) else None
    if err is None and exc.args and isinstance(exc.args[0], dict):
        err = exc.args[0]
    if isinstance(err, dict):
        return _classify_error(err.get("code"), str(err.get("message", "")))
    return _classify_error(None, str(exc))


class _Log(TypedDict, total=False):
    """The fields of a log the audit reads (the rest of each log in the reply is skipped, not decoded)."""

    topics: list[str]
    data: str
    blockNumber: str | int | None
    transactionHash: str | None
    logIndex: str | int | None
    removed: bool


class _HashedLog(_Log, total=False):
    """A log with its block's hash: what an index keeps to notice a reorganisation (``FetchConfig.block_hashes``)."""

    blockHash: str | None


class _LogsReply(TypedDict, total=False):
    result: list[_Log] | None
    error: Any


class _HashedLogsReply(TypedDict, total=False):
    result: list[_HashedLog] | None
    error: Any


LOGS_REPLY = msgspec.json.Decoder(_LogsReply)
HASHED_LOGS_REPLY = msgspec.json.Decoder(_HashedLogsReply)  # about 15 % more decoding: only when indexing


class LogFetcher:
    """Fetches the logs of one address and a set of topic0s, chunk by chunk."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        topics: Sequence[bytes],
        config: FetchConfig | None = None,
        *,
        progress: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        indexed: Sequence[str | None] = (),
    ) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.topics = ["0x" + bytes(t).hex() for t in topics]
        self.indexed = list(indexed)  # filters on the indexed arguments after topic0 (None: any)
        self.config = config or FetchConfig()
        self.progress = progress
        self._sleep = sleep
        self.chunk_size = self.config.chunk_size
        self.requests = 0
        self.refusals = 0
        self._timeouts = 0
        self._http = RawHttp.for_provider(w3.provider)

    # ------------------------------------------------------------ node calls

    def _call(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call with retries on transient errors; range refusals propagate."""
        delay = self.config.backoff
        started = time.monotonic()
        for attempt in range(self.config.retries + 1):
            self.requests += 1
            try:
                response = self._request(method, params)
            except Exception as exc:  # every provider has its own exception zoo
                err = _classify_exception(exc)
            else:
                if "error" not in response or response["error"] is None:
                    self._timeouts = 0
                    return response["result"]
                e = response["error"]
                err = (
                    _classify_error(e.get("code"), str(e.get("message", "")))
                    if isinstance(e, dict)
                    else (_classify_error(None, str(e)))
                )
            if isinstance(err, _Transient):
                if err.shrink and method == "eth_getLogs":
                    # a timeout on a log query usually means too much work: back off, then ask for less
                    self._timeouts += 1
                    if self._timeouts > self.config.retries:
                        raise FetchError(f"{method} timed out {self._timeouts} times in a row: {err}")
                    self._sleep(min(self.config.backoff * 2 ** (self._timeouts - 1), self.config.max_backoff))
                    raise _RangeRefused(str(err), timeout=True)
                if attempt == self.config.retries:
                    raise RpcExhausted(method, attempt + 1, time.monotonic() - started, str(err))
                log.warning("%s: %s; retrying in %.1fs", method, err, delay)
                self._sleep(delay)
                delay = min(delay * 2, self.config.max_backoff)
                continue
            raise err
        raise FetchError(f"{method} failed")  # pragma: no cover - loop always returns or raises

    def _request(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC request: over :class:`RawHttp` when the provider allows it, else ``make_request``."""
        if self._http is None:
            return self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if method != "eth_getLogs":
            return self._http.call(method, params)
        return self._http.call(method, params, HASHED_LOGS_REPLY if self.config.block_hashes else LOGS_REPLY)

    def close(self) -> None:
        """Close the plain-HTTP connections (if any; a later request opens new ones)."""
        if self._http is not None:
            self._http.close()

    def latest_block(self) -> int:
        return int(self._call("eth_blockNumber", []), 16)

    def final_block(self) -> int:
        """The newest block reported as final: head − confirmations (−1 when none is)."""
        return self.latest_block() - self.config.confirmations

    def _get_logs(self, start: int, end: int) -> list[Mapping[str, Any]]:
        topics = [self.topics, *self.indexed]
        params = {"address": self.address, "fromBlock": hex(start), "toBlock": hex(end), "topics": topics}
        result = self._call("eth_getLogs", [params])
        return list(result)

    # ------------------------------------------------------------ ranges

    def iter_chunks(self, start: int, end: int) -> Iterator[Chunk]:
        """Yield the logs of [start, end] in consecutive chunks, shrinking and growing the range."""
        if end < start:
            return
        console = Console(stderr=True)
        with Progress(
            TextColumn("[bold]audit logs"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("blocks · {task.fields[logs]} logs"),
            TimeRemainingColumn(),
            console=console,
            disable=not self.progress,
            transient=True,
        ) as bar:
            task = bar.add_task("fetch", total=end - start + 1, logs=0)
            total_logs = 0
            streak = 0
            cursor = start
            target = self.config.target_logs
            blocks = end - start + 1
            span = max(1, -(-blocks // PARTS))  # with target_logs: blocks per request, doubled while replies are small
            widest = max(1, -(-blocks // MIN_PARTS))
            while cursor <= end:
                stop = min(end, cursor + (min(span, self.chunk_size) if target else self.chunk_size) - 1)
                try:
                    logs = self._get_logs(cursor, stop)
                except _RangeRefused as refusal:
                    self.refusals += 1
                    streak = 0
                    at_minimum = stop == cursor or self.chunk_size <= self.config.min_chunk
                    if refusal.timeout and at_minimum:
                        continue  # already backed off; the smallest range can only be retried
                    if at_minimum:
                        raise FetchError(f"the node refuses even blocks {cursor}-{stop}: {refusal}") from None
                    self.chunk_size = max(self.config.min_chunk, (stop - cursor + 1) // 2)
                    log.info("range %d-%d refused (%s); chunk now %d", cursor, stop, refusal, self.chunk_size)
                    continue
                total_logs += len(logs)
                bar.update(task, advance=stop - cursor + 1, logs=total_logs)
                if target:  # logs come in bursts (a batch of repayments fills a block): no density forecast
                    served = stop - cursor + 1
                    span = max(1, served * target // len(logs)) if len(logs) > target else min(widest, 2 * served)
                yield Chunk(cursor, stop, logs)
                cursor = stop + 1
                streak += 1
                if streak >= self.config.grow_after and self.chunk_size < self.config.max_chunk:
                    self.chunk_size = min(self.config.max_chunk, self.chunk_size * 2)
                    streak = 0

    def iter_chunks_ahead(self, start: int, end: int, ahead: int = AHEAD) -> Iterator[Chunk]:
        """:meth:`iter_chunks`, fetched in a thread up to ``ahead`` chunks before the caller takes them.

        Chunks come in order; an error of the fetch (or an interrupt) is raised here after the chunks
        fetched before it. When the caller stops early the thread stops before its next request.
        """
        chunks: queue.Queue[tuple[Chunk | None, BaseException | None]] = queue.Queue(maxsize=max(1, ahead))
        stop = threading.Event()

        def put(item: tuple[Chunk | None, BaseException | None]) -> bool:
            while not stop.is_set():
                try:
                    chunks.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for chunk in self.iter_chunks(start, end):
                    if not put((chunk, None)):
                        return
            except BaseException as exc:  # handed to the caller's thread, KeyboardInterrupt included
                put((None, exc))
            else:
                put((None, None))

        thread = threading.Thread(target=produce, name="audit-fetch", daemon=True)
        thread.start()
        try:
            while True:
                chunk, error = chunks.get()
                if error is not None:
                    raise error
                if chunk is None:
                    return
                yield chunk
        finally:
            stop.set()

    def fetch(self, start: int, end: int) -> list[Mapping[str, Any]]:
        """Every log of [start, end], in chain order."""
        out: list[Mapping[str, Any]] = []
        for chunk in self.iter_chunks(start, end):
            out.extend(chunk.logs)
        return out
