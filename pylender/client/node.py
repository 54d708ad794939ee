"""The local chain: an anvil process owned by this Python process.

:class:`LocalNode` starts anvil on a free loopback port in its own process group, waits until
it answers ``eth_chainId`` and stops it on exit - normal, exception, Ctrl-C, SIGTERM, or the
parent dying (Linux ``PR_SET_PDEATHSIG``) - so no anvil process is ever left behind. Talking to
it (or to any node) is :mod:`pylender.client.transport`'s job.
"""

from __future__ import annotations

import atexit
import contextlib
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
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from web3 import Web3

from pylender.client.transport import make_web3, rpc_call
from pylender.errors import ToolchainError

log = logging.getLogger(__name__)

ANVIL_CHAIN_ID = 31337
ENV_ANVIL = "PYLENDER_ANVIL"
ENV_NODE_MODULES = "PYLENDER_NODE_MODULES"
START_TIMEOUT = 20.0
_RUNNING: set[LocalNode] = set()
_LOCK = threading.RLock()


def _platform_package() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"anvil-{system}-{arch}"


def find_anvil() -> Path:
    """The anvil binary, first found of:

    * ``$PYLENDER_ANVIL``;
    * ``anvil`` on PATH (Foundry's; for npm's ``node_modules/.bin/anvil`` launcher, the platform binary
      it would start);
    * the ``@foundry-rs/anvil-<platform>`` npm package in ``$PYLENDER_NODE_MODULES``, else in a
      ``node_modules`` folder of the working directory or one of its parents (where ``npm install`` puts it).
    """
    env = os.environ.get(ENV_ANVIL)
    if env:
        path = Path(env)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ToolchainError(f"{ENV_ANVIL}={env} is not an executable file")
    on_path = shutil.which("anvil")
    if on_path:
        launcher = Path(on_path)
        if launcher.parent.name == ".bin" and launcher.parent.parent.name == "node_modules":
            return _npm_anvil(launcher.parent.parent) or launcher
        return launcher
    for folder in _node_modules_folders():
        found = _npm_anvil(folder)
        if found is not None:
            return found
    raise ToolchainError(
        f"No anvil binary: install Foundry so that `anvil` is on PATH, set {ENV_ANVIL} to the binary, or run "
        f"`npm install @foundry-rs/anvil` (it installs @foundry-rs/{_platform_package()}) in this folder."
    )


def _node_modules_folders() -> list[Path]:
    env = os.environ.get(ENV_NODE_MODULES)
    if env:
        return [Path(env)]
    here = Path.cwd()
    return [folder / "node_modules" for folder in (here, *here.parents)]


def _npm_anvil(node_modules: Path) -> Path | None:
    """The platform binary of npm's ``@foundry-rs/anvil`` under ``node_modules``, if installed."""
    scope = node_modules / "@foundry-rs"
    preferred = scope / _platform_package() / "bin" / "anvil"
    if preferred.is_file() and os.access(preferred, os.X_OK):
        return preferred
    for candidate in sorted(scope.glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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
        self._cache_dir: str | None = None  # the states anvil persists, removed at stop
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
        resumed = self.options.state is not None and self.options.state.exists()
        attempts = 1 if self.options.port else 3
        last_error = ""
        for _ in range(attempts):
            port = self.options.port or free_port(self.options.host)
            self._log_file = tempfile.NamedTemporaryFile(prefix="pylender-anvil-", suffix=".log", delete=False)  # noqa: SIM115
            # Its own directory for the states anvil persists to disk (by default ~/.foundry/anvil/tmp, about half
            # a gigabyte per chain that ran a while, left behind whenever anvil does not exit cleanly): removed
            # when the node stops, however anvil ended.
            self._cache_dir = tempfile.mkdtemp(prefix="pylender-anvil-states-")
            cmd = [*self._command(anvil, port), "--cache-path", self._cache_dir]
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
                if resumed:
                    self._resume_clock()
                return self
            last_error = self._log_tail()
            self.stop()
        raise ToolchainError(f"anvil did not start: {last_error or 'no output'}")

    def _resume_clock(self) -> None:
        """A chain loaded from ``--state`` goes on from its latest block's time: anvil restarts its clock at the wall
        clock, and a chain whose time was moved forward (``chain advance``) would otherwise mine blocks that go back
        in time."""
        block = rpc_call(self.url, "eth_getBlockByNumber", ["latest", False])
        latest = int(str(block["timestamp"]), 16) if isinstance(block, dict) else 0
        if latest > time.time():
            rpc_call(self.url, "evm_setTime", [latest])

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
        if self._cache_dir is not None:
            shutil.rmtree(self._cache_dir, ignore_errors=True)
            self._cache_dir = None

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
