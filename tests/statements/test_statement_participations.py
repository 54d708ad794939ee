"""Statements follow ownership (issue: participation transfers): on the shipped sale scenario (a bank sells 40 % of a
performing loan mid-life, a platform sells part of a defaulted loan before its recoveries), every institution's
statement ties to ``accountOf`` at every day's cut-off, and states the sale's price and the exposure that moved with
the position, to the unit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from statement_chain import account_at, anvil_or_skip

from pylender.audit.findings import Outcome
from pylender.client.session import Pylender
from pylender.scenarios.runner import RunResult, run_scenario
from pylender.scenarios.schema import GENESIS_TIMESTAMP, load
from pylender.statements import DailyStatement, draw_statement
from pylender.statements.components import component_effects

pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "participation-sales.yaml"
NAMES = {"bank_a": "Bank A", "bank_b": "Bank B", "platform": "Example Platform", "amc": "Example Asset Management"}
UNIT = 10**6


@pytest.fixture(scope="module")
def sales() -> Iterator[tuple[Pylender, RunResult, dict[str, DailyStatement]]]:
    anvil_or_skip()
    with Pylender.local(timestamp=GENESIS_TIMESTAMP, accounts=10) as session:
        result = run_scenario(load(SCENARIO), session)
        statements = {
            key: draw_statement(session.w3, result.ledger, name, date(2026, 1, 1), date(2027, 2, 1), tz="Asia/Shanghai")
            for key, name in NAMES.items()
        }
        yield session, result, statements


def test_every_day_ties_across_the_sales(sales: tuple[Pylender, RunResult, dict[str, DailyStatement]]) -> None:
    session, result, statements = sales
    for key, s in statements.items():
        assert s.outcome is Outcome.VERIFIED and s.findings == [], key
        address = result.lenders[key].address
        balance = s.opening
        for day in s.days:
            rows = [r for r in s.rows if r.date == day.date]
            moved = [sum(component_effects(r.component)[i] * r.amount for r in rows) for i in range(4)]
            assert day.closing == tuple(b + m for b, m in zip(balance, moved, strict=True)), (key, day.date)
            assert account_at(session.w3, result.ledger, address, day.cutoff_block) == day.closing, (key, day.date)
            balance = day.closing
        assert s.closing == account_at(session.w3, result.ledger, address, session.w3.eth.block_number)


def test_the_sales_are_stated_with_their_price_and_exposure(
    sales: tuple[Pylender, RunResult, dict[str, DailyStatement]],
) -> None:
    _, result, statements = sales
    g, h = result.loans["G"].id, result.loans["H"].id

    def rows(key: str, component: str) -> list[tuple[int | None, int]]:
        return [(r.loan_id, r.amount) for r in statements[key].rows if r.component == component]

    # G (20,000; Bank A 60 % lead, platform 40 %): Bank A sells 4,000 bps to Bank B for 4,100
    # tranche amounts before: 12,000 / 8,000; after: Bank A 20,000 − 8,000 − 8,000 = 4,000, Bank B 8,000
    assert rows("bank_a", "sale") == [(g, 4_100 * UNIT)]
    assert rows("bank_b", "purchase") == [(g, 4_100 * UNIT)]
    assert rows("bank_a", "exposure out") == [(g, 8_000 * UNIT)]
    assert rows("bank_b", "exposure in") == [(g, 8_000 * UNIT)]
    # H (10,000; Bank A 60 % lead, platform 40 %), defaulted: the platform sells 2,000 bps to the asset manager
    assert rows("platform", "sale") == [(h, 170 * UNIT)]
    assert rows("amc", "purchase") == [(h, 170 * UNIT)]
    assert rows("platform", "exposure out") == [(h, 2_000 * UNIT)]
    assert rows("amc", "exposure in") == [(h, 2_000 * UNIT)]
    # the recoveries after the sale reach the asset manager for its 20 %: 2,500 then 1,000
    assert rows("amc", "recovery") == [(h, 500 * UNIT), (h, 200 * UNIT)]
    # every unit of exposure that came in went out again when the loans ended
    for key in NAMES:
        came = sum(a for _, a in rows(key, "funding") + rows(key, "exposure in"))
        went = sum(a for _, a in rows(key, "exposure release") + rows(key, "exposure out") + rows(key, "refund"))
        assert came == went, key
    # G's income and principal over its holders, past and present, is what the borrower paid, to the unit
    paid = result.loans["G"]
    got = [r for s in statements.values() for r in s.rows if r.loan_id == g]
    income = sum(r.amount for r in got if r.component in ("interest", "penalty", "prepayment fee"))
    assert income == paid.interest_paid + paid.penalty_paid + paid.prepayment_fee_paid
    assert sum(r.amount for r in got if r.component == "principal") == paid.principal_paid


ONE_LOAN = """
name: one loan, its first installment paid
decimals: 6
institutions:
  bank_a: {account: 1, name: Bank A, balance: 100000}
  platform: {account: 2, name: Example Platform, platform: true, balance: 100000}
  bank_b: {account: 3, name: Bank B, balance: 100000}
