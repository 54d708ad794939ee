"""``scripts/`` are ape scripts: ``ape run deploy --network ethereum:local:foundry`` deploys on ape's own node with
ape's account, and ``ape run demo`` prints its report whole in 80 columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import as_json, ok, on

from pylender.client.node import LocalNode

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def ape(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    environ = {
        **os.environ,
        "APE_DATA_FOLDER": str(ROOT / ".ape"),
        "PATH": os.pathsep.join([str(bin_dir), str(ROOT / "node_modules" / ".bin"), os.environ.get("PATH", "")]),
        "COLUMNS": "80",
        **(env or {}),
    }
    return subprocess.run(
        [str(bin_dir / "ape"), "run", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=600
    )


@pytest.fixture()
def node() -> Iterator[LocalNode]:
    with LocalNode() as local:
        yield local


def test_deploy_on_apes_own_node_says_it_is_not_kept(tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    done = ape("deploy", "--network", "ethereum:local:foundry", "--deployment", str(dep))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ledger 0x" in done.stdout and "(chain 31337, block" in done.stdout
    assert "not saved" in done.stdout and "ape started this node" in done.stdout
    assert not dep.exists()


def test_deploy_on_a_node_that_stays_saves_a_deployment_pylender_uses(node: LocalNode, tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    done = ape(
        "deploy", "--network", "ethereum:local:foundry", "--deployment", str(dep), env={"APE_FOUNDRY_HOST": node.url}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    saved = json.loads(dep.read_text())
    assert saved["rpc"] == node.url and saved["chain_id"] == 31337
    assert saved["deployer"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # ape's TEST::0
    assert set(saved["libraries"]) == {
        "Closure",
        "CreditRisk",
        "Funding",
        "Institutions",
        "LoanViews",
        "Origination",
        "Participations",
        "Policy",
        "Prepayment",
    }
    ok(on(node.url, dep, "lender", "add", "1", "Bank"))
    roles = as_json(on(node.url, dep, "role", "show", "0", "--json"))["roles"]
    assert roles == ["DEFAULT_ADMIN_ROLE", "ORIGINATOR_ROLE", "PAUSER_ROLE", "SERVICER_ROLE"]


def test_demo_on_apes_node_prints_every_digit_in_80_columns() -> None:
    done = ape("demo", "--network", "ethereum:local:foundry", "--loans", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit verification: OK" in done.stdout
    assert "…" not in done.stdout
    assert "Bank of Example" in done.stdout and "withdrawn" in done.stdout
