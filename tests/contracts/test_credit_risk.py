"""Overdue, penalty, default, write-off, recovery and the borrower credit record
(docs/ledger-spec.md, "Overdue, penalty, default, write-off, recovery", "Borrower credit record")."""

from __future__ import annotations

import ape
from conftest import BORROWER_ID
from ledger_expect import (
    ACTIVE,
    CLOSED,
    DAY,
    DEFAULTED,
    PERIOD,
    WRITTEN_OFF,
    Breakdown,
    floor_share,
    penalty,
    penalty_of,
    recompute_audit_chain,
)

from pylender import schedule
from pylender.values import PAY_ALL_DUE

GRACE = 3 * DAY
RATE = 1800  # penalty bps


def _loan(ledger, make_loan, **terms):
    loan_id = make_loan(principal=1_000_000, penaltyRateBps=RATE, gracePeriod=GRACE, **terms)
    loan = ledger.getLoan(loan_id)
    rows = schedule.build_schedule(
        loan.principal, loan.annualRateBps, PERIOD, loan.periods, loan.method, start=loan.disbursedAt
    )
    return loan_id, rows


def test_inside_grace_no_penalty_accrues(ledger, make_loan, chain):
    loan_id, rows = _loan(ledger, make_loan)
    chain.mine(timestamp=rows[0].due + GRACE)
    due = ledger.amountDue(loan_id)
    assert (due.penalty, due.overdueInstallments, due.totalDue) == (0, 0, rows[0].payment)


def test_45_days_overdue_then_paid_penalty_is_exact_and_split_70_30(
    ledger, make_loan, borrower, bank, platform, chain, conserve
):
    loan_id, rows = _loan(ledger, make_loan)
    when = rows[0].due + 45 * DAY  # installment 2 (due + 30 days) is overdue too, by 15 days
    chain.mine(timestamp=when - 1)
    due = ledger.amountDue(loan_id)  # one second earlier
    assert due.penalty == penalty_of((rows[0].payment, RATE, 45 * DAY - 1), (rows[1].payment, RATE, 15 * DAY - 1))
    assert due.overdueInstallments == 2
    expected_penalty = penalty_of((rows[0].payment, RATE, 45 * DAY), (rows[1].payment, RATE, 15 * DAY))
    total = expected_penalty + rows[0].payment + rows[1].payment
    chain.pending_timestamp = when
    tx = ledger.repay(loan_id, total, sender=borrower)
    assert tx.timestamp == when
    b = Breakdown(tx.events.filter(ledger.RepaymentApplied)[0].breakdown)
    assert (b.penaltyPaid, b.lateCompleted, b.onTimeCompleted, b.daysLate, b.maxDaysLate, b.penaltyAccrued) == (
        expected_penalty,
        2,
        0,
        45 + 15,
        45,
        0,
    )
    loan = ledger.getLoan(loan_id)
    assert (loan.penaltyPaid, loan.penaltyAccrued, loan.currentInstallment) == (expected_penalty, 0, 3)
    interest = rows[0].interest + rows[1].interest
    principal = rows[0].principal + rows[1].principal
    income = interest + expected_penalty
    assert ledger.accountOf(platform).withdrawable == floor_share(income, 3000) + floor_share(principal, 3000)
    assert ledger.accountOf(bank).withdrawable == floor_share(income, 7000) + floor_share(principal, 7000)
    record = ledger.creditRecord(BORROWER_ID)
    assert (record.loansTaken, record.active, record.lateInstallments, record.maxDaysLate, record.totalDaysLate) == (
        1,
        1,
        2,
        45,
        60,
    )
    conserve()


def test_a_payment_smaller_than_the_penalty_pays_penalty_only_and_keeps_the_rest_accrued(
    ledger, make_loan, borrower, chain, conserve
):
    loan_id, rows = _loan(ledger, make_loan)
    when = rows[0].due + 10 * DAY
    chain.pending_timestamp = when
    ledger.repay(loan_id, 100, sender=borrower)
    accrued = penalty(rows[0].payment, RATE, 10 * DAY)
    loan = ledger.getLoan(loan_id)
    assert (loan.penaltyPaid, loan.penaltyAccrued, loan.penaltyCheckpoint, loan.interestPaid) == (
        100,
        accrued - 100,
        when,
        0,
    )
    # from the checkpoint on, the penalty runs from it (not from the due date again)
    chain.pending_timestamp = when + 5 * DAY
    chain.mine(timestamp=when + 5 * DAY)
    # exact accrual: 10 days less the 100 paid, plus 5 days, rounded up once
    assert (
        ledger.amountDue(loan_id).penalty
        == penalty_of((rows[0].payment, RATE, 10 * DAY), (rows[0].payment, RATE, 5 * DAY)) - 100
    )
    conserve()


