"""The acceptance of the daily statement: on the shipped 90-day scenario (two banks and a platform, late payments, a
prepayment, a default written off and recovered, withdrawals), every institution's statement ties to the
contract's own ``accountOf`` at every day's cut-off, in UTC and in Asia/Shanghai: opening + the day's movements
= closing, for every day and every balance, and each cut-off is the last block before that midnight."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from statement_chain import Ninety

from pylender.audit.findings import Outcome
from pylender.statements import DailyStatement, draw_statement

pytestmark = pytest.mark.slow

INSTITUTIONS = {"bank_a": "Bank A", "bank_b": "Bank B", "platform": "Platform"}
ZONES = ("UTC", "Asia/Shanghai")
FIRST, LAST = date(2026, 1, 1), date(2026, 4, 2)
# What one unit of each component does to (withdrawable, reserve, loss, exposure), written out here again so that the
# test does not take the package's table on trust.
EFFECT = {
    "funding": (0, 0, 0, 1),
    "refund": (1, 0, 0, -1),
    "principal": (1, 0, 0, 0),
    "interest": (1, 0, 0, 0),
    "penalty": (1, 0, 0, 0),
    "prepayment fee": (1, 0, 0, 0),
    "service fee": (1, 0, 0, 0),
    "reserve provision": (-1, 1, 0, 0),
    "reserve release": (1, -1, 0, 0),
    "loss": (0, 0, 1, 0),
    "recovery": (1, 0, 0, 0),
    "exposure release": (0, 0, 0, -1),
    "withdrawal": (-1, 0, 0, 0),
}
UNIT = 10**6


@pytest.fixture(scope="module")
def statements(ninety: Ninety) -> dict[tuple[str, str], DailyStatement]:
    return {
        (key, tz): draw_statement(ninety.w3, ninety.ledger, name, FIRST, LAST, tz=tz)
        for key, name in INSTITUTIONS.items()
        for tz in ZONES
    }


def _timestamp(ninety: Ninety, block: int) -> int:
    return int(ninety.w3.eth.get_block(block)["timestamp"])


def test_every_day_ties_to_account_of_at_its_cut_off_block(
    ninety: Ninety, statements: dict[tuple[str, str], DailyStatement]
) -> None:
    latest = ninety.w3.eth.block_number
    for (key, tz), s in statements.items():
        zone = ZoneInfo(tz)
        address = ninety.result.lenders[key].address
        assert s.outcome is Outcome.VERIFIED, (key, tz, s.marker)
        assert s.findings == [] and s.views_compared == len(s.days)
        assert s.opening == (0, 0, 0, 0)  # before the ledger: the day before the period ends before genesis
        balance = s.opening
        for day in s.days:
            assert day.opening == balance, (key, tz, day.date)
            rows = [r for r in s.rows if r.date == day.date]
            moved = [sum(EFFECT[r.component][i] * r.amount for r in rows) for i in range(4)]
            assert day.closing == tuple(b + m for b, m in zip(balance, moved, strict=True)), (key, tz, day.date)
            assert day.subtotals == {c: sum(r.amount for r in rows if r.component == c) for c in day.subtotals}
            assert day.movements == len(rows)
            # the contract's own view at the day's cut-off block, read here with plain web3
            assert ninety.account_at(address, day.cutoff_block) == day.closing, (key, tz, day.date)
            midnight = int(
                datetime.combine(date.fromisoformat(day.date) + timedelta(days=1), time(0), zone).timestamp()
            )
            assert _timestamp(ninety, day.cutoff_block) < midnight
            if day.cutoff_block < latest:
                assert _timestamp(ninety, day.cutoff_block + 1) >= midnight
                assert day.complete
            balance = day.closing
        assert s.closing == ninety.account_at(address, latest)


def test_the_movements_are_the_scenario_s_money_to_the_unit(
    ninety: Ninety, statements: dict[tuple[str, str], DailyStatement]
) -> None:
    def total(key: str, component: str) -> int:
        return sum(r.amount for r in statements[(key, "UTC")].rows if r.component == component)

    funded = {"bank_a": 4800 + 5600 + 2100, "bank_b": 3600 + 5000 + 3600, "platform": 3600 + 2400 + 2400 + 900}
    refunded = {"bank_a": 2100, "bank_b": 0, "platform": 900}  # loan E, cancelled
    for key, lender in ninety.result.lenders.items():
        assert total(key, "funding") == funded[key] * UNIT
        assert total(key, "refund") == refunded[key] * UNIT
        assert total(key, "withdrawal") == lender.withdrawn  # every unit that left, as the token balances say
        assert total(key, "loss") == lender.loss
        assert total(key, "exposure release") + total(key, "refund") == total(key, "funding")  # every loan ended
    # D (Bank B 60 %, platform 40 %) recovered 1,000 after its write-off; C's service fee is the platform's alone
    assert (total("bank_b", "recovery"), total("platform", "recovery")) == (600 * UNIT, 400 * UNIT)
    assert total("platform", "service fee") == ninety.result.loans["C"].fee_paid
    assert total("bank_a", "service fee") == total("bank_b", "service fee") == 0
    # the late payments carry penalty interest: A (all three) and D (Bank B, the platform)
    assert all(total(key, "penalty") > 0 for key in INSTITUTIONS)
    assert total("bank_b", "prepayment fee") == 0 < total("bank_a", "prepayment fee")  # B's lenders: A and platform
    # a statement is exact: every lender's income and principal over the loans equals what the chain paid, to the unit
    for loan in ("A", "B", "C"):
        paid = ninety.result.loans[loan]
        loan_id = paid.id
        rows = [r for s in (statements[(k, "UTC")] for k in INSTITUTIONS) for r in s.rows if r.loan_id == loan_id]
        income = sum(r.amount for r in rows if r.component in ("interest", "penalty", "prepayment fee"))
        fee = sum(r.amount for r in rows if r.component == "service fee")
        assert income + fee == paid.interest_paid + paid.penalty_paid + paid.prepayment_fee_paid
        assert sum(r.amount for r in rows if r.component == "principal") == paid.principal_paid


def test_each_zone_dates_a_movement_by_its_own_midnight(statements: dict[tuple[str, str], DailyStatement]) -> None:
    # D's first installment was paid late on day 19.8: 2026-01-20 19:12 UTC, which is 2026-01-21 03:12 in Shanghai
    def late_repayment(tz: str) -> tuple[str, str]:
        row = next(
            r for r in statements[("bank_b", tz)].rows if r.loan_ref == "CL-2026-0004" and r.component == "penalty"
        )
        return row.date, row.time[:5]

    assert late_repayment("UTC") == ("2026-01-20", "19:12")
    assert late_repayment("Asia/Shanghai") == ("2026-01-21", "03:12")
    utc = statements[("bank_b", "UTC")].balances_at("2026-01-20")
    shanghai = statements[("bank_b", "Asia/Shanghai")].balances_at("2026-01-20")
    assert utc.cutoff_block > shanghai.cutoff_block  # UTC's day ends eight hours after Shanghai's
    assert utc.subtotals.get("penalty", 0) > 0 and "penalty" not in shanghai.subtotals
    for tz in ZONES:
        assert [r.seq for r in statements[("bank_b", tz)].rows] == sorted(
            r.seq for r in statements[("bank_b", tz)].rows
        )


def test_the_statement_names_loans_by_their_reference(statements: dict[tuple[str, str], DailyStatement]) -> None:
    s = statements[("platform", "UTC")]
    assert {r.loan_ref for r in s.rows if r.loan_id is not None} == {f"CL-2026-000{i}" for i in (1, 2, 3, 4, 5)}
    assert {r.loan_ref for r in s.rows if r.loan_id is None} == {""}  # withdrawals belong to no loan
    assert s.loans == {i: f"CL-2026-000{i}" for i in range(1, 6)}


def test_the_frame_is_exact_and_carries_the_header(ninety: Ninety) -> None:
    from pylender.statements import statement

    frame = statement(ninety.w3, ninety.ledger, "Bank B", "2026-03-01", "2026-03-31", tz="Asia/Shanghai")
    header = frame.attrs["statement"]
    assert header["outcome"] == "verified" and header["institution"]["name"] == "Bank B"
    assert list(frame.columns[:9]) == [
        "loan_id",
        "loan_ref",
        "date",
        "time",
        "block",
        "tx",
        "seq",
        "component",
        "amount",
    ]
    assert all(isinstance(v, Decimal) for v in frame["amount"])
    assert sum(frame["amount_base_units"]) == sum(int(v * UNIT) for v in frame["amount"])
    opening = {k: Decimal(v) for k, v in header["opening"].items()}
    closing = {k: Decimal(v) for k, v in header["closing"].items()}
    for name in ("withdrawable", "reserve", "loss", "exposure"):
        assert opening[name] + frame[f"{name}_change"].sum() == closing[name]
    assert datetime.fromisoformat(header["final_time"]).utcoffset() == timedelta(hours=8)
