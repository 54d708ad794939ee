"""The CLI through click's CliRunner: the happy path, and a clear message + exit 1 for each bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from client_helpers import UNIT
from eth_account.signers.local import LocalAccount

from pylender.cli import cli
from pylender.client.node import free_port
from pylender.client.session import Pylender
from pylender.schedule import build_schedule
from pylender.values import DAY


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
    loan_id = str(json.loads(created.output)["loan_id"])
    funded = invoke(rpc_url, dep_file, "loan", "fund", loan_id, "--all")
    assert funded.exit_code == 0 and "Funded" in funded.output, funded.output
    assert invoke(rpc_url, dep_file, "loan", "disburse", loan_id).exit_code == 0
    shown = json.loads(invoke(rpc_url, dep_file, "loan", "show", loan_id, "--json").output)
    assert shown["loan"]["status"] == "Active"
    assert [t["amount"] for t in shown["tranches"]] == [8_400 * UNIT, 3_600 * UNIT]
    schedule = json.loads(invoke(rpc_url, dep_file, "loan", "schedule", loan_id, "--json").output)["installments"]
    assert len(schedule) == 12
    assert sum(row["principal"] for row in schedule) == 12_000 * UNIT
    paid = invoke(rpc_url, dep_file, "loan", "repay", loan_id, "100", "--from", "5")
    assert paid.exit_code == 0, paid.output
    balances = json.loads(invoke(rpc_url, dep_file, "lender", "balance", "--json").output)["institutions"]
    assert [b["withdrawable"] for b in balances] == [70 * UNIT, 30 * UNIT]
    record = json.loads(invoke(rpc_url, dep_file, "credit", "cli-customer", "--json").output)
    assert (record["loans_taken"], record["active"]) == (1, 1)
    table = invoke(rpc_url, dep_file, "lender", "balance")
    assert "Bank of Example" in table.output and "70.000000" in table.output


def _fails(result: Result, *fragments: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
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
    loan_id = str(json.loads(originate(rpc_url, dep_file).output)["loan_id"])
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
    assert json.loads(invoke(rpc_url, dep_file, "token", "allowance", "6", "--json").output)["allowance"] == 0


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
    assert "ADDRESS: 0x70997970c51812dc3A010C7d01b50e0d17dc79C8 has a bad checksum" in result.output


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


# -- prepay, cancel, default, write-off, recover, pause ------------------------------------------------------


def _json(result: Result) -> dict[str, Any]:
    """The command's JSON without the transactions it lists (their hashes differ from run to run)."""
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    for sent in data.pop("transactions", []):
        assert set(sent) == {"action", "tx_hash", "block", "gas_used"} and sent["gas_used"] > 0
    return data


def _advance(chain: Pylender, seconds: int) -> None:
    # From the last block's time, not the node's clock: earlier tests on this session chain may have pinned block
    # times far beyond it, and evm_increaseTime's offset would then vanish under them.
    now = chain.w3.eth.get_block("latest")["timestamp"]
    chain.w3.provider.make_request("evm_setNextBlockTimestamp", [now + seconds])  # type: ignore[arg-type]
    chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def _funded_loan(rpc_url: str, dep_file: Path) -> str:
    loan_id = str(json.loads(originate(rpc_url, dep_file).output)["loan_id"])
    assert invoke(rpc_url, dep_file, "loan", "fund", loan_id, "--all").exit_code == 0
    return loan_id


def test_prepay_pays_the_current_interest_and_the_principal(rpc_url: str, dep_file: Path) -> None:
    loan_id = _active_loan(rpc_url, dep_file)
    assert invoke(rpc_url, dep_file, "token", "mint", "5", "2000").exit_code == 0
    first = build_schedule(12_000 * UNIT, 1200, 30 * DAY, 12, 0)[0]
    data = _json(invoke(rpc_url, dep_file, "loan", "prepay", loan_id, "1000", "--from", "5", "--json"))
    assert data == {
        "loan_id": int(loan_id),
        "status": "Active",
        "principal": 1_000 * UNIT,
        "paid": first.interest + 1_000 * UNIT,  # 98,630,137 of interest: the whole first installment's
        "outstanding_principal": 11_000 * UNIT,
        "decimals": 6,
    }
    shown = _json(invoke(rpc_url, dep_file, "loan", "show", loan_id, "--json"))["loan"]
    assert (shown["interest_paid"], shown["principal_paid"], shown["current_installment"]) == (
        first.interest,
        1_000 * UNIT,
        2,
    )


