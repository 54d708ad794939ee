"""Scenario files: parsing with line numbers, and runs that equal the pure-Python reference model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from scenario_oracle import chain_view, replay_reference

from pylender.cli import cli
from pylender.client.session import Pylender
from pylender.errors import EnforcedPause, ScenarioError
from pylender.scenarios.runner import ScenarioRunner, run_scenario
from pylender.scenarios.schema import load, parse

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


def test_example_scenarios_ship() -> None:
    stems = {p.stem for p in SCENARIOS}
    assert stems >= {"co-lending-70-30", "facilitation-fee", "default-write-off", "cancel-and-pause", "funding-window"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_run_equals_the_reference_model(path: Path, chain: Pylender) -> None:
    scenario = load(path)
    result = run_scenario(scenario, session=chain)
    assert chain_view(result) == replay_reference(scenario, result)
    statuses = {loan.status for loan in result.loans.values()}
    assert statuses <= {"Closed", "WrittenOff", "Cancelled"}


def test_cli_run_json_is_deterministic_and_matches_the_reference() -> None:
    path = next(p for p in SCENARIOS if p.stem == "default-write-off")
    first = CliRunner().invoke(cli, ["run", str(path), "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.output[first.output.index("{") :])
    scenario = load(path)
    rerun = run_scenario(scenario)  # a second fresh chain: same genesis, same numbers
    assert data == rerun.summary()
    expected = replay_reference(scenario, rerun)
    assert {k: v["loss"] for k, v in data["lenders"].items()} == {k: v["loss"] for k, v in expected["lenders"].items()}
    assert data["loans"]["E"]["status"] == "WrittenOff"
    assert data["loans"]["E"]["written_off"] == expected["loans"]["E"]["written_off"]


BASE = """\
name: t
institutions:
  bank: {account: 1, name: Bank}
borrowers:
  al: {account: 5}
loans:
  L:
    borrower: al
    principal: 100
    rate_bps: 1200
    periods: 3
    tranches: [{lender: bank, share_bps: 10000}]