def test_on_time_credit_record_and_closed_loan(ledger, make_loan, borrower, chain, conserve):
    loan_id, rows = _loan(ledger, make_loan, periods=2)
    for row in rows:
        chain.pending_timestamp = row.due + GRACE  # the last second of grace is still on time
        ledger.repay(loan_id, row.payment, sender=borrower)
    record = ledger.creditRecord(BORROWER_ID)
    assert (record.loansTaken, record.closed, record.onTimeInstallments, record.lateInstallments) == (1, 1, 2, 0)
    assert ledger.getLoan(loan_id).status == CLOSED
    conserve()


def test_installments_left_after_the_last_principal_are_skipped_not_counted(
    ledger, make_loan, borrower, chain, conserve
):
    """1 unit over 3 periods at 0 %: installment 1 carries all the principal; 2 and 3 owe nothing once it is
    paid, so they are neither on time nor late (found by the stateful machine: they were counted late)."""
    on_time = make_loan(principal=1, annualRateBps=0, periods=3, penaltyRateBps=0)
    late = make_loan(principal=1, annualRateBps=0, periods=3, penaltyRateBps=0)
    rows = {
        i: schedule.build_schedule(1, 0, PERIOD, 3, 0, start=ledger.getLoan(i).disbursedAt) for i in (on_time, late)
    }
    assert [(r.principal, r.interest) for r in rows[late]] == [(1, 0), (0, 0), (0, 0)]
    chain.pending_timestamp = rows[on_time][0].due
    b = Breakdown(ledger.repay(on_time, 1, sender=borrower).events.filter(ledger.RepaymentApplied)[0].breakdown)
    assert (b.onTimeCompleted, b.lateCompleted, b.installment, b.outstanding) == (1, 0, 4, 0)
    due = rows[late][0].due
    chain.pending_timestamp = due + 2 * PERIOD + 10 * DAY  # every installment of the second loan is past due
    b = Breakdown(ledger.repay(late, 1, sender=borrower).events.filter(ledger.RepaymentApplied)[0].breakdown)
    day_late = (2 * PERIOD + 10 * DAY) // DAY
    assert (b.onTimeCompleted, b.lateCompleted, b.daysLate, b.installment) == (0, 1, day_late, 4)
    record = ledger.creditRecord(BORROWER_ID)
    assert (record.closed, record.onTimeInstallments, record.lateInstallments, record.totalDaysLate) == (
        2,
        1,
        1,
        day_late,
    )
    assert [ledger.getLoan(i).status for i in (on_time, late)] == [CLOSED, CLOSED]
    conserve()


def _default(ledger, make_loan, borrower, servicer, chain, paid=3, reserve=1000):
    loan_id, rows = _loan(ledger, make_loan, reserveBps=reserve)
    for row in rows[:paid]:
        chain.pending_timestamp = row.due
        ledger.repay(loan_id, row.payment, sender=borrower)
    k = paid  # index into rows of the first unpaid installment
    defaultable = rows[k].due + GRACE + 90 * DAY
    chain.pending_timestamp = defaultable
    tx = ledger.markDefault(loan_id, sender=servicer)
    return loan_id, rows, k, defaultable, tx


