"""The local chain (an embedded anvil) and the JSON-RPC connection to any node.

:class:`LocalNode` starts anvil on a free loopback port in its own process group, waits until
it answers ``eth_chainId`` and stops it on exit - normal, exception, Ctrl-C, SIGTERM, or the
parent dying (Linux ``PR_SET_PDEATHSIG``) - so no anvil process is ever left behind.
:func:`connect` opens a web3 connection to ``--rpc``/``PYLENDER_RPC`` and checks the chain id.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from web3 import HTTPProvider, Web3

from pylender.errors import NodeUnreachable, ToolchainError, WrongChainId

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
ANVIL_CHAIN_ID = 31337
START_TIMEOUT = 20.0
_RUNNING: set[LocalNode] = set()
_LOCK = threading.RLock()


def _node_modules() -> Path:
    env = os.environ.get("PYLENDER_NODE_MODULES")
    return Path(env) if env else REPO_ROOT / "node_modules"


def _platform_package() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"anvil-{system}-{arch}"


def find_anvil() -> Path:
    """The anvil binary: ``$PYLENDER_ANVIL``, the npm platform package, else ``anvil`` on PATH."""
    env = os.environ.get("PYLENDER_ANVIL")
    if env:
        path = Path(env)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ToolchainError(f"PYLENDER_ANVIL={env} is not an executable file")
    scope = _node_modules() / "@foundry-rs"
    preferred = scope / _platform_package() / "bin" / "anvil"
    if preferred.is_file():
        return preferred
    for candidate in sorted(scope.glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise ToolchainError(
        "No anvil binary: set PYLENDER_ANVIL, run `npm ci` in the repository (it installs "
        f"@foundry-rs/{_platform_package()}), or install Foundry so that `anvil` is on PATH."
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def rpc_call(url: str, method: str, params: list[object] | None = None, timeout: float = 2.0) -> object:
    """One raw JSON-RPC call (no web3), used to probe nodes; raises ``OSError``/``ValueError``."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        payload = json.loads(resp.read())
    if "error" in payload:
        raise ValueError(payload["error"])
    return payload["result"]


def _set_pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: die with the parent


@dataclass
class NodeOptions:
    """How to start anvil."""

    port: int | None = None
    host: str = "127.0.0.1"
    state: Path | None = None
    block_time: float | None = None
    accounts: int = 10
    balance_eth: int = 10_000
    chain_id: int = ANVIL_CHAIN_ID
    gas_limit: int | None = None
    timestamp: int | None = None
    extra_args: tuple[str, ...] = ()


class LocalNode:
    """An anvil process owned by this Python process.

    >>> with LocalNode() as node:
    ...     w3 = node.web3()
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        state: str | Path | None = None,
        block_time: float | None = None,
        accounts: int = 10,
        balance_eth: int = 10_000,
        chain_id: int = ANVIL_CHAIN_ID,
        host: str = "127.0.0.1",
        gas_limit: int | None = None,
        timestamp: int | None = None,
        extra_args: tuple[str, ...] = (),
        anvil: str | Path | None = None,
    ) -> None:
        self.options = NodeOptions(
            port=port,
            host=host,
            state=Path(state) if state else None,
            block_time=block_time,
            accounts=accounts,
            balance_eth=balance_eth,
            chain_id=chain_id,
            gas_limit=gas_limit,
            timestamp=timestamp,
            extra_args=tuple(extra_args),
        )
        self._anvil = Path(anvil) if anvil else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: tempfile._TemporaryFileWrapper[bytes] | None = None
        self.port: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self.port is None:
            raise ToolchainError("the local node is not running")
        return f"http://{self.options.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _command(self, anvil: Path, port: int) -> list[str]:
        o = self.options
        cmd = [
            str(anvil),
            "--host", o.host,
            "--port", str(port),
            "--accounts", str(o.accounts),
            "--balance", str(o.balance_eth),
            "--chain-id", str(o.chain_id),
        ]  # fmt: skip
        if o.state is not None:
            cmd += ["--state", str(o.state)]
        if o.block_time is not None:
            cmd += ["--block-time", str(o.block_time)]
        if o.gas_limit is not None:
            cmd += ["--gas-limit", str(o.gas_limit)]
        if o.timestamp is not None:
            cmd += ["--timestamp", str(o.timestamp)]
        return cmd + list(o.extra_args)

    def start(self) -> LocalNode:
        """Start anvil and wait until it answers; raise :class:`ToolchainError` if it cannot."""
        if self.running:
            return self
        anvil = self._anvil or find_anvil()
        attempts = 1 if self.options.port else 3
        last_error = ""
        for _ in range(attempts):
            port = self.options.port or free_port(self.options.host)
            self._log_file = tempfile.NamedTemporaryFile(prefix="pylender-anvil-", suffix=".log", delete=False)  # noqa: SIM115
            cmd = self._command(anvil, port)
            log.debug("starting %s", " ".join(cmd))
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_set_pdeathsig if os.name == "posix" else None,
            )
            self.port = port
            with _LOCK:
                _RUNNING.add(self)
            _install_signal_handlers()
            if self._wait_ready():
                log.info("anvil %s listening on %s (pid %d)", anvil, self.url, self._proc.pid)
                return self
            last_error = self._log_tail()
            self.stop()
        raise ToolchainError(f"anvil did not start: {last_error or 'no output'}")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        delay = 0.005
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                rpc_call(self.url, "eth_chainId", timeout=1.0)
                return True
            except (OSError, ValueError):
                time.sleep(delay)
                delay = min(delay * 1.5, 0.1)
        return False

    def _log_tail(self, chars: int = 2000) -> str:
        if self._log_file is None:
            return ""
        try:
            return Path(self._log_file.name).read_text(errors="replace")[-chars:].strip()
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop anvil (SIGINT, so it writes ``--state``; then SIGKILL) and reap it."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGINT)
                except (ProcessLookupError, PermissionError):
                    proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)
            log.debug("anvil pid %d stopped (exit %s)", proc.pid, proc.returncode)
        self._proc = None
        with _LOCK:
            _RUNNING.discard(self)
        if self._log_file is not None:
            self._log_file.close()
            Path(self._log_file.name).unlink(missing_ok=True)
            self._log_file = None

    def __enter__(self) -> LocalNode:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def web3(self) -> Web3:
        return make_web3(self.url)

    def wait(self) -> int:
        """Block until anvil exits (foreground ``pylender node``); returns its exit code."""
        assert self._proc is not None
        return self._proc.wait()


def _stop_all() -> None:
    with _LOCK:
        nodes = list(_RUNNING)
    for node in nodes:
        try:
            node.stop()
        except Exception:
            log.exception("could not stop anvil")


atexit.register(_stop_all)
_handlers_installed = False


def _install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so ``finally`` blocks and atexit stop the nodes."""
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    _handlers_installed = True

    def _exit(signum: int, _frame: object) -> None:
        # Unwind instead of stopping here: the main thread may be inside Popen.wait() holding its lock.
        # The ``with`` blocks and the atexit hook then stop every node.
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None and signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _exit)


# -- connections ---------------------------------------------------------------------------------


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

    def _make_request(self, method: str, request_data: bytes) -> bytes:  # type: ignore[override]
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
