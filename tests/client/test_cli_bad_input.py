"""Every command refuses bad input by name: the lending, token, chain, role, policy, run and deploy commands, each
given a mistake a developer makes in the first hour. Each case must end with an ``Error:`` line that names what is
wrong (the option and the rule, or the contract's error and the fix), a non-zero exit code and no traceback.

Exit code 2 is input refused before anything reached the chain; 1 is an action the chain (or the session) refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import TOUR_LOAN, TRANCHES, deploy_tour, on, refused, run
from eth_account.signers.local import LocalAccount

from pylender.client.session import Pylender

DEAD = "0x000000000000000000000000000000000000dEaD"
BANK = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ORIGINATE = ("loan", "originate", *TOUR_LOAN)


def originate(rate: str = "1200", periods: str = "12", principal: str = "12000") -> tuple[str, ...]:
    """``loan originate`` of the tour's loan with one term changed (the tranches follow)."""
    terms = ("--borrower", "5", "--borrower-id", "alice", "--principal", principal)
    return ("loan", "originate", *terms, "--rate", rate, "--periods", periods)


# (case id, arguments after `pylender --rpc URL --deployment FILE`, exit code, fragments the message must contain)
CASES: list[tuple[str, tuple[str, ...], int, tuple[str, ...]]] = [
    # -- lender -------------------------------------------------------------------------------------------
    ("lender-add-not-an-address", ("lender", "add", "0xZZZ", "Bank"), 2, ("ADDRESS must be an address",)),
    (
        "lender-add-bad-checksum",
        ("lender", "add", "0x70997970c51812dc3A010C7d01b50e0d17dc79C8", "X"),
        2,
        ("has a bad checksum (expected 0x70997970C51812dc3A010C7d01b50e0d17dc79C8)",),
    ),
    ("lender-add-empty-name", ("lender", "add", "3", " "), 2, ("NAME must not be empty",)),
    (
        "lender-add-twice",
        ("lender", "add", "1", "Bank"),
        1,
        (f"InstitutionExists(account={BANK})", "registered already"),
    ),
    ("lender-add-no-dev-account", ("lender", "add", "42", "Bank"), 1, ("no dev account 42: this chain has 10",)),
    (
        "lender-add-not-admin",
        ("lender", "add", "3", "Other", "--from", "4"),
        1,
        ("AccessControlUnauthorizedAccount", "neededRole=DEFAULT_ADMIN_ROLE", "pylender role grant default-admin"),
    ),
    ("lender-balance-unregistered", ("lender", "balance", "3"), 2, ("is not a registered institution",)),
    ("lender-balance-not-an-address", ("lender", "balance", "bank"), 2, ("ADDRESS must be an address",)),
    ("lender-withdraw-nothing", ("lender", "withdraw", "--from", "1"), 1, ("ZeroAmount()",)),
    ("lender-withdraw-no-dev-account", ("lender", "withdraw", "--from", "42"), 1, ("no dev account 42",)),
    ("lender-withdraw-no-key", ("lender", "withdraw", "--from", DEAD), 1, ("pylender holds no key", "PRIVATE_KEY")),
    (
        "lender-withdraw-to-nowhere",
        ("lender", "withdraw", "--to", "bank", "--from", "1"),
        2,
        ("--to must be an address",),
    ),
    (
        "lender-rotate-unregistered",
        ("lender", "rotate", "3", "6"),
        1,
        ("UnknownInstitution(account=0x90F79bf6EB2c4f870365E785982E1f101E93b906)", "pylender lender add"),
    ),
    (
        "lender-rotate-not-admin",
        ("lender", "rotate", "1", "6", "--from", "4"),
        1,
        ("AccessControlUnauthorizedAccount", "neededRole=DEFAULT_ADMIN_ROLE"),
    ),
    ("lender-rotate-not-an-address", ("lender", "rotate", "1", "0xnope"), 2, ("NEW_ADDRESS must be an address",)),
    # -- token --------------------------------------------------------------------------------------------
    ("mint-negative", ("token", "mint", "1", "-5"), 2, ("AMOUNT must be positive, got -5",)),
    ("mint-too-fine", ("token", "mint", "1", "1.2345678"), 2, ("AMOUNT has more decimals than the token's 6",)),
    ("mint-not-a-number", ("token", "mint", "1", "abc"), 2, ("AMOUNT must be a number, got 'abc'",)),
    ("mint-zero", ("token", "mint", "1", "0"), 2, ("AMOUNT must be positive, got 0",)),
    ("mint-comma-decimal", ("token", "mint", "1", "1,5"), 2, ("AMOUNT must be a number, got '1,5'",)),
    ("mint-bad-address", ("token", "mint", "bank", "5"), 2, ("ADDRESS must be an address",)),
    (
        "mint-fractional-base-units",
        ("token", "mint", "1", "1.5", "--base-units"),
        2,
        ("AMOUNT must be a whole number of base units",),
    ),
    ("balance-short-address", ("token", "balance", "0x123"), 2, ("ADDRESS must be an address",)),
    ("allowance-no-dev-account", ("token", "allowance", "99"), 1, ("no dev account 99: this chain has 10",)),
    ("approve-negative", ("token", "approve", "-1"), 2, ("AMOUNT must be zero or more, got -1",)),
    ("approve-words", ("token", "approve", "lots"), 2, ("AMOUNT must be a number",)),
    # -- loan originate -----------------------------------------------------------------------------------
    ("rate-above-whole", (*originate(rate="20000"), *TRANCHES), 2, ("--rate must be ≤ 10000 bps, got 20000",)),
    ("rate-negative", (*originate(rate="-1"), *TRANCHES), 2, ("--rate must be ≥ 0 bps",)),
    ("rate-fraction", (*originate(rate="12.5"), *TRANCHES), 2, ("whole number of bps",)),
    ("periods-zero", (*originate(periods="0"), *TRANCHES), 2, ("--periods must be ≥ 1, got 0",)),
    ("periods-too-many", (*originate(periods="601"), *TRANCHES), 2, ("--periods must be ≤ 600, got 601",)),
    (
        "principal-negative",
        (*originate(principal="-100"), *TRANCHES),
        2,
        ("--principal must be positive, got -100",),
    ),
    (
        "principal-too-fine",
        (*originate(principal="1.0000001"), *TRANCHES),
        2,
        ("--principal has more decimals than the token's 6",),
    ),
    (
        "principal-above-cap",
        (*originate(principal="300000"), *TRANCHES),
        1,
        ("PolicyViolation: PrincipalAboveCap", "--principal must be ≤ 200,000.000000"),
    ),
    (
        "rate-above-policy-cap",
        (*originate(rate="3000"), *TRANCHES),
        1,
        ("PolicyViolation: RateAboveCap(rateBps=3000, capBps=2400)", "--rate must be ≤ 2400 bps"),
    ),
    (
        "shares-not-whole",
        (*ORIGINATE, "--tranche", "1:7000", "--tranche", "2:2000"),
        1,
        ("SharesNotWhole(sum=9000)", "must add up to 10000 bps"),
    ),
    (
        "platform-share-below-minimum",
        (*ORIGINATE, "--tranche", "1:8000", "--tranche", "2:2000"),
        1,
        ("PolicyViolation: ShareBelowMinimum", "minBps=3000", "--tranche shares must add up to ≥ 3000 bps"),
    ),
    ("tranche-no-share", (*ORIGINATE, "--tranche", "1"), 2, ("--tranche must be LENDER:SHARE_BPS",)),
    ("tranche-share-words", (*ORIGINATE, "--tranche", "1:most"), 2, ("the share must be a whole number of bps",)),
    ("tranche-share-zero", (*ORIGINATE, "--tranche", "1:0", "--tranche", "2:10000"), 2, ("≥ 1 bps, got 0",)),
    (
        "tranche-unregistered-lender",
        (*ORIGINATE, "--tranche", "7:10000"),
        1,
        ("UnknownInstitution", "pylender lender add 0x14dC79964da2C08b23698B3D3cc7Ca32193d9955 NAME"),
    ),
    ("tranche-twice", (*ORIGINATE, "--tranche", "1:5000", "--tranche", "1:5000"), 1, ("DuplicateLender",)),
    ("method-unknown", (*ORIGINATE, *TRANCHES, "--method", "weekly"), 2, ("Invalid value for '--method'",)),
    (
        "fee-without-recipient",
        (*ORIGINATE, *TRANCHES, "--service-fee", "100"),
        2,
        ("--fee-recipient and --service-fee",),
    ),
    ("period-zero-days", (*ORIGINATE, *TRANCHES, "--period-days", "0"), 2, ("--period-days must be > 0 days",)),
    (
        "period-above-policy",
        (*ORIGINATE, *TRANCHES, "--period-days", "400"),
        1,
        ("PeriodSecondsOutOfRange(periodSeconds=400 days (34,560,000 s)", "--period-days must be from 1 days"),
    ),
    (
        "tenor-above-policy",
        (*originate(periods="31"), *TRANCHES, "--period-days", "366"),
        1,
        ("TenorAboveCap(tenorSeconds=11,346 days", "the policy's maximum tenor"),
    ),
    ("grace-negative", (*ORIGINATE, *TRANCHES, "--grace-days", "-1"), 2, ("--grace-days must be ≥ 0 days",)),
    ("penalty-above-uint16", (*ORIGINATE, *TRANCHES, "--penalty-rate", "70000"), 2, ("≤ 65535 bps, got 70000",)),
    (
        "borrower-not-an-address",
        ("loan", "originate", "--borrower", "0xnope", *originate()[4:], *TRANCHES),
        2,
        ("--borrower must be an address",),
    ),
    (
        "borrower-id-empty",
        ("loan", "originate", "--borrower", "5", "--borrower-id", "", *originate()[6:], *TRANCHES),
        2,
        ("--borrower-id must not be empty",),
    ),
    ("tranche-missing", ORIGINATE, 2, ("Missing option '--tranche'",)),
    # -- loan actions -------------------------------------------------------------------------------------
    ("repay-negative", ("loan", "repay", "1", "-5"), 2, ("AMOUNT must be positive, got -5",)),
    ("repay-too-fine", ("loan", "repay", "1", "1.2345678", "--from", "5"), 2, ("more decimals than the token's 6",)),
    (
        "repay-too-much",
        ("loan", "repay", "1", "999999", "--from", "5"),
        1,
        ("Overpayment(loanId=1, amount=999,999.000000, maxPayable=1,065.262883)", "--due pays exactly what is due"),
    ),
    ("repay-no-amount", ("loan", "repay", "1"), 2, ("give AMOUNT (tokens) or --due",)),
    ("repay-amount-and-due", ("loan", "repay", "1", "5", "--due"), 2, ("give AMOUNT or --due, not both",)),
    ("repay-from-unknown-index", ("loan", "repay", "1", "100", "--from", "42"), 1, ("no dev account 42",)),
    (
        "repay-unknown-loan",
        ("loan", "repay", "99", "100", "--from", "5"),
        1,
        ("UnknownLoan: the ledger has no loan 99",),
    ),
    ("repay-loan-zero", ("loan", "repay", "0", "100"), 2, ("LOAN_ID must be ≥ 1, got 0",)),
    ("repay-loan-words", ("loan", "repay", "first", "100"), 2, ("LOAN_ID must be a whole number",)),
    ("repay-nothing-due", ("loan", "repay", "1", "--due", "--from", "5"), 1, ("NothingDue(loanId=1)",)),
    (
        "repay-without-approval",
        ("loan", "repay", "1", "100", "--from", "6", "--no-approve"),
        1,
        ("ERC20InsufficientAllowance", "drop --no-approve"),
    ),
    (
        "repay-without-tokens",
        ("loan", "repay", "1", "100", "--from", "6"),
        1,
        ("ERC20InsufficientBalance", "holds 0.000000 and needs 100.000000"),
    ),
    (
        "repay-approve-mode",
        ("loan", "repay", "1", "100", "--approve", "sometimes"),
        2,
        ("Invalid value for '--approve'",),
    ),
    ("fund-all-with-from", ("loan", "fund", "1", "--all", "--from", "1"), 2, ("leave out --from",)),
    ("fund-active-loan", ("loan", "fund", "1", "--from", "1"), 1, ("LoanNotInStatus(loanId=1, status=3 (ACTIVE))",)),
    ("disburse-twice", ("loan", "disburse", "1"), 1, ("LoanNotInStatus(loanId=1, status=3 (ACTIVE))",)),
    ("disburse-not-originator", ("loan", "disburse", "1", "--from", "4"), 1, ("neededRole=ORIGINATOR_ROLE",)),
    ("cancel-active", ("loan", "cancel", "1"), 1, ("LoanNotInStatus(loanId=1, status=3 (ACTIVE))",)),
    ("default-too-early", ("loan", "default", "1"), 1, ("NotOverdueLongEnough", "pylender chain advance")),
    ("write-off-active", ("loan", "write-off", "1"), 1, ("LoanNotInStatus(loanId=1, status=3 (ACTIVE))",)),
    ("recover-active", ("loan", "recover", "1", "10", "--from", "5"), 1, ("LoanNotInStatus",)),
    ("prepay-negative", ("loan", "prepay", "1", "-1", "--from", "5"), 2, ("PRINCIPAL must be positive, got -1",)),
    ("prepay-too-much", ("loan", "prepay", "1", "20000", "--from", "5"), 1, ("Overpayment", "PRINCIPAL must be ≤")),
    (
        "prepay-below-schedule",
        ("loan", "prepay", "1", "1", "--from", "5"),
        1,
        ("PrepaymentBelowSchedule(loanId=1, principalAmount=1.000000", "PRINCIPAL must be ≥"),
    ),
    ("show-unknown-loan", ("loan", "show", "424242"), 1, ("UnknownLoan: the ledger has no loan 424242",)),
    ("schedule-negative-id", ("loan", "schedule", "-3"), 2, ("LOAN_ID must be ≥ 1, got -3",)),
    ("list-unknown-status", ("loan", "list", "--status", "late"), 2, ("Invalid value for '--status'",)),
    ("list-bad-lender", ("loan", "list", "--lender", "0xnope"), 2, ("--lender must be an address",)),
    # -- chain --------------------------------------------------------------------------------------------
    ("advance-negative", ("chain", "advance", "-5d"), 2, ("DURATION must be a positive duration, got '-5d'",)),
    ("advance-unknown-unit", ("chain", "advance", "5x"), 2, ("DURATION must be a duration such as 30d, 12h",)),
    ("advance-zero", ("chain", "advance", "0"), 2, ("DURATION must be a positive duration",)),
    ("mine-zero", ("chain", "mine", "0"), 2, ("BLOCKS must be ≥ 1, got 0",)),
    ("mine-words", ("chain", "mine", "many"), 2, ("BLOCKS must be a whole number",)),
    # -- roles --------------------------------------------------------------------------------------------
    ("grant-unknown-role", ("role", "grant", "wizard", "3"), 2, ("ROLE: unknown role 'wizard'", "servicer")),
    ("grant-not-admin", ("role", "grant", "servicer", "3", "--from", "4"), 1, ("neededRole=DEFAULT_ADMIN_ROLE",)),
    ("revoke-bad-account", ("role", "revoke", "servicer", "nope"), 2, ("ACCOUNT must be an address",)),
    ("show-no-dev-account", ("role", "show", "42"), 1, ("no dev account 42",)),
    ("renounce-no-key", ("role", "renounce", "servicer", "--from", DEAD), 1, ("pylender holds no key",)),
    # -- policy -------------------------------------------------------------------------------------------
    ("policy-set-nothing", ("policy", "set"), 2, ("give at least one field to set", "--max-principal")),
    ("policy-rate-above-uint16", ("policy", "set", "--max-annual-rate-bps", "70000"), 2, ("≤ 65535 bps (a uint16)",)),
    (
        "policy-principal-negative",
        ("policy", "set", "--max-principal", "-5"),
        2,
        ("--max-principal must be zero or more",),
    ),
    ("policy-principal-too-fine", ("policy", "set", "--max-principal", "1.0000001"), 2, ("more decimals than",)),
    ("policy-duration-words", ("policy", "set", "--default-after", "soon"), 2, ("--default-after must be a duration",)),
    ("policy-not-admin", ("policy", "set", "--max-annual-rate-bps", "2000", "--from", "4"), 1, ("DEFAULT_ADMIN_ROLE",)),
    ("policy-unknown-field", ("policy", "set", "--max-fun", "5"), 2, ("No such option: --max-fun",)),
    (
        "policy-period-bounds-inverted",
        ("policy", "set", "--min-period-seconds", "30d", "--max-period-seconds", "7d"),
        1,
        ("PeriodBoundsInvalid(minSeconds=30 days (2,592,000 s), maxSeconds=7 days", "--min-period-seconds must be"),
    ),
    (
        "policy-rate-times-tenor-too-high",
        ("policy", "set", "--max-annual-rate-bps", "10000", "--max-tenor-seconds", "40000d"),
        1,
        ("RateTenorAboveLimit(maxAnnualRateBps=10000, maxTenorSeconds=40,000 days", "lower one of them"),
    ),
    # -- ledger-wide --------------------------------------------------------------------------------------
    ("pause-not-pauser", ("pause", "--from", "4"), 1, ("neededRole=PAUSER_ROLE",)),
    ("unpause-not-paused", ("unpause",), 1, ("ExpectedPause()", "the ledger is not paused")),
    ("deploy-too-many-decimals", ("deploy", "--decimals", "99"), 2, ("--decimals must be ≤ 36, got 99",)),
    ("deploy-bad-token", ("deploy", "--token", "0xnope"), 2, ("--token must be an address",)),
    ("unknown-time-zone", ("--tz", "Mars/Base", "loan", "show", "1"), 2, ("--tz must be a time zone",)),
    ("run-missing-file", ("run", "no-such-scenario.yaml"), 1, ("no-such-scenario.yaml",)),
]