def test_mark_default_timing_and_owed_at_default(ledger, make_loan, borrower, servicer, stranger, chain, conserve):
    loan_id, rows = _loan(ledger, make_loan)
    overdue_since = rows[0].due + GRACE
    chain.pending_timestamp = overdue_since + 90 * DAY - 1
    with ape.reverts(
        ledger.NotOverdueLongEnough, loanId=loan_id, overdueSince=overdue_since, defaultableAt=overdue_since + 90 * DAY
    ):
        ledger.markDefault(loan_id, sender=servicer)
    chain.pending_timestamp = overdue_since + 90 * DAY
    with ape.reverts(
        ledger.NotOverdueLongEnough,
        loanId=loan_id,
        overdueSince=overdue_since,
        defaultableAt=overdue_since + 120 * DAY,
    ):
        ledger.markDefault(loan_id, sender=stranger)  # the public may only mark it 30 days later
    tx = ledger.markDefault(loan_id, sender=servicer)
    now = tx.timestamp

    # installments 1..4 are due (due_4 = due_1 + 90 days)
    due_rows = [r for r in rows if r.due <= now]
    assert len(due_rows) == 4
    expected_penalty = penalty_of(*((r.payment, RATE, now - r.due) for r in due_rows if now > r.due + GRACE))
    unpaid_interest = sum(r.interest for r in due_rows)
    [event] = tx.events.filter(ledger.LoanDefaulted)
    assert (event.outstandingPrincipal, event.unpaidInterest, event.penaltyAccrued) == (
        1_000_000,
        unpaid_interest,
        expected_penalty,
    )
    assert event.owedAtDefault == 1_000_000 + unpaid_interest + expected_penalty
    loan = ledger.getLoan(loan_id)
    assert (loan.status, loan.owedAtDefault, loan.outstandingPrincipal) == (DEFAULTED, event.owedAtDefault, 1_000_000)
    with ape.reverts(ledger.LoanNotInStatus, loanId=loan_id, status=DEFAULTED):
        ledger.repay(loan_id, 1, sender=borrower)
    with ape.reverts(ledger.LoanNotInStatus, loanId=loan_id, status=DEFAULTED):
        ledger.markDefault(loan_id, sender=servicer)
    conserve()


def test_anyone_may_mark_default_after_the_public_delay(ledger, make_loan, stranger, chain):
    loan_id, rows = _loan(ledger, make_loan)
    chain.pending_timestamp = rows[0].due + GRACE + 120 * DAY
    ledger.markDefault(loan_id, sender=stranger)
    assert ledger.getLoan(loan_id).status == DEFAULTED


def test_write_off_splits_the_loss_70_30_after_reserves(
    ledger, make_loan, borrower, servicer, bank, platform, chain, conserve
):
    loan_id, rows, k, _, _ = _default(ledger, make_loan, borrower, servicer, chain)
    interest = sum(r.interest for r in rows[:k])
    principal = sum(r.principal for r in rows[:k])
    loss = 1_000_000 - principal
    reserve = {
        bank: floor_share(floor_share(interest, 7000), 1000),
        platform: floor_share(floor_share(interest, 3000), 1000),
    }
    assert ledger.accountOf(bank).reserve == reserve[bank] and ledger.accountOf(platform).reserve == reserve[platform]
    withdrawable_before = {x: ledger.accountOf(x).withdrawable for x in (bank, platform)}

    with ape.reverts(ledger.AccessControlUnauthorizedAccount, account=borrower.address):
        ledger.writeOff(loan_id, sender=borrower)
    tx = ledger.writeOff(loan_id, sender=servicer)

    platform_loss = floor_share(loss, 3000)
    bank_loss = loss - platform_loss  # the lead takes the remainder
    [event] = tx.events.filter(ledger.LoanWrittenOff)
    assert (event.loss, event.absorbed) == (loss, reserve[bank] + reserve[platform])
    income = interest  # no fee, no penalty: paid on time
    leftover = (income - floor_share(income, 7000) - floor_share(income, 3000)) + (
        principal - floor_share(principal, 7000) - floor_share(principal, 3000)
    )
    b, p = ledger.accountOf(bank), ledger.accountOf(platform)
    assert (b.reserve, b.loss, b.exposure) == (0, bank_loss - reserve[bank], 0)
    assert (p.reserve, p.loss, p.exposure) == (0, platform_loss - reserve[platform], 0)
    assert b.withdrawable == withdrawable_before[bank] + reserve[bank] + leftover
    assert p.withdrawable == withdrawable_before[platform] + reserve[platform]
    loan = ledger.getLoan(loan_id)
    assert (loan.status, loan.writtenOff, loan.outstandingPrincipal) == (WRITTEN_OFF, loss, 0)
    record = ledger.creditRecord(BORROWER_ID)
    assert (record.defaulted, record.amountWrittenOff, record.onTimeInstallments) == (1, loss, 3)
    with ape.reverts(ledger.LoanNotInStatus, loanId=loan_id, status=WRITTEN_OFF):
        ledger.repay(loan_id, 1, sender=borrower)
    with ape.reverts(ledger.LoanNotInStatus, loanId=loan_id, status=WRITTEN_OFF):
        ledger.writeOff(loan_id, sender=servicer)
    conserve()


