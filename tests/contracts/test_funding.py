"""Funding, cancellation and disbursement (docs/ledger-spec.md, "Funding, cancellation, disbursement")."""

from __future__ import annotations

import ape
from ledger_expect import ACTIVE, CANCELLED, DAY, FUNDED, ORIGINATED, PERIOD, policy_tuple

from pylender import schedule


def test_fund_pulls_the_exact_tranche_amount_and_the_last_funding_sets_funded(
    ledger, token, originate, bank, platform, conserve
):
    loan_id = originate(principal=1_000_001)  # 70/30: platform floor(300_000.3) = 300_000, bank the rest
    bank_before = token.balanceOf(bank)
    tx = ledger.fund(loan_id, sender=bank)

    assert token.balanceOf(bank) == bank_before - 700_001
    assert ledger.getLoan(loan_id).status == ORIGINATED
    [event] = tx.events.filter(ledger.TrancheFunded)
    assert (event.loanId, event.lender, event.amount, event.exposure, event.fullyFunded) == (
        loan_id,
        bank.address,
        700_001,
        700_001,
        False,
    )
    assert ledger.accountOf(bank).exposure == 700_001
    conserve()

    ledger.fund(loan_id, sender=platform)
    assert ledger.getLoan(loan_id).status == FUNDED
    assert token.balanceOf(ledger) == 1_000_001
    assert [t.funded for t in ledger.getTranches(loan_id)] == [True, True]
    conserve()


def test_fund_rejects_strangers_double_funding_wrong_status_and_late_funding(
    ledger, originate, bank, platform, third, outsider, chain
):
    loan_id = originate()
    with ape.reverts(ledger.NotATrancheLender, loanId=loan_id, caller=third.address):
        ledger.fund(loan_id, sender=third)
    with ape.reverts(ledger.AccessControlUnauthorizedAccount, account=outsider.address):
        ledger.fund(loan_id, sender=outsider)
    ledger.fund(loan_id, sender=bank)
    with ape.reverts(ledger.AlreadyFunded, loanId=loan_id, lender=bank.address):
        ledger.fund(loan_id, sender=bank)
    deadline = ledger.getLoan(loan_id).fundingDeadline
    chain.pending_timestamp = deadline + 1
    with ape.reverts(ledger.DeadlinePassed, loanId=loan_id, deadline=deadline):
        ledger.fund(loan_id, sender=platform)

    funded = originate()
    ledger.fund(funded, sender=bank)
    ledger.fund(funded, sender=platform)
    with ape.reverts(ledger.LoanNotInStatus, loanId=funded, status=FUNDED):
        ledger.fund(funded, sender=bank)


def test_fund_enforces_the_exposure_cap(ledger, admin, originate, bank, platform):
    ledger.setPolicy(policy_tuple(maxLenderExposure=1_000_000), sender=admin)
    first = originate(principal=1_000_000)
    ledger.fund(first, sender=bank)  # exposure 700_000
    second = originate(principal=500_000)
    with ape.reverts(ledger.ExposureAboveCap, lender=bank.address, exposure=1_050_000, cap=1_000_000):
        ledger.fund(second, sender=bank)
    ledger.fund(second, sender=platform)  # platform: 150_000
    assert ledger.accountOf(platform).exposure == 150_000


def test_originator_cancels_a_partly_funded_loan_and_lenders_withdraw_their_money(
    ledger, token, originate, originator, bank, conserve
):
    loan_id = originate()
    ledger.fund(loan_id, sender=bank)
    tx = ledger.cancel(loan_id, sender=originator)

    assert ledger.getLoan(loan_id).status == CANCELLED
    [event] = tx.events.filter(ledger.LoanCancelled)
    assert (event.loanId, event.by, event.refunded) == (loan_id, originator.address, 700_000)
    account = ledger.accountOf(bank)
    assert (account.withdrawable, account.exposure) == (700_000, 0)
    conserve()
    before = token.balanceOf(bank)
    ledger.withdraw(sender=bank)
    assert token.balanceOf(bank) == before + 700_000
    assert ledger.accountOf(bank).withdrawable == 0
    conserve()


