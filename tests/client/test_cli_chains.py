"""Which chain a command runs on, and what stays: --rpc for run and demo (whose ledgers can then be audited),
--state for the embedded chain, and the local chain's clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import TOUR_LOAN, TRANCHES, as_json, ok, on, refused, run

from pylender.client.node import LocalNode
from pylender.values import DAY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def node() -> Iterator[LocalNode]:
    with LocalNode() as local:
        yield local


def test_demo_on_rpc_leaves_a_ledger_the_audit_verifies(node: LocalNode, tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    report = as_json(on(node.url, dep, "demo", "--loans", "20", "--json"))
    assert report["loans"] == 21 and report["audit_verified"] is True
    assert report["saved_to"] == str(dep)
    saved = json.loads(dep.read_text())
    assert (saved["ledger"], saved["rpc"]) == (report["ledger"], node.url)
    # the ledger is still there once the command has ended: audit it from the node alone
    verified = as_json(on(node.url, dep, "audit", "verify", "--json"))
    assert (verified["ok"], verified["records"], verified["last_seq"]) == (
        True,
        report["audit_seq"],
        report["audit_seq"],
    )
    verdict = "VERIFIED: the trail is complete up to a trusted head, untampered, and replays (exit 0)"
    assert verdict in ok(run("audit", "verify", "--rpc", node.url, "--ledger", report["ledger"]))
    # the report writes its dates in the zone every other command uses
    html = tmp_path / "report.html"
    ok(on(node.url, dep, "--tz", "Asia/Shanghai", "audit", "report", "--html", str(html)))
    assert "ISO 8601 in Asia/Shanghai" in html.read_text()
    listed = as_json(on(node.url, dep, "loan", "list", "--status", "written-off", "--json"))
    assert [loan["loan_id"] for loan in listed["loans"]] == [report["defaulted_loan"]]
    human = ok(on(node.url, dep, "demo", "--loans", "4"))
    assert f"saved to {dep}: `pylender audit verify` checks it" in human


def test_run_on_rpc_keeps_the_scenario_ledger(node: LocalNode, tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    result = as_json(on(node.url, dep, "run", str(ROOT / "scenarios" / "co-lending-70-30.yaml"), "--json"))
    assert json.loads(dep.read_text())["ledger"] == result["ledger"]
    verified = as_json(on(node.url, dep, "audit", "verify", "--json"))
    assert verified["ok"] and verified["last_seq"] == result["audit_seq"]
    # the node mines at its own pace again: no one-second interval left behind by the run
    before = node.web3().eth.get_block("latest")["timestamp"]
    ok(on(node.url, dep, "chain", "advance", "1h"))
    assert node.web3().eth.get_block("latest")["timestamp"] == before + 3600


def test_state_keeps_the_embedded_chain_between_commands(tmp_path: Path) -> None:
    dep = str(tmp_path / "deployment.json")
    state = tmp_path / "chain.json"
    deployed = as_json(run("--deployment", dep, "deploy", "--state", str(state), "--json"))
    assert deployed["state"] == str(state) and deployed["rpc"] is None and state.exists()
    human = ok(run("--deployment", dep, "lender", "add", "1", "Bank"))  # no --rpc, no --state: the file says
    assert "registered Bank" in human
    for args in (("token", "mint", "1", "100000"), ("token", "mint", "2", "100000"), ("token", "mint", "5", "100")):
        ok(run("--deployment", dep, *args))
    ok(run("--deployment", dep, "lender", "add", "2", "Platform", "--platform"))
    ok(run("--deployment", dep, "loan", "originate", *TOUR_LOAN, *TRANCHES))
    before = as_json(run("--deployment", dep, "chain", "info", "--json"))["timestamp"]
    advanced = as_json(run("--deployment", dep, "chain", "advance", "30d", "--json"))
    assert advanced["advanced_seconds"] == 30 * DAY
    # the next command's chain starts from the saved state and goes on from the advanced time, never back
    after = as_json(run("--deployment", dep, "chain", "mine", "--json"))
    assert after["timestamp"] >= before + 30 * DAY and after["block"] == advanced["block"] + 1
    refused(run("--deployment", dep, "loan", "fund", "1", "--all"), "DeadlinePassed", "loan cancel")
    shown = as_json(run("--deployment", dep, "loan", "show", "1", "--json"))
    assert shown["loan"]["status"] == "Originated"


def test_demo_with_state_keeps_its_ledger(tmp_path: Path) -> None:
    dep = str(tmp_path / "deployment.json")
    state = str(tmp_path / "demo-chain.json")
    report = as_json(run("--deployment", dep, "--state", state, "demo", "--loans", "4", "--json"))
    assert report["saved_to"] == dep
    verified = as_json(run("--deployment", dep, "loan", "list", "--json"))
    assert len(verified["loans"]) == 5


def test_without_rpc_or_state_run_and_demo_use_a_fresh_chain_and_save_nothing(tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    human = ok(run("--deployment", str(dep), "demo", "--loans", "4"))
    assert "was on an embedded chain that ended with the command (--state FILE keeps it)" in human
    assert not dep.exists()
