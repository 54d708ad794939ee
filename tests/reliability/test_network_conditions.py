"""Real network conditions, CI-sized: a shipped scenario and the audit verification on anvil with interval mining
(``--block-time 1``) and confirmations > 0, and the same on a second JSON-RPC node implementation (Hardhat's node)
(an npm devDependency, so `make test` installs it).

``PYLENDER_HARDHAT`` may point at another Hardhat binary; with none found the test skips with the reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scenario_oracle import chain_view, replay_reference

from pylender.audit import verify_ledger
from pylender.client.node import free_port
from pylender.client.session import Pylender
from pylender.client.transport import rpc_call
from pylender.scenarios.runner import run_scenario
from pylender.scenarios.schema import GENESIS_TIMESTAMP, load

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
HARDHAT_CONFIG = """\
module.exports = {
  networks: { hardhat: { chainId: 31337, allowUnlimitedContractSize: true, hardfork: "cancun",
                         accounts: { count: 10 } } },
};
"""


def _check_run(session: Pylender, scenario_file: str, confirmations: int) -> None:
    scenario = load(SCENARIOS / scenario_file)
    result = run_scenario(scenario, session=session)
    assert chain_view(result) == replay_reference(scenario, result)
    verification = verify_ledger(session.w3, result.ledger, confirmations=confirmations)
    assert verification.ok, [f.describe() for f in verification.findings]
    assert verification.findings == []


@pytest.mark.slow
def test_scenario_and_audit_with_interval_mining_and_confirmations():
    """Blocks every second, the client waiting one confirmation per transaction; the audit reads at latest − 1."""
    with Pylender.local(block_time=1, accounts=10, timestamp=GENESIS_TIMESTAMP) as session:
        session.confirmations = 1
        _check_run(session, "default-write-off.yaml", confirmations=1)


def _hardhat_binary() -> str | None:
    env = os.environ.get("PYLENDER_HARDHAT")
    if env and Path(env).exists():
        return env
    local = ROOT / "node_modules" / ".bin" / "hardhat"
    if local.exists():
        return str(local)
    return shutil.which("hardhat")


@pytest.fixture()
def hardhat_url(tmp_path: Path) -> Iterator[str]:
    binary = _hardhat_binary()
    if binary is None:
        pytest.skip("Hardhat's node is not installed (set PYLENDER_HARDHAT to node_modules/.bin/hardhat)")
    config = tmp_path / "hardhat.config.js"
    config.write_text(HARDHAT_CONFIG)
    port = free_port()
    log = (tmp_path / "hardhat.log").open("wb")
    # Hardhat runs only as a local installation: from the folder holding its node_modules, our config passed in.
    path = Path(binary)
    local = path.parent.name == ".bin" and path.parents[1].name == "node_modules"
    install_root = path.parents[2] if local else tmp_path
    proc = subprocess.Popen(
        [binary, "node", "--config", str(config), "--hostname", "127.0.0.1", "--port", str(port)],
        cwd=install_root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                rpc_call(url, "eth_chainId", timeout=1.0)
                break
            except (OSError, ValueError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"hardhat node did not start:\n{(tmp_path / 'hardhat.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.mark.slow
def test_scenario_and_audit_on_hardhat_node(hardhat_url: str):
    """A second node implementation: same scenario, same numbers as the reference, a clean audit."""
    session = Pylender.connect(hardhat_url, chain_id=31337)
    _check_run(session, "default-write-off.yaml", confirmations=0)
