"""The report's figures, computed from the replay, exact to the base unit; overdue buckets by days past due."""

from __future__ import annotations

from audit_synthetic import BANK, DAY, FEE1, FEE2, N1, P1, P2, PLATFORM, RATE1, RATE2, RECOVERY2, RES2, events, records

from pylender.audit.portfolio import (
    Overdue,
    Units,
    by_status,
    components,
    disbursement_blocks,
    institution_totals,
    overdue_buckets,
    overdue_loans,
    portfolio_totals,
)
from pylender.audit.records import Record
from pylender.audit.replay import replay
from pylender.schedule import build_schedule, interest


def test_units_keep_every_decimal_and_say_when_the_decimals_are_unknown() -> None:
    assert Units(6, "TUSD").fmt(1_027_000_000) == "1,027.000000" and Units(6, "TUSD").label == "TUSD"
    assert Units(6, None).fmt(1) == "0.000001" and Units(18, "X").fmt(10**18 + 1) == "1.000000000000000001"
    assert Units(None, None).fmt(1_027_000_000) == "1,027,000,000" and Units(None, "X").label == "base units"


def test_portfolio_and_institution_totals_are_exact(synthetic_records: list[Record]) -> None:
    books, findings = replay(synthetic_records)
    assert findings == []
    sched = build_schedule(P1, RATE1, 30 * DAY, N1, 0)
    interest1, i2 = sum(r.interest for r in sched), interest(P2, RATE2, 30 * DAY)
    fee1, fee2 = interest1 * FEE1 // 10_000, i2 * FEE2 // 10_000
    income = interest1 - fee1 + i2 - fee2
    p = portfolio_totals(books)
    assert (p.funded, p.outstanding, p.principal, p.fees, p.recoveries) == (P1 + P2, 0, P1, fee1 + fee2, RECOVERY2)
    assert (p.income, p.written_off) == (income, P2)
    reserve2 = (i2 - fee2) * RES2 // 10_000
    assert (p.absorbed, p.loss, p.reserve) == (reserve2, P2 - reserve2 - RECOVERY2, 0)
    c = components(books)
    assert (c.interest, c.service_fee, c.principal, c.recoveries) == (interest1 + i2, fee1 + fee2, P1, RECOVERY2)
    bank, platform = institution_totals(books)
    assert (bank.name, bank.address, platform.name) == ("Bank", BANK, "Platform")
    assert (bank.funded, platform.funded) == (P1 - P1 * 3000 // 10_000 + P2, P1 * 3000 // 10_000)
    # both loans have ended: every unit the borrowers paid reached an institution, leftovers included
    assert sum(r.collected for r in (bank, platform)) == p.principal + p.income + p.fees + p.recoveries
    assert (platform.fees, bank.fees) == (fee1 + fee2, 0)
    assert (bank.written_off, bank.absorbed, bank.loss, bank.recoveries) == (P2, reserve2, p.loss, RECOVERY2)
    assert [(s.status, s.loans) for s in by_status(books) if s.loans] == [("closed", 1), ("written off", 1)]


def test_overdue_loans_fall_into_buckets_of_days_past_due() -> None:
    evs = [e for e in events() if e[0] in ("InstitutionRegistered", "PolicyUpdated")]
    evs += [e for e in events() if e[1].get("loanId") == 1 and e[0] != "RepaymentApplied"]  # loan 1, never repaid
    trail = records(evs)
    books, _ = replay(trail)
    (disbursed_block,) = disbursement_blocks(trail).values()
    start = 1_900_000_000
    due = start + 30 * DAY  # installment 1; the synthetic terms give 3 days of grace
    grace = int(books.loans[1].terms["gracePeriod"])
    assert disbursed_block == trail[-1].block_number
    assert overdue_loans(books, {1: start}, due + grace) == []  # inside the grace period: not overdue
    for days, label in ((4, "1-30 days"), (30, "1-30 days"), (31, "31-60 days"), (90, "61-90 days"), (91, "90+ days")):
        (loan,) = overdue_loans(books, {1: start}, due + days * DAY)
        assert loan == Overdue(1, 1, due, days, P1)
        buckets = overdue_buckets([loan])
        assert [(b.label, b.loans, b.outstanding) for b in buckets if b.loans] == [(label, 1, P1)]
    (part,) = overdue_loans(books, {1: start}, due + grace + 1)  # a part day counts as a day
    assert part.days == grace // DAY + 1
    assert [b.label for b in overdue_buckets([])] == ["1-30 days", "31-60 days", "61-90 days", "90+ days"]
    assert PLATFORM in books.loans[1].lenders
