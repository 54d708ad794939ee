"""Repayment, the waterfall, splits, service fee, reserve, batch repayment and withdrawal
(docs/ledger-spec.md, "Waterfall", "Splitting")."""

from __future__ import annotations

import logging
from fractions import Fraction

import ape
from ledger_expect import ACTIVE, BPS, CLOSED, Breakdown, floor_share, recompute_audit_chain

from pylender import schedule
from pylender.values import PAY_ALL_DUE

log = logging.getLogger(__name__)


def _rows(ledger, loan_id):
    loan = ledger.getLoan(loan_id)
    return loan, schedule.build_schedule(
        loan.principal, loan.annualRateBps, loan.periodSeconds, loan.periods, loan.method, start=loan.disbursedAt
    )


def test_repay_every_installment_on_time_splits_70_30_exactly(
    ledger, token, make_loan, borrower, bank, platform, chain, conserve
):
    loan_id = make_loan(principal=1_000_000)
    loan, rows = _rows(ledger, loan_id)
    interest = principal = 0
    for row in rows:
        chain.pending_timestamp = row.due
        chain.mine(timestamp=row.due)
        due = ledger.amountDue(loan_id)
        assert (due.interest, due.principal, due.totalDue, due.penalty) == (row.interest, row.principal, row.payment, 0)
        tx = ledger.repay(loan_id, row.payment, sender=borrower)
        interest += row.interest
        principal += row.principal
        [event] = tx.events.filter(ledger.RepaymentApplied)
        b = Breakdown(event.breakdown)
        assert (b.amount, b.interestPaid, b.principalPaid, b.penaltyPaid, b.feePaid) == (
            row.payment,
            row.interest,
            row.principal,
            0,
            0,
        )
        assert (b.installment, b.outstanding, b.onTimeCompleted, b.lateCompleted) == (
            row.index + 1,
            row.outstanding_after,
            1,
            0,
        )
        if row.index < 12:
            assert ledger.accountOf(bank).withdrawable == floor_share(interest, 7000) + floor_share(principal, 7000)
            assert ledger.accountOf(platform).withdrawable == floor_share(interest, 3000) + floor_share(principal, 3000)
        conserve()
    loan = ledger.getLoan(loan_id)
    assert (loan.status, loan.principalPaid, loan.interestPaid, loan.outstandingPrincipal) == (
        CLOSED,
        1_000_000,
        interest,
        0,
    )
    platform_total = floor_share(interest, 3000) + floor_share(1_000_000, 3000)
    assert ledger.accountOf(platform).withdrawable == platform_total
    assert ledger.accountOf(bank).withdrawable == interest + 1_000_000 - platform_total  # lead takes the leftovers
    assert ledger.accountOf(bank).exposure == ledger.accountOf(platform).exposure == 0
    before = token.balanceOf(bank)
    tx = ledger.withdraw(sender=bank)
    assert token.balanceOf(bank) == before + interest + 1_000_000 - platform_total
    [event] = tx.events.filter(ledger.Withdrawn)
    assert (event.account, event.amount) == (bank.address, interest + 1_000_000 - platform_total)
    conserve()
    assert token.balanceOf(ledger) == platform_total
    recompute_audit_chain(ledger, ape.chain.provider.web3)


