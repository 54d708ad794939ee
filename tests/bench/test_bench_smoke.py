"""`python -m bench --quick` runs end to end and writes both reports with every goal row.

No timing is asserted: the figures are whatever this machine measured; only the structure and the
deterministic gas figures' consistency are checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
GAS_OPERATIONS = {
    "originate",
    "fund",
    "disburse",
    "repay (first)",
    "repay",
    "prepay",
    "batch repay 10 (per loan)",
    "batch repay 100 (per loan)",
    "withdraw",
    "offer position",
    "accept offer",
    "repay (after a transfer)",
    "mark default",
    "write off",
    "push-split repay (reference)",
}
GOAL_PREFIXES = [
    "every runtime ≤ 21,000 bytes",
    "every initcode ≤ 42,000 bytes",
    "repay, 2 lenders ≤ 89,546 gas (no regression)",
    "repay, 2 lenders ≤ 1.15 × its storage floor",
    "each extra lender ≤ 5,500 gas",
    "repay gas independent of the number of loans",
    "batch repay of 100 loans ≤ 34,403 gas per loan (no regression)",
    "batch repay of 100 loans ≤ 1.5 × its storage floor per loan",
    "withdraw ≤ 1.4 × a plain ERC-20 transfer",
    "repay of a loan that never changed hands, 2 lenders: no more gas than before participations",
    "accepting an offer, 2 lenders ≤ 2.5 × the floor repay",
    "a pool distribution over 100 underlying loans ≤ 200,000 gas",
    "a pool claim ≤ 1.5 × a plain ERC-20 transfer",
    "client bulk path (pipelined, one tx per repayment) ≥ 0.8 × presigned raw transfers/s",
    "client one-at-a-time path ≥ 0.8 × bare web3.py sign-send-receipt loop",
]
AUDIT_GOALS = [
    "verified + replayed records/s ≥ 0.5 × raw eth_getLogs records/s",
    "faster than ape ContractEvent.query",
]
STATEMENT_GOAL = "records/s ≥ 0.5 × raw eth_getLogs records/s"


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "APE_DATA_FOLDER": os.environ.get("APE_DATA_FOLDER", str(REPO / ".ape"))}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-progress", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "report.json").read_text()), (out / "report.md").read_text()


def test_every_goal_row_is_in_both_reports(quick_report: tuple[dict[str, Any], str]) -> None:
    data, markdown = quick_report
    goals = [g["goal"] for g in data["goals"]]
    for prefix in GOAL_PREFIXES:
        assert sum(g.startswith(prefix) for g in goals) == 1, prefix
    sizes = [p["records"] for p in data["audit"]["points"]]
    assert len(sizes) == 2
    for records in sizes:
        for suffix in AUDIT_GOALS:
            assert f"audit ({records:,} records): {suffix}" in goals
    statement = data["statement"]["point"]["records"]
    assert f"statement of one institution ({statement:,} records): {STATEMENT_GOAL}" in goals
    assert len(goals) == len(GOAL_PREFIXES) + 2 * len(AUDIT_GOALS) + 1
    for goal in data["goals"]:
        assert isinstance(goal["passed"], bool)
        assert goal["ratio"] is None or goal["ratio"] > 0
        mark = "PASS" if goal["passed"] else "**FAIL**"
        assert f"| {goal['goal']} | {goal['measured']} |" in markdown
        assert markdown.count(goal["goal"]) >= 1 and mark in markdown
    assert data["all_passed"] == all(g["passed"] for g in data["goals"])


def test_gas_table_covers_every_operation_and_lender_count(quick_report: tuple[dict[str, Any], str]) -> None:
    data, markdown = quick_report
    gas = data["gas"]
    assert set(gas["operations"]) == GAS_OPERATIONS
    counts = {str(k) for k in gas["lender_counts"]}
    for name, row in gas["operations"].items():
        assert set(row) == counts, name
        assert all(isinstance(v, int) and v > 21_000 for v in row.values()), name
    assert gas["floor_repay"] > gas["erc20_transfer"] > 21_000
    assert sorted(int(n) for n in gas["repay_by_loans"]) == [1, 10, 50]
    assert all(isinstance(v, int) and v > gas["floor_repay"] for v in gas["repay_by_loans"].values())
    assert "## Gas (deterministic)" in markdown and "| repay |" in markdown


def test_the_storage_floor_lies_between_the_transfer_floor_and_the_ledger(
    quick_report: tuple[dict[str, Any], str],
) -> None:
    # StorageFloorRepay makes the ledger's storage accesses and writes its record with no arithmetic: dearer than
    # the bare pull, cheaper than the ledger doing the same work with its arithmetic.
    data, markdown = quick_report
    gas = data["gas"]
    assert gas["floor_repay"] < gas["storage_floor_repay"] < gas["operations"]["repay"]["2"]
    assert 0 < gas["storage_floor_batch"] < gas["operations"]["batch repay 100 (per loan)"]["2"]
    assert f"| repay | {gas['storage_floor_repay']:,} |" in markdown
    repay_goal = next(g for g in data["goals"] if g["goal"].startswith("repay, 2 lenders ≤ 1.15"))
    assert f"vs storage floor {gas['storage_floor_repay']:,}" in repay_goal["measured"]
    sizes = {c["name"]: c for c in data["sizes"]}
    assert set(sizes) == {
        "CoLendingLedger",
        "Closure",
        "CreditRisk",
        "Funding",
        "Institutions",
        "LoanViews",
        "Origination",
        "Participations",
        "Policy",
        "LoanPool",
        "PoolClassToken",
        "Prepayment",
    }
    assert all(f"| {name} | {c['runtime']:,} | {c['initcode']:,} |" in markdown for name, c in sizes.items())


def test_throughput_and_audit_figures_have_three_runs(quick_report: tuple[dict[str, Any], str]) -> None:
    data, markdown = quick_report
    for key in ("raw_transfers", "pipelined", "bare_loop", "single", "batch"):
        sample = data["throughput"][key]
        assert len(sample["runs"]) >= 3, key
        assert sample["min"] <= sample["median"] <= sample["max"]
    for point in data["audit"]["points"]:
        assert point["verified_ok"] is True
        for key in ("raw_get_logs", "verify", "ape_query"):
            if point[key] is None:
                assert point["ape_skipped"], "ape may be skipped only with a stated reason"
                continue
            assert len(point[key]["runs"]) >= 3, key
            assert point[key]["items"] == point["records"]
    assert "## Throughput (one anvil)" in markdown and "## Audit speed" in markdown


def test_the_statement_figure_is_a_verified_statement_of_the_same_records(
    quick_report: tuple[dict[str, Any], str],
) -> None:
    data, markdown = quick_report
    point = data["statement"]["point"]
    assert point["verified"] is True and point["views_compared"] >= point["days"] > 300
    assert point["movements"] > point["records"]  # the lead of every loan: about two movements per repayment
    for key in ("raw_get_logs", "statement"):
        assert len(point[key]["runs"]) >= 3 and point[key]["items"] == point["records"]
        assert point[key]["min"] <= point[key]["median"] <= point[key]["max"]
    assert "## Statement speed" in markdown