"""


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse(text, "s.yaml")
    return info.value


def test_unknown_step_names_its_line() -> None:
    err = _error(BASE + "timeline:\n  - advance_days: 30\n  - jump: {loan: L}\n")
    assert err.line == 15
    assert str(err).startswith("s.yaml:15: unknown step 'jump'")


def test_step_with_an_unknown_loan_names_its_line() -> None:
    err = _error(BASE + "timeline:\n  - repay: {loan: Z}\n")
    assert str(err) == "s.yaml:14: repay: unknown loan 'Z'"


def test_bad_step_argument_inside_repeat_names_the_inner_line() -> None:
    repeat = "timeline:\n  - repeat:\n      times: 2\n      steps:\n        - repay: {loan: L, amount: lots}\n"
    err = _error(BASE + repeat)
    assert err.line == 17
    assert "repay" in str(err) and "amount" in str(err)


def test_duplicate_key_and_bad_field_lines() -> None:
    assert _error(BASE.replace("  al: {account: 5}\n", "  al: {account: 5}\n  al: {account: 6}\n")).line == 6
    err = _error(BASE.replace("periods: 3", "periods: 0"))
    assert err.line == 11 and "periods" in str(err)


def test_unknown_lender_reference() -> None:
    err = _error(BASE.replace("lender: bank", "lender: nobody"))
    assert str(err) == "s.yaml:12: loan L: unknown lender 'nobody'"


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load("/no/such/scenario.yaml")


def test_recovery_remainder_after_write_off_matches_the_reference(chain: Pylender) -> None:
    """A recovery after a write-off whose 70/30 split leaves a rounding remainder (once a discrepancy)."""
    scenario = load(Path(__file__).with_name("data") / "recovery-after-write-off.yaml")
    result = run_scenario(scenario, session=chain)
    assert chain_view(result) == replay_reference(scenario, result)


# -- cancel, pause / unpause, expect_error ------------------------------------------------------------------


def test_cancel_and_pause_scenario_reverts_where_expected(chain: Pylender) -> None:
    scenario = load(next(p for p in SCENARIOS if p.stem == "cancel-and-pause"))
    result = run_scenario(scenario, session=chain)
    reverted = [(a.kind, a.loan, a.reverted) for a in result.actions if a.reverted]
    assert reverted == [
        ("cancel", "J", "CancelNotAllowed"),
        ("withdraw", None, "EnforcedPause"),
        ("unpause", None, "ExpectedPause"),
    ]
    assert {k: s.status for k, s in result.loans.items()} == {"G": "Closed", "H": "Cancelled", "J": "Cancelled"}
    g = result.loans["G"]
    assert g.principal_paid == 12_000 * 10**6
    assert g.penalty_paid > 0  # installment 3 paid 2 days beyond its grace
    # everything the lenders put in came back out: G's principal and income, H's refunded 8,000
    income = g.interest_paid + g.penalty_paid + g.prepayment_fee_paid
    withdrawn = {k: s.withdrawn for k, s in result.lenders.items()}
    assert sum(withdrawn.values()) == 12_000 * 10**6 + income + 8_000 * 10**6
    assert result.ledger_token_balance == 0
    assert {k: (s.withdrawable, s.reserve, s.exposure) for k, s in result.lenders.items()} == {
        "bank": (0, 0, 0),
        "platform": (0, 0, 0),
    }


RUNNABLE = BASE.replace("al: {account: 5}", "al: {account: 5, balance: 1000}").replace(
    "bank: {account: 1, name: Bank}", "bank: {account: 1, name: Bank, balance: 1000}"
)


def test_bare_pause_and_unpause_steps_parse() -> None:
    scenario = parse(RUNNABLE + "timeline:\n  - pause\n  - unpause: {}\n  - pause:\n")
    assert [s.kind for s in scenario.timeline] == ["pause", "unpause", "pause"]
    err = _error(BASE + "timeline:\n  - pause: {by: bank}\n")
    assert err.line == 14 and "by" in str(err)


def test_expect_error_wraps_one_action_only() -> None:
    err = _error(BASE + "timeline:\n  - expect_error:\n      error: EnforcedPause\n      step: {advance_days: 3}\n")
    assert err.line == 14 and "step must be one action" in str(err) and "'advance_days'" in str(err)
    err = _error(BASE + "timeline:\n  - expect_error:\n      error: Enforced Pause\n      step: pause\n")
    assert err.line == 14 and "error" in str(err)
    err = _error(BASE + "timeline:\n  - expect_error:\n      error: X\n      step: {cancel: {loan: Z}}\n")
    assert str(err) == "s.yaml:16: cancel: unknown loan 'Z'"  # the wrapped step's own line


def test_a_stage_keeps_a_loan_before_disbursement(chain: Pylender) -> None:
    text = RUNNABLE.replace("periods: 3\n", "periods: 3\n    stage: funded\n")
    scenario = parse(text + "timeline:\n  - cancel: {loan: L}\n  - withdraw: {lender: bank}\n")
    result = run_scenario(scenario, session=chain)
    assert [a.kind for a in result.actions] == ["originate", "fund", "cancel", "withdraw"]
    assert (result.loans["L"].status, result.lenders["bank"].withdrawn) == ("Cancelled", 100 * 10**6)
    assert chain_view(result) == replay_reference(scenario, result)


def test_a_withdrawal_while_paused_fails_with_the_named_error(chain: Pylender, tmp_path: Path) -> None:
    text = RUNNABLE + "timeline:\n  - advance_days: 30\n  - repay: {loan: L}\n  - pause\n  - withdraw: {lender: bank}\n"
    with pytest.raises(EnforcedPause) as info:
        run_scenario(parse(text), session=chain)
    assert str(info.value) == "LoanStateError: EnforcedPause()"
    assert info.value.__notes__ == ["in scenario step withdraw (line 17)"]
    path = tmp_path / "paused.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["run", str(path), "--json"])
    assert result.exit_code == 1
    assert "LoanStateError: EnforcedPause() (in scenario step withdraw (line 17))" in result.output


def test_expect_error_fails_when_the_step_succeeds_or_reverts_otherwise(chain: Pylender) -> None:
    ok = (
        RUNNABLE
        + "timeline:\n  - advance_days: 30\n  - expect_error: {error: EnforcedPause, step: {repay: {loan: L}}}\n"
    )
    with pytest.raises(ScenarioError) as info:
        run_scenario(parse(ok), session=chain)
    assert str(info.value) == "line 15: repay succeeded; expected it to revert with EnforcedPause"
    other = RUNNABLE + "timeline:\n  - expect_error: {error: EnforcedPause, step: {cancel: {loan: L}}}\n"
    with pytest.raises(ScenarioError) as info:
        run_scenario(parse(other), session=chain)
    assert str(info.value) == (
        "line 14: cancel: expected EnforcedPause, the ledger said "
        "LoanStateError: LoanNotInStatus(loanId=1, status=3 (ACTIVE))"
    )
    nothing = RUNNABLE + "timeline:\n  - expect_error: {error: EnforcedPause, step: {repay: {loan: L}}}\n"
    with pytest.raises(ScenarioError, match="repay sent nothing; expected a revert with EnforcedPause"):
        run_scenario(parse(nothing), session=chain)


def test_the_reference_must_revert_with_the_same_error(chain: Pylender) -> None:
    text = (
        RUNNABLE + "timeline:\n  - pause\n  - expect_error: {error: EnforcedPause, step: {withdraw: {lender: bank}}}\n"
    )
    scenario = parse(text)
    result = run_scenario(scenario, session=chain)
    assert chain_view(result) == replay_reference(scenario, result)
    tampered = [a.model_copy(update={"reverted": "ExpectedPause"}) if a.reverted else a for a in result.actions]
    with pytest.raises(ScenarioError, match="withdraw: the chain reverted ExpectedPause, the reference EnforcedPause"):
        replay_reference(scenario, result.model_copy(update={"actions": tampered}))
    tampered = [a.model_copy(update={"reverted": "EnforcedPause"}) if a.kind == "pause" else a for a in result.actions]
    with pytest.raises(ScenarioError, match="pause: the chain reverted EnforcedPause, the reference accepted it"):
        replay_reference(scenario, result.model_copy(update={"actions": tampered}))


# -- fund and disburse on the timeline -----------------------------------------------------------------------


def test_fund_and_disburse_steps_name_unknown_references_with_their_line() -> None:
    err = _error(BASE + "timeline:\n  - advance_days: 1\n  - fund: {loan: L, lender: nobody}\n")
    assert str(err) == "s.yaml:15: fund: unknown institution 'nobody'"
    err = _error(BASE + "timeline:\n  - disburse: {loan: Z}\n")
    assert str(err) == "s.yaml:14: disburse: unknown loan 'Z'"
    err = _error(BASE + "timeline:\n  - expect_error:\n      error: X\n      step: {fund: {loan: Z, lender: bank}}\n")
    assert str(err) == "s.yaml:16: fund: unknown loan 'Z'"


def test_funding_window_scenario_funds_in_steps_and_refunds_the_bank(chain: Pylender) -> None:
    scenario = load(next(p for p in SCENARIOS if p.stem == "funding-window"))
    runner = ScenarioRunner(scenario, chain)
    runner.setup()
    cut = next(i for i, step in enumerate(scenario.timeline) if step.kind == "cancel") + 1
    runner.run_steps(scenario.timeline[:cut])
    refunded = runner.result()  # right after the borrower cancelled M past its deadline
    runner.run_steps(scenario.timeline[cut:])
    result = runner.result()
    assert {k: s.status for k, s in refunded.loans.items()} == {"K": "Active", "M": "Cancelled"}
    bank = refunded.lenders["bank"]
    assert (bank.withdrawable, bank.exposure, bank.withdrawn) == (7_000 * 10**6, 7_000 * 10**6, 0)  # M back, K out
    steps = [
        (a.kind, a.loan, a.args.get("lender"), a.reverted) for a in result.actions if a.kind in ("fund", "disburse")
    ]
    assert steps == [
        ("fund", "K", "bank", None),
        ("fund", "M", "bank", None),
        ("fund", "M", "bank", "AlreadyFunded"),
        ("fund", "K", "platform", None),
        ("fund", "K", "platform", "LoanNotInStatus"),
        ("disburse", "K", None, "AccessControlUnauthorizedAccount"),
        ("disburse", "K", None, None),
        ("fund", "M", "platform", "DeadlinePassed"),
    ]
    assert {k: s.status for k, s in result.loans.items()} == {"K": "Closed", "M": "Cancelled"}
    assert result.loans["K"].interest_paid == 98_630_137  # ceil(10,000 x 12 % x 30 / 365)
    # bank: M's refund + 70 % of K's principal + 70 % of its interest with the rounding remainder (the lead tranche)
    assert {k: (s.withdrawable, s.exposure, s.withdrawn) for k, s in result.lenders.items()} == {
        "bank": (0, 0, 14_069_041_096),
        "platform": (0, 0, 3_029_589_041),
    }
    assert result.ledger_token_balance == 0
    assert chain_view(result) == replay_reference(scenario, result)


OPEN = RUNNABLE.replace("periods: 3\n", "periods: 3\n    stage: originated\n").replace(
    "  bank: {account: 1, name: Bank, balance: 1000}\n",
    "  bank: {account: 1, name: Bank, balance: 1000}\n  other: {account: 2, name: Other, balance: 1000}\n",
)


def test_funding_by_an_institution_outside_the_loan_reverts_not_a_tranche_lender(chain: Pylender) -> None:
    step = "{fund: {loan: L, lender: other}}"
    scenario = parse(OPEN + f"timeline:\n  - expect_error: {{error: NotATrancheLender, step: {step}}}\n")
    result = run_scenario(scenario, session=chain)
    assert [(a.kind, a.reverted) for a in result.actions] == [("originate", None), ("fund", "NotATrancheLender")]
    assert chain_view(result) == replay_reference(scenario, result)  # the reference reverts the same way
    wrong = parse(OPEN + f"timeline:\n  - expect_error: {{error: AlreadyFunded, step: {step}}}\n")
    with pytest.raises(ScenarioError) as info:
        run_scenario(wrong, session=chain)
    other = chain.account(2).address
    assert str(info.value) == (
        "line 16: fund: expected AlreadyFunded, the ledger said "
        f"AccessDenied: NotATrancheLender(loanId=1, caller={other})"
    )


def test_a_loan_funded_at_setup_is_disbursed_on_the_timeline(chain: Pylender) -> None:
    text = RUNNABLE.replace("periods: 3\n", "periods: 3\n    stage: funded\n")
    scenario = parse(text + "timeline:\n  - disburse: {loan: L}\n  - advance_days: 30\n  - repay: {loan: L}\n")
    result = run_scenario(scenario, session=chain)
    assert [a.kind for a in result.actions] == ["originate", "fund", "disburse", "repay"]
    assert (result.loans["L"].status, result.loans["L"].current_installment) == ("Active", 2)
    assert chain_view(result) == replay_reference(scenario, result)


def test_the_pool_scenario_retires_senior_while_junior_absorbs_the_write_off(chain: Pylender) -> None:
    """The shipped pool scenario (issue: loan pools): senior gets its whole coupon and principal, junior takes the
    write-off first, every investor's claims are the reference model's, the claims plus what the pool still holds
    are everything it collected, to the unit, and the pool's trail verifies and replays."""
    from pylender.audit.pool import verify_pool

    path = next(p for p in SCENARIOS if p.stem == "pool-senior-junior")
    scenario = load(path)
    result = run_scenario(scenario, session=chain)
    replayed = replay_reference(scenario, result)
    pool = result.pools["P"]
    assert replayed["pools"]["P"] == pool.model_dump()  # every balance and every claim, to the unit
    assert (pool.senior_balance, pool.senior_written_down, pool.senior_interest_owed) == (0, 0, 0)
    assert pool.junior_written_down == result.loans["L20"].written_off  # the whole loss, on junior
    assert pool.junior_balance == 0 and pool.cash == 0

    audit = verify_pool(chain.w3, pool.address, from_block=result.deployment.block)
    assert audit.ok, audit.describe()
    assert audit.withdrawn_by_ledger == pool.collected  # the ledger paid the pool exactly what it collected
    distributions = [r.fields for r in audit.records if r.kind == "Distributed"]
    assert len(distributions) == 12
    paid_senior = sum(int(d["seniorInterest"]) + int(d["seniorPrincipal"]) for d in distributions)
    assert sum(int(d["seniorPrincipal"]) for d in distributions) == 80_000 * 10**6  # retired in full
    claims = {who: sum(by.values()) for who, by in pool.claimed.items()}
    assert claims["s1"] + claims["s2"] <= paid_senior < claims["s1"] + claims["s2"] + 2  # a floor per holder
    assert sum(claims.values()) + pool.unclaimed == pool.collected


