"""The wheel is the runtime: built from this tree and installed alone in a fresh venv, it audits a live ledger
with ``pylender audit verify`` and has neither the ape stack nor the ``[frames]`` extra importable.

The venv is built once per test session (about half a minute, from the pinned versions of ``requirements.lock``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pylender.client.session import Pylender
from pylender.values import LoanTerms, Tranche

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYLENDER_", "PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=env, check=False)


@pytest.fixture(scope="session")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel built from this tree and the dependencies the wheel declares."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so the build leaves nothing in the tree (and sees no compiled modules)
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "pylender",
        source / "pylender",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd", "native.json"),
    )
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", work / "dist", source)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (work / "dist").glob("pylender-*.whl")
    venv = work / "venv"
    created = _run(sys.executable, "-m", "venv", venv)
    assert created.returncode == 0, created.stderr
    installed = _run(venv / "bin" / "python", "-m", "pip", "install", "--constraint", ROOT / "requirements.lock", wheel)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv


@pytest.fixture(scope="module")
def ledger_with_records() -> Iterator[tuple[str, str, int]]:
    """(RPC URL, ledger address, last audit seq) of a ledger with a co-lent loan funded, disbursed and repaid once."""
    with Pylender.local() as session:
        ledger = session.deploy()
        bank, platform, borrower = session.account(1), session.account(2), session.account(5)
        ledger.register_institution(bank, "Bank", is_platform=False)
        ledger.register_institution(platform, "Platform", is_platform=True)
        for who in (bank, platform, borrower):
            ledger.mint(who, ledger.units(100_000))
        terms = LoanTerms(
            borrower=borrower.address,
            borrower_id="wheel-test",
            principal=ledger.units(12_000),
            annual_rate_bps=1200,
            periods=12,
            period_seconds=30 * 86_400,
        )
        loan_id = ledger.originate(
            terms, [Tranche(lender=bank.address, share_bps=7000), Tranche(lender=platform.address, share_bps=3000)]
        )
        ledger.fund_all(loan_id)
        ledger.disburse(loan_id)
        ledger.advance(30 * 86_400)
        ledger.repay(loan_id, ledger.amount_due(loan_id).total_due, by=borrower)
        assert session.url is not None
        yield session.url, ledger.address, ledger.audit_head().seq


def test_the_wheel_alone_verifies_a_live_ledger(
    wheel_venv: Path, ledger_with_records: tuple[str, str, int], tmp_path: Path
) -> None:
    url, address, seq = ledger_with_records
    assert seq >= 10  # admin grant, policy, 2 institutions (and their roles), origination, 2 fundings, ...
    done = _run(wheel_venv / "bin" / "pylender", "audit", "verify", "--rpc", url, "--ledger", address, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    as_json = _run(
        wheel_venv / "bin" / "pylender", "audit", "verify", "--rpc", url, "--ledger", address, "--json", cwd=tmp_path
    )
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    result = json.loads(as_json.stdout)
    assert (result["ok"], result["records"], result["last_seq"]) == (True, seq, seq)


def test_the_wheel_brings_no_ape_and_no_optional_extras(wheel_venv: Path, tmp_path: Path) -> None:
    python = wheel_venv / "bin" / "python"
    for module in ("ape", "solcx", "pandas"):
        probe = _run(python, "-c", f"import {module}", cwd=tmp_path)
        assert probe.returncode != 0 and f"No module named '{module}'" in probe.stderr, (module, probe.stderr)
    frames = _run(python, "-c", "from pylender.audit.frames import records_frame; records_frame([])", cwd=tmp_path)
    assert "MissingExtra" in frames.stderr and "pip install 'pylender[frames]'" in frames.stderr, frames.stderr
    version = _run(wheel_venv / "bin" / "pylender", "--version", cwd=tmp_path)
    from importlib.metadata import version as installed_version

    assert version.stdout == f"pylender {installed_version('pylender')}\n"


def test_the_wheel_ships_the_artifacts_and_no_build_tooling(wheel_venv: Path, tmp_path: Path) -> None:
    listing = _run(
        wheel_venv / "bin" / "python",
        "-c",
        "import importlib.resources as r, pylender; "
        "print(sorted(p.name for p in r.files('pylender.artifacts').iterdir() if p.name.endswith('.json')))",
        cwd=tmp_path,
    )
    assert listing.returncode == 0, listing.stderr
    shipped = sorted(p.name for p in (ROOT / "pylender" / "artifacts").glob("*.json"))
    assert listing.stdout.strip() == str(shipped)
    tools = _run(wheel_venv / "bin" / "python", "-c", "import tools.solc", cwd=tmp_path)
    assert tools.returncode != 0


def test_the_lock_pins_every_declared_dependency_and_each_extra() -> None:
    """make installs requirements.lock: every runtime dependency and every extra must be pinned there."""
    import re
    import tomllib

    def name(requirement: str) -> str:
        return re.sub(r"[-_.]+", "-", re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0]).lower()

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {name(r) for r in project["dependencies"]}
    assert {"frames", "xlsx", "dev", "test", "native"} <= set(project["optional-dependencies"])
    for requirements in project["optional-dependencies"].values():
        declared |= {name(r) for r in requirements}
    pinned = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, _, version = line.partition("==")
            pinned[name(package)] = version
    assert declared - set(pinned) == set(), "declared but not pinned"
    assert all(pinned.values()), "every line of the lock pins one version"
    assert {"eth-ape", "pandas", "py-solc-x"}.isdisjoint({name(r) for r in project["dependencies"]})