def test_write_off_releases_a_reserve_larger_than_the_loss(
    ledger, make_loan, borrower, servicer, stranger, bank, platform, chain, conserve
):
    """Rule (docs/ledger-spec.md, write-off): the loan's reserve beyond the absorbed loss share is released to
    withdrawable, not left stranded in `reserve`."""
    loan_id, rows, k, _, _ = _default(ledger, make_loan, borrower, servicer, chain)
    interest = sum(r.interest for r in rows[:k])
    principal = sum(r.principal for r in rows[:k])
    held = {
        bank: floor_share(floor_share(interest, 7000), 1000),
        platform: floor_share(floor_share(interest, 3000), 1000),
    }
    outstanding = 1_000_000 - principal
    ledger.recover(loan_id, outstanding - 10, sender=stranger)  # while Defaulted: principal down to 10
    conserve()
    withdrawable_before = {x: ledger.accountOf(x).withdrawable for x in (bank, platform)}
    tx = ledger.writeOff(loan_id, sender=servicer)
    loss = 10
    platform_loss = floor_share(loss, 3000)  # 3
    bank_loss = loss - platform_loss  # 7: the lead takes the remainder
    assert held[bank] > bank_loss and held[platform] > platform_loss
    [event] = tx.events.filter(ledger.LoanWrittenOff)
    assert (event.loss, event.absorbed) == (loss, loss)
    leftover = (interest - floor_share(interest, 7000) - floor_share(interest, 3000)) + (
        principal - floor_share(principal, 7000) - floor_share(principal, 3000)
    )
    b, p = ledger.accountOf(bank), ledger.accountOf(platform)
    assert (b.reserve, b.loss, p.reserve, p.loss) == (0, 0, 0, 0)
    # the whole provision moves to withdrawable: the absorbed loss share and the released excess
    assert b.withdrawable == withdrawable_before[bank] + held[bank] + leftover
    assert p.withdrawable == withdrawable_before[platform] + held[platform]
    assert ledger.positionOf(loan_id, bank).reserveHeld == 0
    conserve()


def test_write_off_draws_on_the_general_reserve_and_a_later_closure_releases_what_is_left(
    ledger, make_loan, borrower, servicer, bank, platform, chain, conserve
):
    """absorbed_i = min(L_i, reserve_i): another loan's provision absorbs too; that loan's closure later releases
    its provision only up to the reserve balance left."""
    other, other_rows = _loan(ledger, make_loan, reserveBps=1000)
    loan_id, rows = _loan(ledger, make_loan, reserveBps=1000)
    for i in range(3):
        for lid, row in sorted([(other, other_rows[i]), (loan_id, rows[i])], key=lambda x: x[1].due):
            chain.pending_timestamp = max(row.due, chain.pending_timestamp)
            ledger.repay(lid, row.payment, sender=borrower)
    reserve = {x: ledger.accountOf(x).reserve for x in (bank, platform)}
    interest = sum(r.interest for r in rows[:3])
    held = {
        bank: floor_share(floor_share(interest, 7000), 1000),
        platform: floor_share(floor_share(interest, 3000), 1000),
    }
    assert all(reserve[x] > held[x] > 0 for x in (bank, platform))  # the other loan's provision is there too
    chain.pending_timestamp = rows[3].due + GRACE + 90 * DAY
    ledger.markDefault(loan_id, sender=servicer)
    tx = ledger.writeOff(loan_id, sender=servicer)
    loss = 1_000_000 - sum(r.principal for r in rows[:3])
    platform_loss = floor_share(loss, 3000)
    bank_loss = loss - platform_loss
    [event] = tx.events.filter(ledger.LoanWrittenOff)
    assert (event.loss, event.absorbed) == (loss, reserve[bank] + reserve[platform])
    b, p = ledger.accountOf(bank), ledger.accountOf(platform)
    assert (b.reserve, b.loss) == (0, bank_loss - reserve[bank])
    assert (p.reserve, p.loss) == (0, platform_loss - reserve[platform])
    conserve()
    # the other loan prepays everything: its provision was consumed, the closure releases only what is left (0)
    # everything due when the payment executes: the overdue installments and the penalty to that second
    ledger.repay(other, PAY_ALL_DUE, sender=borrower)
    assert ledger.amountDue(other).overdueInstallments == 0
    left = ledger.getLoan(other).outstandingPrincipal
    withdrawable_before = {x: ledger.accountOf(x).withdrawable for x in (bank, platform)}
    ledger.prepay(other, left, sender=borrower)
    assert ledger.getLoan(other).status == CLOSED
    b, p = ledger.accountOf(bank), ledger.accountOf(platform)
    assert b.reserve == p.reserve == 0
    assert b.withdrawable > withdrawable_before[bank] and p.withdrawable > withdrawable_before[platform]
    conserve()