def test_anyone_cancels_an_unfunded_loan_after_the_deadline_but_not_before(
    ledger, originate, stranger, bank, chain, conserve
):
    loan_id = originate()
    ledger.fund(loan_id, sender=bank)
    with ape.reverts(ledger.CancelNotAllowed, loanId=loan_id, caller=stranger.address):
        ledger.cancel(loan_id, sender=stranger)
    chain.pending_timestamp = ledger.getLoan(loan_id).fundingDeadline + 1
    ledger.cancel(loan_id, sender=stranger)
    assert ledger.getLoan(loan_id).status == CANCELLED
    assert ledger.accountOf(bank).withdrawable == 700_000
    conserve()


def test_nobody_but_the_originator_cancels_a_fully_funded_loan_and_nobody_an_active_one(
    ledger, make_loan, originator, stranger, chain
):
    funded = make_loan(disburse=False)
    chain.pending_timestamp = ledger.getLoan(funded).fundingDeadline + 1
    with ape.reverts(ledger.CancelNotAllowed, loanId=funded, caller=stranger.address):
        ledger.cancel(funded, sender=stranger)
    active = make_loan()
    with ape.reverts(ledger.LoanNotInStatus, loanId=active, status=ACTIVE):
        ledger.cancel(active, sender=originator)


def test_disburse_sends_the_principal_and_fixes_the_installment_amount(
    ledger, token, make_loan, originator, borrower, conserve
):
    loan_id = make_loan(disburse=False, principal=1_000_000, annualRateBps=1200, periods=12)
    before = token.balanceOf(borrower)
    tx = ledger.disburse(loan_id, sender=originator)

    a = schedule.installment_amount(0, 1_000_000, 1200, PERIOD, 12)
    loan = ledger.getLoan(loan_id)
    assert (loan.status, loan.installmentAmount, loan.currentInstallment, loan.outstandingPrincipal) == (
        ACTIVE,
        a,
        1,
        1_000_000,
    )
    assert loan.disbursedAt == tx.timestamp
    assert token.balanceOf(borrower) == before + 1_000_000
    [event] = tx.events.filter(ledger.LoanDisbursed)
    assert (event.principal, event.installmentAmount) == (1_000_000, a)
    rows = ledger.scheduleOf(loan_id)
    expected = schedule.build_schedule(1_000_000, 1200, PERIOD, 12, 0, start=tx.timestamp)
    assert [(r.dueDate, r.interest, r.principal) for r in rows] == [(e.due, e.interest, e.principal) for e in expected]
    conserve()


def test_disburse_needs_a_funded_loan_and_the_originator(ledger, originate, make_loan, originator, stranger, bank):
    loan_id = originate()
    with ape.reverts(ledger.LoanNotInStatus, loanId=loan_id, status=ORIGINATED):
        ledger.disburse(loan_id, sender=originator)
    funded = make_loan(disburse=False)
    with ape.reverts(ledger.AccessControlUnauthorizedAccount, account=stranger.address):
        ledger.disburse(funded, sender=stranger)


def test_schedule_before_disbursement_is_the_full_schedule_from_offset_zero(ledger, originate):
    loan_id = originate(principal=120_000, method=1, periods=12, annualRateBps=2300)
    rows = ledger.scheduleOf(loan_id)
    expected = schedule.build_schedule(120_000, 2300, PERIOD, 12, 1)
    assert [(r.index, r.dueDate, r.interest, r.principal) for r in rows] == [
        (e.index, e.due, e.interest, e.principal) for e in expected
    ]
    assert sum(r.principal for r in rows) == 120_000
    assert rows[0].dueDate == PERIOD and DAY > 0