def test_prepay_refuses_zero_a_loan_not_active_and_too_much(rpc_url: str, dep_file: Path) -> None:
    funded = _funded_loan(rpc_url, dep_file)
    zero = invoke(rpc_url, dep_file, "loan", "prepay", funded, "0", "--from", "5")
    assert zero.exit_code == 2 and "PRINCIPAL must be positive, got 0" in zero.output
    _fails(
        invoke(rpc_url, dep_file, "loan", "prepay", funded, "10", "--from", "5"),
        f"LoanStateError: LoanNotInStatus(loanId={funded}, status=2 (FUNDED))",
    )
    active = _active_loan(rpc_url, dep_file)
    _fails(invoke(rpc_url, dep_file, "loan", "prepay", active, "12001", "--from", "1"), "InvalidRequest: Overpayment")


def test_cancel_refunds_the_funded_tranches(rpc_url: str, dep_file: Path) -> None:
    loan_id = _funded_loan(rpc_url, dep_file)
    data = _json(invoke(rpc_url, dep_file, "loan", "cancel", loan_id, "--json"))
    assert data == {
        "loan_id": int(loan_id),
        "status": "Cancelled",
        "refunded": 12_000 * UNIT,
        "outstanding_principal": 0,
        "decimals": 6,
    }
    balances = _json(invoke(rpc_url, dep_file, "lender", "balance", "--json"))["institutions"]
    assert [(b["withdrawable"], b["exposure"]) for b in balances] == [(8_400 * UNIT, 0), (3_600 * UNIT, 0)]
    second = _funded_loan(rpc_url, dep_file)
    shown = invoke(rpc_url, dep_file, "loan", "cancel", second)
    assert shown.output.startswith(
        f"loan {second} cancelled, 12,000.000000 back to its lenders: Cancelled, outstanding 0.000000\n"
        "ledger.cancel: block "
    )


def test_cancel_refuses_a_non_originator_and_a_disbursed_loan(
    rpc_url: str, dep_file: Path, accounts: dict[str, LocalAccount]
) -> None:
    funded = _funded_loan(rpc_url, dep_file)
    borrower = accounts["borrower"].address
    _fails(
        invoke(rpc_url, dep_file, "loan", "cancel", funded, "--from", "5"),
        f"AccessDenied: CancelNotAllowed(loanId={funded}, caller={borrower})",
    )
    active = _active_loan(rpc_url, dep_file)
    _fails(
        invoke(rpc_url, dep_file, "loan", "cancel", active),
        f"LoanStateError: LoanNotInStatus(loanId={active}, status=3 (ACTIVE))",
    )


def test_default_write_off_and_recover(
    rpc_url: str, dep_file: Path, chain: Pylender, accounts: dict[str, LocalAccount]
) -> None:
    loan_id = _active_loan(rpc_url, dep_file)
    _fails(invoke(rpc_url, dep_file, "loan", "default", loan_id), "LoanStateError: NotOverdueLongEnough")
    not_active = f"LoanNotInStatus(loanId={loan_id}, status=3 (ACTIVE))"
    _fails(invoke(rpc_url, dep_file, "loan", "write-off", loan_id), not_active)
    _fails(invoke(rpc_url, dep_file, "loan", "recover", loan_id, "10"), not_active)
    _advance(chain, 121 * DAY)  # installments 1-4 due; the first defaultable on day 120 (defaultAfter 90 days)
    _fails(invoke(rpc_url, dep_file, "loan", "default", loan_id, "--from", "4"), "NotOverdueLongEnough")
    owed = 12_000 * UNIT + sum(i.interest for i in build_schedule(12_000 * UNIT, 1200, 30 * DAY, 12, 0)[:4])
    data = _json(invoke(rpc_url, dep_file, "loan", "default", loan_id, "--json"))
    assert data == {
        "loan_id": int(loan_id),
        "status": "Defaulted",
        "owed_at_default": owed,
        "outstanding_principal": 12_000 * UNIT,
        "decimals": 6,
    }
    outsider = accounts["outsider"].address
    _fails(
        invoke(rpc_url, dep_file, "loan", "write-off", loan_id, "--from", "4"),
        f"AccessDenied: AccessControlUnauthorizedAccount(account={outsider}, neededRole=SERVICER_ROLE)",
    )
    data = _json(invoke(rpc_url, dep_file, "loan", "write-off", loan_id, "--json"))
    assert data == {
        "loan_id": int(loan_id),
        "status": "WrittenOff",
        "written_off": 12_000 * UNIT,
        "outstanding_principal": 0,
        "decimals": 6,
    }
    zero = invoke(rpc_url, dep_file, "loan", "recover", loan_id, "0", "--from", "1")
    assert zero.exit_code == 2 and "AMOUNT must be positive, got 0" in zero.output
    data = _json(invoke(rpc_url, dep_file, "loan", "recover", loan_id, "1000", "--from", "1", "--json"))
    assert data == {
        "loan_id": int(loan_id),
        "status": "WrittenOff",
        "amount": 1_000 * UNIT,
        "recovered": 1_000 * UNIT,
        "outstanding_principal": 0,
        "decimals": 6,
    }
    balances = _json(invoke(rpc_url, dep_file, "lender", "balance", "--json"))["institutions"]
    assert [(b["withdrawable"], b["loss"]) for b in balances] == [
        (700 * UNIT, 7_700 * UNIT),
        (300 * UNIT, 3_300 * UNIT),
    ]
    _fails(
        invoke(rpc_url, dep_file, "loan", "recover", loan_id, str(owed), "--base-units", "--from", "1"),
        f"InvalidRequest: Overpayment(loanId={loan_id}, amount={owed / UNIT:,.6f}, "
        f"maxPayable={(owed - 1_000 * UNIT) / UNIT:,.6f}): at most {(owed - 1_000 * UNIT) / UNIT:,.6f} is still owed",
    )