def test_recovery_after_write_off_is_split_and_reduces_recorded_losses(
    ledger, token, make_loan, borrower, servicer, stranger, bank, platform, chain, conserve
):
    loan_id, _rows, _k, _, _ = _default(ledger, make_loan, borrower, servicer, chain, reserve=0)
    ledger.writeOff(loan_id, sender=servicer)
    loss_before = {x: ledger.accountOf(x).loss for x in (bank, platform)}
    withdrawable_before = {x: ledger.accountOf(x).withdrawable for x in (bank, platform)}
    owed = ledger.getLoan(loan_id).owedAtDefault

    before = token.balanceOf(stranger)
    tx = ledger.recover(loan_id, 100_001, sender=stranger)
    assert token.balanceOf(stranger) == before - 100_001
    platform_credit = floor_share(100_001, 3000)
    bank_credit = floor_share(100_001, 7000)  # cumulative floor; the 1-unit remainder stays booked
    assert ledger.accountOf(platform).withdrawable == withdrawable_before[platform] + platform_credit
    assert ledger.accountOf(bank).withdrawable == withdrawable_before[bank] + bank_credit
    assert ledger.accountOf(platform).loss == loss_before[platform] - platform_credit
    assert ledger.accountOf(bank).loss == loss_before[bank] - bank_credit
    [event] = tx.events.filter(ledger.RecoveryApplied)
    assert (event.amount, event.recovered, event.outstandingPrincipal) == (100_001, 100_001, 0)
    conserve()

    with ape.reverts(ledger.Overpayment, loanId=loan_id, amount=owed, maxPayable=owed - 100_001):
        ledger.recover(loan_id, owed, sender=stranger)
    with ape.reverts(ledger.ZeroAmount):
        ledger.recover(loan_id, 0, sender=stranger)
    ledger.recover(loan_id, owed - 100_001, sender=stranger)  # everything owed: losses fully recovered
    assert ledger.accountOf(bank).loss == ledger.accountOf(platform).loss == 0
    # recoveries are final now: the lead gets their remainder, the total is split exactly
    platform_total = floor_share(owed, 3000)
    assert ledger.accountOf(platform).withdrawable == withdrawable_before[platform] + platform_total
    assert ledger.accountOf(bank).withdrawable == withdrawable_before[bank] + owed - platform_total
    assert ledger.positionOf(loan_id, bank).recoveredCredited == owed - platform_total
    conserve()
    recompute_audit_chain(ledger, ape.chain.provider.web3)


def test_recovery_while_defaulted_reduces_principal_then_write_off_loses_the_rest(
    ledger, make_loan, borrower, servicer, stranger, bank, platform, chain, conserve, originate
):
    loan_id, rows, k, _, _ = _default(ledger, make_loan, borrower, servicer, chain, reserve=0)
    outstanding = 1_000_000 - sum(r.principal for r in rows[:k])
    ledger.recover(loan_id, 250_000, sender=stranger)
    assert ledger.getLoan(loan_id).outstandingPrincipal == outstanding - 250_000
    conserve()
    tx = ledger.writeOff(loan_id, sender=servicer)
    loss = outstanding - 250_000
    assert tx.events.filter(ledger.LoanWrittenOff)[0].loss == loss
    assert ledger.accountOf(platform).loss == floor_share(loss, 3000)
    assert ledger.accountOf(bank).loss == loss - floor_share(loss, 3000)
    conserve()
    pending = originate()
    with ape.reverts(ledger.LoanNotInStatus, loanId=pending, status=1):
        ledger.recover(pending, 1, sender=stranger)
    with ape.reverts(ledger.LoanNotInStatus, loanId=pending, status=1):
        ledger.markDefault(pending, sender=servicer)
    active = make_loan()
    with ape.reverts(ledger.LoanNotInStatus, loanId=active, status=ACTIVE):
        ledger.writeOff(active, sender=servicer)
