"""LocalNode starts anvil, answers, and never leaves a process behind; connections fail by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pylender.client.node import LocalNode, find_anvil, free_port
from pylender.client.transport import connect, rpc_call
from pylender.errors import NodeUnreachable, ToolchainError, WrongChainId


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.split(") ", 1)[1][0] != "Z"


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


def test_node_answers_then_stops_without_leftover_process() -> None:
    with LocalNode() as node:
        pid = node.pid
        assert pid is not None and _alive(pid)
        assert rpc_call(node.url, "eth_chainId") == "0x7a69"
    assert not _alive(pid)
    assert not node.running


def test_node_is_stopped_when_the_block_raises() -> None:
    pid = None
    with pytest.raises(RuntimeError, match="boom"), LocalNode() as node:
        pid = node.pid
        raise RuntimeError("boom")
    assert pid is not None and not _alive(pid)


_CHILD = textwrap.dedent(
    """
    import sys, time
    from pylender.client.node import LocalNode
    node = LocalNode().start()
    print(node.pid, flush=True)
    time.sleep(60)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_anvil_dies_with_its_python_parent(sig: signal.Signals) -> None:
    """SIGTERM/SIGINT run the cleanup; even SIGKILL of the parent takes anvil down (PR_SET_PDEATHSIG)."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        anvil_pid = int(child.stdout.readline())
        assert _alive(anvil_pid)
        child.send_signal(sig)
        child.wait(timeout=20)
        assert _wait_gone(anvil_pid), f"anvil {anvil_pid} survived {sig.name} of its parent"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_state_file_persists_the_chain(tmp_path: Path) -> None:
    state = tmp_path / "chain.json"
    with LocalNode(state=state) as node:
        rpc_call(node.url, "evm_mine", [])
        rpc_call(node.url, "evm_mine", [])
        assert rpc_call(node.url, "eth_blockNumber") == "0x2"
    assert state.is_file()
    with LocalNode(state=state) as node:
        assert rpc_call(node.url, "eth_blockNumber") == "0x2"


def test_block_time_mines_on_an_interval() -> None:
    with LocalNode(block_time=1) as node:
        first = int(str(rpc_call(node.url, "eth_blockNumber")), 16)
        deadline = time.monotonic() + 10
        while int(str(rpc_call(node.url, "eth_blockNumber")), 16) == first:
            assert time.monotonic() < deadline, "no block mined without transactions"
            time.sleep(0.05)


def test_fixed_port_is_used() -> None:
    port = free_port()
    with LocalNode(port) as node:
        assert node.url == f"http://127.0.0.1:{port}"


def test_missing_anvil_is_a_toolchain_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYLENDER_ANVIL", str(tmp_path / "no-such-anvil"))
    with pytest.raises(ToolchainError, match="PYLENDER_ANVIL"):
        find_anvil()


def test_anvil_that_cannot_start_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "anvil"
    fake.write_text("#!/bin/sh\necho 'broken anvil' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(ToolchainError, match="broken anvil"):
        LocalNode(anvil=fake).start()


def test_unreachable_rpc_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(NodeUnreachable, match=url) as info:
        connect(url)
    assert info.value.url == url
    assert isinstance(info.value, ConnectionError)


def test_wrong_chain_id_is_refused(rpc_url: str) -> None:
    with pytest.raises(WrongChainId) as info:
        connect(rpc_url, chain_id=1)
    assert (info.value.expected, info.value.actual) == (1, 31337)
    assert connect(rpc_url, chain_id=31337).eth.chain_id == 31337


@pytest.fixture(scope="module", autouse=True)
def anvils_before_module() -> set[int]:
    """Our anvil children alive before this module's first test (other modules' session nodes)."""
    return _our_anvils()


def test_no_anvil_left_from_this_module(anvils_before_module: set[int]) -> None:
    started_here = _our_anvils() - anvils_before_module
    # only the session node (started by the `chain` fixture, if a test here used it first) may remain
    assert len(started_here) <= 1, sorted(started_here)


def _our_anvils() -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit() and _is_our_anvil(int(p))}


def _is_our_anvil(pid: int) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        ppid = int(Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return False
    return bool(cmd and cmd[0].endswith(b"anvil")) and ppid == os.getpid() and _alive(pid)


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_anvil_around(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No $PYLENDER_ANVIL, nothing on PATH, and a working directory with no node_modules above it."""
    monkeypatch.delenv("PYLENDER_ANVIL", raising=False)
    monkeypatch.delenv("PYLENDER_NODE_MODULES", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    work = tmp_path / "project" / "sub"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return tmp_path


def test_anvil_on_path_is_used(no_anvil_around: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    foundry = _executable(no_anvil_around / "foundry" / "bin" / "anvil")
    monkeypatch.setenv("PATH", str(foundry.parent))
    assert find_anvil() == foundry


def test_npm_launcher_on_path_starts_its_platform_binary(
    no_anvil_around: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modules = no_anvil_around / "elsewhere" / "node_modules"
    binary = _executable(modules / "@foundry-rs" / "anvil-someos-somearch" / "bin" / "anvil")
    launcher = _executable(modules / ".bin" / "anvil")  # npm's node script: a process in between
    monkeypatch.setenv("PATH", str(launcher.parent))
    assert find_anvil() == binary


def test_node_modules_above_the_working_directory_is_the_fallback(no_anvil_around: Path) -> None:
    binary = _executable(no_anvil_around / "project" / "node_modules" / "@foundry-rs" / "anvil-x-y" / "bin" / "anvil")
    assert find_anvil() == binary


def test_no_anvil_anywhere_says_how_to_get_one(no_anvil_around: Path) -> None:
    with pytest.raises(ToolchainError, match="install Foundry so that `anvil` is on PATH, set PYLENDER_ANVIL"):
        find_anvil()