servicer: {account: 4, balance: 10000}
borrowers:
  kim: {account: 5, id: customer-kim, balance: 20000}
loans:
  K:
    borrower: kim
    principal: 10000
    rate_bps: 1800
    periods: 6
    method: equal_installment
    grace_days: 3
    penalty_rate_bps: 3600
    tranches:
      - {lender: bank_a, share_bps: 7000}
      - {lender: platform, share_bps: 3000}
timeline:
  - advance_days: 30
  - repay: {loan: K}
"""
NEW_BUYER = (
    ONE_LOAN
    + """  - offer: {name: k-to-b, loan: K, seller: bank_a, buyer: bank_b, share_bps: 1300, price: 1400, expiry_days: 2}
  - accept: {offer: k-to-b}
  - advance_days: 47
  - repay: {loan: K}
"""
)


def test_a_buyer_new_to_a_loan_has_its_first_late_payment_split_by_part() -> None:
    """Bank B holds nothing in K until it buys 1,300 bps after the first installment; the second is paid 17 days
    late. Its credit of that payment carries its offset (−I × 1,300, I the lender income when it bought), so its
    parts are the floors of the payment's own parts: penalty ⌊p × 1,300 / 10,000⌋, then interest the rest of
    ⌊(p + i) × 1,300 / 10,000⌋."""
    from pylender.scenarios.schema import parse

    anvil_or_skip()
    with Pylender.local(timestamp=GENESIS_TIMESTAMP, accounts=8) as session:
        result = run_scenario(parse(NEW_BUYER), session)
        s = draw_statement(session.w3, result.ledger, "Bank B", date(2026, 1, 1), date(2026, 4, 1))
        assert s.outcome is Outcome.VERIFIED and s.findings == []
        paid = [r for r in s.rows if r.component in ("penalty", "interest", "prepayment fee")]
        assert {r.seq for r in paid} == {paid[0].seq}  # Bank B's only income: the late second installment
        from pylender.audit.verify import audit_ledger

        record = next(r for r in audit_ledger(session.w3, result.ledger).records if r.seq == paid[0].seq)
        b = record.fields["breakdown"]
        penalty, interest = int(b["penaltyPaid"]), int(b["interestPaid"]) - int(b["feePaid"])
        assert penalty > 0 and int(b["daysLate"]) == 17
        expected_penalty = penalty * 1_300 // 10_000
        expected_interest = (penalty + interest) * 1_300 // 10_000 - expected_penalty
        assert [(r.component, r.amount) for r in paid] == [
            ("penalty", expected_penalty),
            ("interest", expected_interest),
        ]
        address = result.lenders["bank_b"].address
        assert s.closing == account_at(session.w3, result.ledger, address, session.w3.eth.block_number)


def test_a_statement_follows_the_institution_across_a_rotation_of_its_address() -> None:
    """Bank A is paid one installment at its first address, moves to a second (``rotateInstitution``), is paid the
    next there and withdraws. Its statement, named by either address or by name, holds both payments and the
    withdrawal, and every day ties to ``accountOf`` of the address it had at that cut-off."""
    from pylender.scenarios.schema import parse

    anvil_or_skip()
    with Pylender.local(timestamp=GENESIS_TIMESTAMP, accounts=8) as session:
        result = run_scenario(parse(ONE_LOAN), session)
        ledger = session.ledger(result.deployment)
        first, second = result.lenders["bank_a"].address, session.account(6)
        loan = result.loans["K"].id
        rotated = ledger.rotate_institution(first, second).block_number
        session.advance(30 * 86_400)
        ledger.repay_due(loan, by=session.account(5))
        withdrawn = ledger.withdraw(second)
        end = date(2026, 4, 1)
        by_name = draw_statement(session.w3, result.ledger, "Bank A", date(2026, 1, 1), end)
        for named in (first, second.address):
            assert draw_statement(session.w3, result.ledger, named, date(2026, 1, 1), end).rows == by_name.rows
        s = by_name
        # every day's cut-off compared with accountOf of the address Bank A had there (the opening one is before
        # its registration: 0 by definition), and no difference
        assert s.outcome is Outcome.VERIFIED and s.findings == [] and s.views_compared == len(s.days)
        assert s.institution.addresses == (first, second.address)
        assert [r.block < rotated for r in s.rows if r.component == "principal"] == [True, False]
        assert [r.block < rotated for r in s.rows if r.component == "interest"] == [True, False]
        assert [r.amount for r in s.rows if r.component == "withdrawal"] == [withdrawn]
        earned = sum(r.amount for r in s.rows if r.component in ("principal", "interest", "penalty"))
        assert withdrawn == earned > 0 and s.opening == (0, 0, 0, 0)
        assert s.closing == account_at(session.w3, result.ledger, second.address, session.w3.eth.block_number)