def test_pause_stops_withdrawals_but_never_a_repayment(
    rpc_url: str, dep_file: Path, accounts: dict[str, LocalAccount]
) -> None:
    loan_id = _active_loan(rpc_url, dep_file)
    outsider = accounts["outsider"].address
    _fails(
        invoke(rpc_url, dep_file, "pause", "--from", "4"),
        f"AccessDenied: AccessControlUnauthorizedAccount(account={outsider}, neededRole=PAUSER_ROLE)",
    )
    ledger = str(json.loads(dep_file.read_text())["ledger"])
    assert _json(invoke(rpc_url, dep_file, "pause", "--json")) == {"ledger": ledger, "paused": True}
    paid = invoke(rpc_url, dep_file, "loan", "repay", loan_id, "100", "--from", "5")  # inflows stay open
    assert paid.exit_code == 0 and f"repaid 100.000000 on loan {loan_id}: Active" in paid.output
    _fails(invoke(rpc_url, dep_file, "lender", "withdraw", "--from", "1"), "LoanStateError: EnforcedPause()")
    _fails(invoke(rpc_url, dep_file, "pause"), "LoanStateError: EnforcedPause()")
    _fails(
        invoke(rpc_url, dep_file, "unpause", "--from", "4"),
        f"AccessDenied: AccessControlUnauthorizedAccount(account={outsider}, neededRole=PAUSER_ROLE)",
    )
    assert _json(invoke(rpc_url, dep_file, "unpause", "--json")) == {"ledger": ledger, "paused": False}
    _fails(invoke(rpc_url, dep_file, "unpause"), "LoanStateError: ExpectedPause()")
    balances = _json(invoke(rpc_url, dep_file, "lender", "balance", "--json"))["institutions"]
    assert [b["withdrawable"] for b in balances] == [70 * UNIT, 30 * UNIT]


def test_rotate_moves_an_institution_while_paused_and_withdraw_pays_another_address(
    rpc_url: str, dep_file: Path, chain: Pylender
) -> None:
    loan_id = _active_loan(rpc_url, dep_file)
    assert invoke(rpc_url, dep_file, "loan", "repay", loan_id, "100", "--from", "5").exit_code == 0
    platform, new, treasury = (chain.account(i).address for i in (2, 6, 7))
    assert invoke(rpc_url, dep_file, "pause").exit_code == 0  # an incident: the key is replaced while paused
    _fails(invoke(rpc_url, dep_file, "lender", "rotate", "2", "6", "--from", "4"), "neededRole=DEFAULT_ADMIN_ROLE")
    rotated = _json(invoke(rpc_url, dep_file, "lender", "rotate", "2", "6", "--json"))
    assert (rotated["index"], rotated["from"], rotated["to"]) == (2, platform, new)
    assert invoke(rpc_url, dep_file, "unpause").exit_code == 0
    [moved] = _json(invoke(rpc_url, dep_file, "lender", "balance", "6", "--json"))["institutions"]
    assert (moved["index"], moved["name"], moved["withdrawable"]) == (2, "Example Platform", 30 * UNIT)
    _fails(invoke(rpc_url, dep_file, "lender", "balance", "2"), "is not a registered institution", code=2)
    before = _json(invoke(rpc_url, dep_file, "token", "balance", "7", "--json"))["balance"]
    paid = _json(invoke(rpc_url, dep_file, "lender", "withdraw", "--to", "7", "--from", "6", "--json"))
    assert (paid["address"], paid["to"], paid["withdrawn"]) == (new, treasury, 30 * UNIT)
    assert _json(invoke(rpc_url, dep_file, "token", "balance", "7", "--json"))["balance"] == before + 30 * UNIT
    assert _json(invoke(rpc_url, dep_file, "token", "balance", "6", "--json"))["balance"] == 0


