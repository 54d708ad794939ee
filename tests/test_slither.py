"""Static analysis: Slither finds no High or Medium issue in the ledger's contracts.

Slither runs on ``contracts/CoLendingLedger.sol``, the only deployable entry point (it deploys LedgerExtension
from its constructor, so the extension, the accounting/storage bases, the policy module and the libraries are
all analysed through it), and on the audit lens; ``contracts/test/`` holds mocks that are never deployed for
real. OpenZeppelin is filtered out. The counts by impact and detector are printed in the pytest terminal
summary so they show in CI output.

A finding the ledger owner judges a false positive is silenced in the contract with a
``// slither-disable-next-line <detector>`` comment next to a one-line justification - never here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tools.solc import EVM_VERSION, VIA_IR, ensure_solc

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINTS = ("contracts/CoLendingLedger.sol", "contracts/audit/AuditLens.sol")
BLOCKING = ("High", "Medium")
IMPACT_ORDER = ("High", "Medium", "Low", "Informational", "Optimization")


def _slither() -> str | None:
    local = Path(sys.executable).with_name("slither")
    if local.exists():
        return str(local)
    return shutil.which("slither")


class _SummaryPlugin:
    """Writes the Slither summary into the terminal summary (registered by the test at run time)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.lines:
            terminalreporter.write_sep("=", "slither summary")
            for line in self.lines:
                terminalreporter.write_line(line)


def _run_slither(entry: str, out: Path) -> list[dict[str, Any]]:
    binary = _slither()
    if binary is None:
        pytest.skip("slither is not installed in this environment (pip install slither-analyzer)")
    cmd = [
        binary,
        entry,
        "--solc",
        str(ensure_solc()),
        "--solc-remaps",
        "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/",
        "--solc-args",
        f"--allow-paths .,node_modules --evm-version {EVM_VERSION} --optimize" + (" --via-ir" if VIA_IR else ""),
        "--filter-paths",
        "node_modules",
        "--json",
        str(out),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    if not out.exists():
        pytest.fail(f"slither produced no JSON (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    report = json.loads(out.read_text())
    assert report.get("success"), f"slither failed on {entry}: {report.get('error')}\n{proc.stderr[-3000:]}"
    return list(report.get("results", {}).get("detectors", []))


def _first_line(finding: dict[str, Any]) -> str:
    return finding["description"].strip().splitlines()[0]


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_slither_reports_no_high_or_medium_findings(entry: str, tmp_path: Path, request: pytest.FixtureRequest):
    findings = _run_slither(entry, tmp_path / "slither.json")

    by_impact = Counter(f["impact"] for f in findings)
    by_detector = Counter((f["impact"], f["check"]) for f in findings)
    plugin = _SummaryPlugin()
    plugin.lines.append(
        f"{entry}: "
        + ", ".join(f"{impact} {by_impact.get(impact, 0)}" for impact in IMPACT_ORDER)
        + f" ({len(findings)} findings)"
    )
    for (impact, check), count in sorted(by_detector.items(), key=lambda kv: (IMPACT_ORDER.index(kv[0][0]), kv[0][1])):
        plugin.lines.append(f"  {impact:<13} {check:<32} {count}")
    for f in findings:
        if f["impact"] in (*BLOCKING, "Low"):
            plugin.lines.append(f"  - [{f['impact']}] {f['check']}: {_first_line(f)}")
    request.config.pluginmanager.register(plugin, f"slither-summary-{entry}")

    blocking = [f"[{f['impact']}] {f['check']}: {_first_line(f)}" for f in findings if f["impact"] in BLOCKING]
    assert blocking == [], "Slither High/Medium findings:\n" + "\n".join(blocking)