@pytest.fixture(scope="module")
def tour(rpc_url: str, chain: Pylender, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tour's ledger with loan 1 active, on the session chain (reverted to before it afterwards)."""
    snapshot = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    dep_file = tmp_path_factory.mktemp("bad-input") / "deployment.json"
    deploy_tour(rpc_url, dep_file)
    yield dep_file
    chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture()
def isolated(chain: Pylender, tour: Path) -> Iterator[Path]:
    snapshot = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield tour
    chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


def test_the_battery_covers_every_command_group() -> None:
    groups = {args[0] if args[0] not in ("--tz",) else args[2] for _, args, _, _ in CASES}
    assert {"lender", "token", "loan", "chain", "role", "policy", "run", "deploy", "pause", "unpause"} <= groups
    assert len(CASES) >= 60 and len({case for case, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("args", "code", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_by_name(
    rpc_url: str, isolated: Path, args: tuple[str, ...], code: int, fragments: tuple[str, ...]
) -> None:
    result = on(rpc_url, isolated, *args)
    refused(result, *fragments, code=code)
    assert not re.search(r"No such option: -\d", result.output)  # a negative number is a value
    assert "Insufficient funds for gas" not in result.output


def test_a_failed_payment_sends_nothing(rpc_url: str, isolated: Path, chain: Pylender) -> None:
    """Refused before any approval: the borrower's nonce does not move."""
    borrower = chain.account(5).address
    nonce = chain.w3.eth.get_transaction_count(borrower)
    refused(on(rpc_url, isolated, "loan", "repay", "1", "999999", "--from", "5"), "Overpayment")
    refused(on(rpc_url, isolated, "loan", "repay", "1", "--due", "--from", "5"), "NothingDue")
    assert chain.w3.eth.get_transaction_count(borrower) == nonce
    penniless = chain.account(6).address
    nonce = chain.w3.eth.get_transaction_count(penniless)
    refused(on(rpc_url, isolated, "loan", "repay", "1", "100", "--from", "6"), "ERC20InsufficientBalance")
    assert chain.w3.eth.get_transaction_count(penniless) == nonce


def test_json_errors_are_json(rpc_url: str, isolated: Path) -> None:
    import json

    result = on(rpc_url, isolated, "loan", "repay", "1", "999999", "--from", "5", "--json")
    assert result.exit_code == 1
    error = json.loads(result.output)["error"]
    assert error == {
        "type": "Overpayment",
        "category": "InvalidRequest",
        "message": error["message"],
        "fields": {"loan_id": 1, "amount": 999_999_000_000, "max_payable": 1_065_262_883},
        "decimals": 6,
    }


def test_a_chain_that_ends_with_the_command_is_refused(tmp_path: Path) -> None:
    """No --rpc and no --state: nothing deployed or advanced there would remain."""
    dep = str(tmp_path / "deployment.json")
    refused(run("--deployment", dep, "deploy"), "ChainNotKept", "--state FILE", code=1)
    refused(run("--deployment", dep, "chain", "advance", "1d"), "ChainNotKept", code=1)
    assert not (tmp_path / "deployment.json").exists()


def test_a_deployment_file_pointing_elsewhere_is_not_a_ledger(rpc_url: str, isolated: Path, tmp_path: Path) -> None:
    import json

    saved = json.loads(isolated.read_text())
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({**saved, "ledger": saved["token"]}))
    refused(
        on(rpc_url, wrong, "loan", "show", "1"),
        f"NotALedger: no pylender ledger at {saved['token']} on chain 31337",
        code=1,
    )
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({**saved, "ledger": DEAD}))
    refused(
        on(rpc_url, empty, "loan", "show", "1"),
        f"no pylender ledger at {DEAD} on chain 31337: the address holds no code",
    )


def test_a_scenario_with_a_dev_account_the_chain_lacks(
    rpc_url: str, isolated: Path, tmp_path: Path, accounts: dict[str, LocalAccount]
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: s\ninstitutions:\n  bank: {account: 42, name: B}\nborrowers:\n  al: {account: 5}\n"
        "loans:\n  L: {borrower: al, principal: 100, rate_bps: 1200, periods: 3,\n"
        "      tranches: [{lender: bank, share_bps: 10000}]}\n"
    )
    refused(on(rpc_url, isolated, "run", str(scenario)), "no dev account 42: this chain has 10", code=1)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ninstitutions:\n  bank: [unclosed\n")
    refused(run("run", str(bad)), "invalid YAML", code=1)
