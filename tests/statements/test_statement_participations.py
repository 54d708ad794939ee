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