def test_acceptance_three_lenders_stay_within_one_unit_and_add_up_exactly(
    ledger, make_loan, borrower, bank, platform, third, chain, conserve
):
    shares = [3333, 3333, 3334]
    lenders = [bank, platform, third]
    loan_id = make_loan(principal=1_000_001, tranches=list(zip(lenders, shares, strict=False)), periods=12)
    _loan, rows = _rows(ledger, loan_id)
    received = interest = principal = 0
    for row in rows:
        chain.pending_timestamp = row.due
        ledger.repay(loan_id, row.payment, sender=borrower)
        received += row.payment
        interest += row.interest
        principal += row.principal
        if row.index < 12:
            for lender, s in zip(lenders, shares, strict=False):
                position = ledger.positionOf(loan_id, lender)
                assert 0 <= Fraction(interest * s, BPS) - position.incomeCredited < 1
                assert 0 <= Fraction(principal * s, BPS) - position.principalCredited < 1
                assert ledger.accountOf(lender).withdrawable == position.incomeCredited + position.principalCredited
        conserve()
    assert ledger.getLoan(loan_id).status == CLOSED
    credited = [ledger.accountOf(x).withdrawable for x in lenders]
    assert sum(credited) == received == 1_000_001 + sum(r.interest for r in rows)
    # each non-lead lender holds exactly its floor on each component, the lead the rest
    interest = sum(r.interest for r in rows)
    for c, s in zip(credited[1:], shares[1:], strict=False):
        assert c == floor_share(interest, s) + floor_share(1_000_001, s)
    assert credited[0] == received - sum(credited[1:])


def test_service_fee_goes_to_the_recipient_and_reserve_is_held_then_released_at_closure(
    ledger, make_loan, borrower, bank, platform, chain, conserve
):
    loan_id = make_loan(
        principal=500_000,
        tranches=[(bank, 10_000)],
        serviceFeeBps=2000,
        feeRecipient=platform.address,
        reserveBps=1000,
        periods=6,
        method=1,
        annualRateBps=1800,
    )
    _loan, rows = _rows(ledger, loan_id)
    interest = principal = 0
    for row in rows:
        chain.pending_timestamp = row.due
        tx = ledger.repay(loan_id, row.payment, sender=borrower)
        fee_before = floor_share(interest, 2000)
        interest += row.interest
        principal += row.principal
        fee = floor_share(interest, 2000)
        income = interest - fee
        assert Breakdown(tx.events.filter(ledger.RepaymentApplied)[0].breakdown).feePaid == fee - fee_before
        assert ledger.accountOf(platform).withdrawable == fee
        bank_account = ledger.accountOf(bank)
        if row.index < 6:
            assert bank_account.reserve == floor_share(income, 1000)
            assert bank_account.withdrawable == income - floor_share(income, 1000) + principal
        conserve()
    bank_account = ledger.accountOf(bank)
    assert ledger.getLoan(loan_id).status == CLOSED
    assert (bank_account.reserve, bank_account.withdrawable) == (0, interest - floor_share(interest, 2000) + 500_000)


def test_partial_payments_are_carried_in_the_current_installment(ledger, make_loan, borrower, bank, chain, conserve):
    loan_id = make_loan(principal=1_000_000)
    loan, rows = _rows(ledger, loan_id)
    chain.pending_timestamp = rows[0].due
    ledger.repay(loan_id, rows[0].interest - 1, sender=borrower)  # interest first
    loan = ledger.getLoan(loan_id)
    assert (loan.currentInstallment, loan.interestPaidCur, loan.principalPaidCur) == (1, rows[0].interest - 1, 0)
    conserve()
    ledger.repay(loan_id, 11, sender=borrower)  # 1 unit of interest, then 10 of principal
    loan = ledger.getLoan(loan_id)
    assert (loan.interestPaidCur, loan.principalPaidCur, loan.outstandingPrincipal) == (
        rows[0].interest,
        10,
        1_000_000 - 10,
    )
    assert ledger.amountDue(loan_id).totalDue == rows[0].principal - 10
    conserve()
    ledger.repay(loan_id, rows[0].principal - 10, sender=borrower)
    loan = ledger.getLoan(loan_id)
    assert (loan.currentInstallment, loan.interestPaidCur, loan.principalPaidCur) == (2, 0, 0)
    assert ledger.accountOf(bank).withdrawable == floor_share(rows[0].interest, 7000) + floor_share(
        rows[0].principal, 7000
    )
    conserve()