def test_audit_pool_follows_units_from_repayments_to_claims(chain: Pylender, tmp_path: Path) -> None:
    """`pylender audit pool POOL --trace`: verified, and each distribution lists the loans' credits it passed on."""
    from pylender.audit.cli import audit

    scenario = load(next(p for p in SCENARIOS if p.stem == "pool-senior-junior"))
    result = run_scenario(scenario, session=chain)
    pool = result.pools["P"].address
    args = ["pool", pool, "--rpc", str(chain.url), "--ledger", result.ledger, "--from-block",
            str(result.deployment.block), "--deployment", str(tmp_path / "none.json")]  # fmt: skip
    shown = CliRunner().invoke(audit, [*args, "--trace"], terminal_width=80)
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith(f"VERIFIED: pool {pool} on ledger {result.ledger}")
    assert f"collected {result.pools['P'].collected:,} = the ledger paid the pool {result.pools['P'].collected:,}" in (
        shown.output
    )
    l01 = result.loans["L01"].id
    assert f"    <- loan {l01} principal " in shown.output and f"    <- loan {l01} income " in shown.output
    data = json.loads(CliRunner().invoke(audit, [*args, "--json"]).output)
    assert data["ok"] and data["records"] == 3 + 20 + 12 + 4  # subscriptions, purchases, distributions, claims