def test_position_offer_accept_cancel_show(rpc_url: str, dep_file: Path, accounts: dict[str, LocalAccount]) -> None:
    """`pylender position`: the bank sells 4,000 bps of a loan to a second bank, price and position in one
    transaction; a wrong caller, a second acceptance and bad input each end with their named error."""
    assert invoke(rpc_url, dep_file, "lender", "add", "4", "Bank B").exit_code == 0
    assert invoke(rpc_url, dep_file, "token", "mint", "4", "5000").exit_code == 0
    loan_id = str(json.loads(originate(rpc_url, dep_file).output)["loan_id"])
    assert invoke(rpc_url, dep_file, "loan", "fund", loan_id, "--all").exit_code == 0
    assert invoke(rpc_url, dep_file, "loan", "disburse", loan_id).exit_code == 0
    bank, bank_b = accounts["bank"].address, accounts["outsider"].address

    offered = invoke(rpc_url, dep_file, "position", "offer", loan_id, "--to", "4", "--share", "4000", "--price", "4100",
                     "--from", "1", "--json")  # fmt: skip
    assert offered.exit_code == 0, offered.output
    offer = json.loads(offered.output)
    assert (offer["offer_id"], offer["seller"], offer["buyer"], offer["share_bps"], offer["price"]) == (
        1, bank, bank_b, 4000, 4_100 * UNIT
    )  # fmt: skip
    shown = json.loads(invoke(rpc_url, dep_file, "position", "show", loan_id, "--json").output)
    assert [o["offer_id"] for o in shown["offers"]] == [1]

    wrong = invoke(rpc_url, dep_file, "position", "accept", "1", "--from", "2")
    assert wrong.exit_code == 1 and "NotOfferBuyer(offerId=1" in wrong.output, wrong.output
    before = json.loads(invoke(rpc_url, dep_file, "lender", "balance", "1", "--json").output)["institutions"][0]
    accepted = invoke(rpc_url, dep_file, "position", "accept", "1", "--from", "4")
    assert accepted.exit_code == 0, accepted.output
    assert "accepted offer 1: 4,000 bps of loan 1 for 4,100.000000" in accepted.output
    after = json.loads(invoke(rpc_url, dep_file, "lender", "balance", "1", "--json").output)["institutions"][0]
    assert after["withdrawable"] - before["withdrawable"] == 4_100 * UNIT  # the price, credited to the seller
    assert before["exposure"] - after["exposure"] == 4_800 * UNIT  # 40 % of the principal moved with it
    again = invoke(rpc_url, dep_file, "position", "accept", "1", "--from", "4")
    assert again.exit_code == 1 and "OfferNotOpen(offerId=1)" in again.output, again.output

    shown = json.loads(invoke(rpc_url, dep_file, "position", "show", loan_id, "--json").output)
    assert [(h["lender"], h["share_bps"], h["amount"]) for h in shown["holders"]] == [
        (bank, 3000, 3_600 * UNIT),
        (accounts["platform"].address, 3000, 3_600 * UNIT),
        (bank_b, 4000, 4_800 * UNIT),
    ]
    assert shown["offers"] == []

    resale = invoke(rpc_url, dep_file, "position", "offer", loan_id, "--to", "1", "--share", "100", "--price", "0",
                    "--from", "4", "--json")  # fmt: skip
    assert resale.exit_code == 0, resale.output
    not_seller = invoke(rpc_url, dep_file, "position", "cancel", "2", "--from", "1")
    assert not_seller.exit_code == 1 and "NotOfferSeller(offerId=2" in not_seller.output, not_seller.output
    assert invoke(rpc_url, dep_file, "position", "cancel", "2", "--from", "4").exit_code == 0
    too_much = invoke(rpc_url, dep_file, "position", "offer", loan_id, "--to", "1", "--share", "4001", "--price", "1",
                      "--from", "4")  # fmt: skip
    assert too_much.exit_code == 1 and "ShareNotHeld(" in too_much.output, too_much.output
    bad_share = invoke(rpc_url, dep_file, "position", "offer", loan_id, "--to", "1", "--share", "10001", "--price",
                       "1", "--from", "4")  # fmt: skip
    assert bad_share.exit_code == 2 and "--share" in bad_share.output, bad_share.output
    outsider = invoke(rpc_url, dep_file, "position", "offer", loan_id, "--to", "6", "--share", "100", "--price", "1",
                      "--from", "4")  # fmt: skip
    assert outsider.exit_code == 1 and "UnknownInstitution(" in outsider.output, outsider.output