def test_one_installment_at_a_time_may_be_paid_early(ledger, make_loan, borrower, conserve):
    loan_id = make_loan(principal=1_000_000)
    _loan, rows = _rows(ledger, loan_id)
    due = ledger.amountDue(loan_id)
    assert (due.totalDue, due.maxPayable) == (0, rows[0].payment)
    with ape.reverts(ledger.Overpayment, loanId=loan_id, amount=rows[0].payment + 1, maxPayable=rows[0].payment):
        ledger.repay(loan_id, rows[0].payment + 1, sender=borrower)
    ledger.repay(loan_id, rows[0].payment, sender=borrower)
    assert ledger.getLoan(loan_id).currentInstallment == 2
    # installment 2 is now the next one not yet due: it may be paid early too, but not together with 3
    too_much = rows[1].payment + 1
    with ape.reverts(ledger.Overpayment, loanId=loan_id, amount=too_much, maxPayable=rows[1].payment):
        ledger.repay(loan_id, too_much, sender=borrower)
    assert ledger.amountDue(loan_id).maxPayable == rows[1].payment
    conserve()


def test_repay_rejects_zero_and_loans_not_active(ledger, make_loan, originate, borrower):
    active = make_loan()
    with ape.reverts(ledger.ZeroAmount):
        ledger.repay(active, 0, sender=borrower)
    pending = originate()
    with ape.reverts(ledger.LoanNotInStatus, loanId=pending, status=1):
        ledger.repay(pending, 100, sender=borrower)
    with ape.reverts(ledger.LoanNotInStatus, loanId=99, status=0):
        ledger.repay(99, 100, sender=borrower)


def test_repay_batch_pulls_once_and_applies_each_loan(
    ledger, token, make_loan, servicer, bank, platform, chain, conserve
):
    first = make_loan(principal=1_000_000)
    second = make_loan(principal=600_000, method=2)
    _, rows1 = _rows(ledger, first)
    _, rows2 = _rows(ledger, second)
    chain.pending_timestamp = max(rows1[0].due, rows2[0].due)
    before = token.balanceOf(servicer)
    tx = ledger.repayBatch([first, second], [rows1[0].payment, rows2[0].payment], sender=servicer)

    assert token.balanceOf(servicer) == before - rows1[0].payment - rows2[0].payment
    events = tx.events.filter(ledger.RepaymentApplied)
    assert [(e.loanId, e.payer, Breakdown(e.breakdown).amount) for e in events] == [
        (first, servicer.address, rows1[0].payment),
        (second, servicer.address, rows2[0].payment),
    ]
    assert ledger.getLoan(first).currentInstallment == ledger.getLoan(second).currentInstallment == 2
    conserve()


def test_repay_batch_is_all_or_nothing_and_checks_lengths_and_role(ledger, token, make_loan, servicer, borrower, chain):
    first = make_loan()
    second = make_loan()
    _, rows = _rows(ledger, first)
    with ape.reverts(ledger.LengthMismatch, a=2, b=1):
        ledger.repayBatch([first, second], [1], sender=servicer)
    with ape.reverts(ledger.ZeroAmount):
        ledger.repayBatch([], [], sender=servicer)
    with ape.reverts(ledger.Overpayment, loanId=second):
        ledger.repayBatch([first, second], [rows[0].payment, 10**9], sender=servicer)
    assert ledger.getLoan(first).currentInstallment == 1 and ledger.getLoan(first).interestPaid == 0
    with ape.reverts(ledger.AccessControlUnauthorizedAccount, account=borrower.address):
        ledger.repayBatch([first], [1], sender=borrower)


def test_withdraw_rejects_unknown_accounts_and_empty_balances(ledger, outsider, bank, institutions):
    with ape.reverts(ledger.UnknownInstitution, account=outsider.address):
        ledger.withdraw(sender=outsider)
    with ape.reverts(ledger.ZeroAmount):
        ledger.withdraw(sender=bank)


