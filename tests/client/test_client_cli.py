"""The CLI through click's CliRunner: the happy path, and a clear message + exit 1 for each bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from client_helpers import UNIT
from eth_account.signers.local import LocalAccount

from pylender.cli import cli
from pylender.node import free_port
from pylender.session import Pylender


@pytest.fixture(scope="module")
def dep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli") / "deployment.json"


def invoke(rpc_url: str, dep_file: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--rpc", rpc_url, "--deployment", str(dep_file), *args])


@pytest.fixture(scope="module")
def deployed(rpc_url: str, dep_file: Path, accounts: dict[str, LocalAccount]) -> dict[str, object]:
    result = invoke(rpc_url, dep_file, "deploy", "--json")
    assert result.exit_code == 0, result.output
    for args in (("lender", "add", "1", "Bank of Example"), ("lender", "add", "2", "Example Platform", "--platform")):
        assert invoke(rpc_url, dep_file, *args).exit_code == 0
    for who in ("1", "2"):
        assert invoke(rpc_url, dep_file, "token", "mint", who, "1000000").exit_code == 0
    assert invoke(rpc_url, dep_file, "token", "mint", "5", "100").exit_code == 0
    return json.loads(result.output)


@pytest.fixture(autouse=True)
def snapshot(chain: Pylender, deployed: dict[str, object]) -> Iterator[None]:
    snap = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield
    chain.w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]


def originate(rpc_url: str, dep_file: Path, *extra: str, tranches: tuple[str, ...] = ("1:7000", "2:3000")) -> Result:
    args = ["loan", "originate", "--borrower", "5", "--borrower-id", "cli-customer", "--principal", "12000"]
    args += ["--rate", "1200", "--periods", "12", "--json"]
    for t in tranches:
        args += ["--tranche", t]
    return invoke(rpc_url, dep_file, *args, *extra)


def test_deploy_saves_the_addresses(dep_file: Path, deployed: dict[str, object]) -> None:
    saved = json.loads(dep_file.read_text())
    assert saved["ledger"] == deployed["ledger"] and saved["chain_id"] == 31337
    assert saved["token_decimals"] == 6


def test_loan_life_cycle_through_the_cli(rpc_url: str, dep_file: Path, accounts: dict[str, LocalAccount]) -> None:
    created = originate(rpc_url, dep_file)
    assert created.exit_code == 0, created.output
    loan_id = str(json.loads(created.output)["loanId"])
    funded = invoke(rpc_url, dep_file, "loan", "fund", loan_id, "--all")
    assert funded.exit_code == 0 and "Funded" in funded.output
    assert invoke(rpc_url, dep_file, "loan", "disburse", loan_id).exit_code == 0
    shown = json.loads(invoke(rpc_url, dep_file, "loan", "show", loan_id, "--json").output)
    assert shown["loan"]["status"] == "Active"
    assert [t["amount"] for t in shown["tranches"]] == [8_400 * UNIT, 3_600 * UNIT]
    schedule = json.loads(invoke(rpc_url, dep_file, "loan", "schedule", loan_id, "--json").output)
    assert len(schedule) == 12
    assert sum(row["principal"] for row in schedule) == 12_000 * UNIT
    paid = invoke(rpc_url, dep_file, "loan", "repay", loan_id, "100", "--from", "5")
    assert paid.exit_code == 0, paid.output
    balances = json.loads(invoke(rpc_url, dep_file, "lender", "balance", "--json").output)
    assert [b["withdrawable"] for b in balances] == [70 * UNIT, 30 * UNIT]
    record = json.loads(invoke(rpc_url, dep_file, "credit", "cli-customer", "--json").output)
    assert (record["loans_taken"], record["active"]) == (1, 1)
    table = invoke(rpc_url, dep_file, "lender", "balance")
    assert "Bank of Example" in table.output and "70.000000" in table.output


def _fails(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    for fragment in fragments:
        assert fragment in result.output
    assert "Traceback" not in result.output


def test_unknown_loan(rpc_url: str, dep_file: Path) -> None:
    _fails(invoke(rpc_url, dep_file, "loan", "show", "424242"), "UnknownLoan", "424242")


def test_wrong_shares(rpc_url: str, dep_file: Path) -> None:
    _fails(originate(rpc_url, dep_file, tranches=("1:7000", "2:2000")), "SharesNotWhole(sum=9000)")


def test_policy_breach(rpc_url: str, dep_file: Path) -> None:
    _fails(
        originate(rpc_url, dep_file, tranches=("1:8000", "2:2000")),
        "PolicyViolation: ShareBelowMinimum(loanId=1, platformShareBps=2000, minBps=3000)",
    )
    _fails(originate(rpc_url, dep_file, "--principal", "300000"), "PolicyViolation: PrincipalAboveCap")


def _active_loan(rpc_url: str, dep_file: Path) -> str:
    loan_id = str(json.loads(originate(rpc_url, dep_file).output)["loanId"])
    assert invoke(rpc_url, dep_file, "loan", "fund", loan_id, "--all").exit_code == 0
    assert invoke(rpc_url, dep_file, "loan", "disburse", loan_id).exit_code == 0
    return loan_id


def test_insufficient_allowance_and_balance(rpc_url: str, dep_file: Path) -> None:
    loan_id = _active_loan(rpc_url, dep_file)
    _fails(
        invoke(rpc_url, dep_file, "loan", "repay", loan_id, "100", "--from", "6", "--no-approve"),
        "InsufficientFunds: ERC20InsufficientAllowance",
    )
    _fails(
        invoke(rpc_url, dep_file, "loan", "repay", loan_id, "100", "--from", "6"),
        "InsufficientFunds: ERC20InsufficientBalance",
    )


def test_overpayment(rpc_url: str, dep_file: Path) -> None:
    loan_id = _active_loan(rpc_url, dep_file)
    _fails(invoke(rpc_url, dep_file, "loan", "repay", loan_id, "5000", "--from", "5"), "Overpayment")


def test_unreachable_rpc(dep_file: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    _fails(invoke(url, dep_file, "loan", "show", "1"), "NodeUnreachable", url)


def test_wrong_chain_id(rpc_url: str, dep_file: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--rpc", rpc_url, "--chain-id", "1", "--deployment", str(dep_file), "loan", "show", "1"]
    )
    _fails(result, "WrongChainId", "expected chain id 1", "31337")


def test_missing_deployment_file(rpc_url: str, tmp_path: Path) -> None:
    _fails(invoke(rpc_url, tmp_path / "none.json", "loan", "show", "1"), "pylender deploy")


def test_bad_address_is_a_usage_error(rpc_url: str, dep_file: Path) -> None:
    result = invoke(rpc_url, dep_file, "lender", "add", "0x70997970c51812dc3A010C7d01b50e0d17dc79C8", "X")
    assert result.exit_code == 2
    assert "bad checksum" in result.output


def test_malformed_scenario_reports_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ninstitutions:\n  bank: {account: 1, name: B}\n  bad: [unclosed\n")
    _fails(CliRunner().invoke(cli, ["run", str(bad)]), f"{bad}:", "invalid YAML")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        "name: x\n"
        "institutions:\n  bank: {account: 1, name: B}\n"
        "borrowers:\n  al: {account: 5}\n"
        "loans:\n  L:\n    borrower: al\n    principal: 100\n    rate_bps: lots\n    periods: 3\n"
        "    tranches: [{lender: bank, share_bps: 10000}]\n"
    )
    _fails(CliRunner().invoke(cli, ["run", str(wrong)]), f"{wrong}:10:", "rate_bps")
