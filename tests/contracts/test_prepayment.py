"""Prepayment (docs/ledger-spec.md, "Prepayment (提前还款)")."""

from __future__ import annotations

import ape
from ledger_expect import BPS, CLOSED, DAY, PERIOD, Breakdown, ceil_div, floor_share, recompute_audit_chain

from pylender import schedule


def _setup(ledger, make_loan, borrower, chain, **terms):
    loan_id = make_loan(**terms)
    loan = ledger.getLoan(loan_id)
    rows = schedule.build_schedule(
        loan.principal, loan.annualRateBps, PERIOD, loan.periods, loan.method, start=loan.disbursedAt
    )
    chain.pending_timestamp = rows[0].due
    ledger.repay(loan_id, rows[0].payment, sender=borrower)
    return loan_id, loan, rows


def test_partial_prepayment_charges_current_interest_fee_and_reamortizes(
    ledger, token, make_loan, borrower, bank, platform, chain, conserve
):
    loan_id, _loan, rows = _setup(ledger, make_loan, borrower, chain, principal=1_000_000, prepaymentFeeBps=100)
    chain.pending_timestamp = rows[0].due + 10 * DAY
    chain.mine(timestamp=rows[0].due + 10 * DAY)
    o2 = rows[0].outstanding_after
    interest2 = schedule.interest(o2, 1200, PERIOD)
    fee = ceil_div(300_000 * 100, BPS)
    expected = interest2 + 300_000 + fee
    assert ledger.prepaymentQuote(loan_id, 300_000) == expected
    before = token.balanceOf(borrower)
    tx = ledger.prepay(loan_id, 300_000, sender=borrower)

    assert token.balanceOf(borrower) == before - expected
    new_a = schedule.installment_amount(0, o2 - 300_000, 1200, PERIOD, 10)
    after = ledger.getLoan(loan_id)
    assert (after.currentInstallment, after.outstandingPrincipal, after.installmentAmount) == (3, o2 - 300_000, new_a)
    assert after.prepaymentFeePaid == fee
    [event] = tx.events.filter(ledger.PrepaymentApplied)
    b = Breakdown(event.breakdown)
    assert (event.principalPrepaid, event.prepaymentFee, event.installmentAmount) == (300_000, fee, new_a)
    assert (b.amount, b.interestPaid, b.principalPaid, b.onTimeCompleted) == (expected, interest2, 300_000, 1)
    interest = rows[0].interest + interest2
    principal = rows[0].principal + 300_000
    income = interest + fee  # the prepayment fee is lender income
    assert ledger.accountOf(platform).withdrawable == floor_share(income, 3000) + floor_share(principal, 3000)
    assert ledger.accountOf(bank).withdrawable == floor_share(income, 7000) + floor_share(principal, 7000)
    rest = ledger.scheduleOf(loan_id)
    assert len(rest) == 10 and sum(r.principal for r in rest) == o2 - 300_000
    conserve()


def test_prepayment_with_dues_outstanding_pays_them_first(ledger, make_loan, borrower, chain, conserve):
    loan_id, _loan, rows = _setup(ledger, make_loan, borrower, chain, principal=1_000_000, method=1, periods=6)
    chain.pending_timestamp = rows[1].due + DAY  # installment 2 due (inside grace), 3 is current
    chain.mine(timestamp=rows[1].due + DAY)
    o3 = rows[1].outstanding_after
    # prepaying accelerates: at least installment 3's scheduled principal (166,666) is paid in it
    with ape.reverts(
        ledger.PrepaymentBelowSchedule, loanId=loan_id, principalAmount=100_000, minimum=rows[2].principal
    ):
        ledger.prepaymentQuote(loan_id, 100_000)
    expected = rows[1].payment + schedule.interest(o3, 1200, PERIOD) + 200_000
    assert ledger.prepaymentQuote(loan_id, 200_000) == expected
    ledger.prepay(loan_id, 200_000, sender=borrower)
    after = ledger.getLoan(loan_id)
    # equal principal re-amortizes: A = floor(outstanding / remaining periods)
    assert (after.currentInstallment, after.outstandingPrincipal, after.installmentAmount) == (
        4,
        o3 - 200_000,
        (o3 - 200_000) // 3,
    )
    conserve()


def test_full_prepayment_closes_the_loan(ledger, make_loan, borrower, bank, platform, chain, conserve):
    loan_id, _loan, rows = _setup(ledger, make_loan, borrower, chain, principal=999_999, method=2)
    o2 = rows[0].outstanding_after
    ledger.prepay(loan_id, o2, sender=borrower)
    after = ledger.getLoan(loan_id)
    assert (after.status, after.outstandingPrincipal, after.principalPaid) == (CLOSED, 0, 999_999)
    total = after.interestPaid + 999_999
    assert ledger.accountOf(bank).withdrawable + ledger.accountOf(platform).withdrawable == total
    conserve()
    recompute_audit_chain(ledger, ape.chain.provider.web3)


def test_prepay_errors(ledger, make_loan, borrower, chain, originate):
    loan_id, _loan, rows = _setup(ledger, make_loan, borrower, chain, principal=100_000, periods=2, method=2)
    o2 = rows[0].outstanding_after
    with ape.reverts(ledger.ZeroAmount):
        ledger.prepay(loan_id, 0, sender=borrower)
    with ape.reverts(ledger.Overpayment, loanId=loan_id, amount=o2 + 1, maxPayable=o2):
        ledger.prepay(loan_id, o2 + 1, sender=borrower)
    with ape.reverts(ledger.PrepaymentBelowSchedule, loanId=loan_id, principalAmount=o2 - 1, minimum=o2):
        ledger.prepay(loan_id, o2 - 1, sender=borrower)  # installment 2 is the last: it owes all the principal
    with ape.reverts(ledger.Overpayment, loanId=loan_id, amount=o2 + 1, maxPayable=o2):
        ledger.prepaymentQuote(loan_id, o2 + 1)
    pending = originate()
    with ape.reverts(ledger.LoanNotInStatus, loanId=pending, status=1):
        ledger.prepay(pending, 1, sender=borrower)