def test_gas_of_repay_and_withdraw_is_reported(ledger, make_loan, borrower, bank, platform, third, servicer, chain):
    """Measures (does not assert) the gas of a steady-state repayment; the benchmark owns the ratios."""
    two = make_loan(principal=1_000_000)
    three = make_loan(principal=1_000_000, tranches=[(bank, 4000), (platform, 3000), (third, 3000)])
    _, rows = _rows(ledger, two)
    chain.pending_timestamp = rows[1].due
    for loan_id in (two, three):
        ledger.repay(loan_id, rows[0].payment, sender=borrower)  # first payment: zero-to-nonzero writes
    gas2 = ledger.repay(two, rows[1].payment, sender=borrower).gas_used
    gas3 = ledger.repay(three, rows[1].payment, sender=borrower).gas_used
    chain.pending_timestamp = rows[2].due
    batch = ledger.repayBatch([two, three], [rows[2].payment] * 2, sender=servicer).gas_used
    withdraw = ledger.withdraw(sender=platform).gas_used
    log.warning("gas: repay 2 lenders %d, 3 lenders %d, batch of 2 %d, withdraw %d", gas2, gas3, batch, withdraw)
    assert ledger.getLoan(two).status == ACTIVE


def test_simple_views_and_position_of_a_non_lender(ledger, token, make_loan, third, borrower, conserve):
    loan_id = make_loan()
    assert ledger.token() == token.address
    assert list(ledger.loansOf(b"\x11" * 32)) == [loan_id]
    with ape.reverts(ledger.NotATrancheLender, loanId=loan_id, caller=third.address):
        ledger.positionOf(loan_id, third)
    assert ledger.amountDue(99).maxPayable == 0  # no such loan: nothing due
    assert ledger.scheduleOf(99) == []
    conserve()


def test_pay_everything_due_now_pays_the_penalty_to_the_second_of_execution(
    ledger, make_loan, borrower, servicer, chain, conserve
):
    """repay(id, type(uint256).max) pays what amountDue says in the block that executes it - never an
    overpayment, never a unit short - however far the penalty moved since anyone read a view."""
    loan_id = make_loan(principal=1_000_000, penaltyRateBps=1800, gracePeriod=3 * 86_400)
    _, rows = _rows(ledger, loan_id)
    when = rows[1].due + 20 * 86_400  # two installments overdue, penalty accruing per second
    chain.mine(timestamp=when - 86_400)
    stale = ledger.amountDue(loan_id).totalDue  # a day earlier: less penalty than at execution
    chain.pending_timestamp = when
    tx = ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)
    assert tx.timestamp == when
    penalty = schedule.penalty(rows[0].payment, 1800, when - rows[0].due) + schedule.penalty(
        rows[1].payment, 1800, when - rows[1].due
    )
    b = Breakdown(tx.events.filter(ledger.RepaymentApplied)[0].breakdown)
    assert (b.amount, b.penaltyPaid, b.lateCompleted, b.penaltyAccrued) == (
        rows[0].payment + rows[1].payment + penalty,
        penalty,
        2,
        0,
    )
    assert b.amount > stale  # the amount read a day earlier would have left penalty unpaid
    due = ledger.amountDue(loan_id)
    assert (due.totalDue, due.overdueInstallments) == (0, 0)
    with ape.reverts(ledger.NothingDue, loanId=loan_id):
        ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)
    with ape.reverts(ledger.NothingDue, loanId=loan_id):
        ledger.repayBatch([loan_id], [PAY_ALL_DUE], sender=servicer)
    conserve()


def test_a_batch_pays_everything_due_per_loan_and_pulls_the_sum(
    ledger, token, make_loan, borrower, servicer, chain, conserve
):
    first = make_loan(principal=1_000_000)
    second = make_loan(principal=500_000)
    _, rows_first = _rows(ledger, first)
    _, rows_second = _rows(ledger, second)
    when = max(rows_first[0].due, rows_second[0].due)
    chain.pending_timestamp = when
    before = token.balanceOf(servicer)
    tx = ledger.repayBatch([first, second], [PAY_ALL_DUE, 1_000], sender=servicer)
    paid = [Breakdown(e.breakdown).amount for e in tx.events.filter(ledger.RepaymentApplied)]
    assert paid == [rows_first[0].payment, 1_000]
    assert before - token.balanceOf(servicer) == rows_first[0].payment + 1_000
    assert ledger.getLoan(first).currentInstallment == 2
    conserve()
