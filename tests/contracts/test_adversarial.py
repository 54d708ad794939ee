"""Rules an adversary could bend, each found by an adversarial review and fixed (docs/ledger-spec.md: "Roles",
"Credit risk", "Waterfall", "Prepayment", "Policy", "Institutions"): one regression test per finding."""

from __future__ import annotations

import ape
from conftest import ZERO, deploy_ledger, terms_tuple
from ledger_expect import (
    ACTIVE,
    DAY,
    PERIOD,
    Breakdown,
    check_conservation,
    floor_share,
    penalty_of,
    policy_tuple,
    recompute_audit_chain,
)

from pylender import schedule
from pylender.values import PAY_ALL_DUE, LoanStatus

RECOVERED = int(LoanStatus.RECOVERED)
DEFAULTED = int(LoanStatus.DEFAULTED)
GRACE = 3 * DAY
RATE = 1800


def _rows(ledger, loan_id):
    loan = ledger.getLoan(loan_id)
    return schedule.build_schedule(
        loan.principal, loan.annualRateBps, loan.periodSeconds, loan.periods, loan.method, start=loan.disbursedAt
    )


# ---------------------------------------------------------------- wrongful defaults and false late records


def test_a_zero_rate_interest_first_loan_cannot_be_defaulted_while_nothing_is_due(
    ledger, make_loan, servicer, stranger, borrower, chain, conserve
):
    """免息分期: 12 months at 0 %, all principal at maturity. Installments 1-11 owe nothing and are never overdue, so
    nobody can mark the loan defaulted before installment 12 is overdue - and paying at maturity is on time."""
    loan_id = make_loan(principal=12_000, annualRateBps=0, method=2, penaltyRateBps=RATE, gracePeriod=GRACE)
    rows = _rows(ledger, loan_id)
    assert [r.payment for r in rows] == [0] * 11 + [12_000]
    last_overdue = rows[11].due + GRACE
    chain.pending_timestamp = rows[3].due + 10 * DAY  # about four months in: three installments "past due"
    for who in (stranger, servicer):
        with ape.reverts(
            ledger.NotOverdueLongEnough,
            loanId=loan_id,
            overdueSince=last_overdue,
            defaultableAt=last_overdue + 90 * DAY + (30 * DAY if who == stranger else 0),
        ):
            ledger.markDefault(loan_id, sender=who)
    due = ledger.amountDue(loan_id)
    assert (due.totalDue, due.overdueInstallments, due.nextDueDate) == (0, 0, rows[11].due)
    chain.pending_timestamp = rows[11].due  # the borrower pays exactly at maturity
    tx = ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)
    b = Breakdown(tx.events.filter(ledger.RepaymentApplied)[0].breakdown)
    assert (b.amount, b.onTimeCompleted, b.lateCompleted, b.maxDaysLate, b.status) == (12_000, 12, 0, 0, 4)
    record = ledger.creditRecord(ledger.getLoan(loan_id).borrowerId)
    assert (record.onTimeInstallments, record.lateInstallments, record.maxDaysLate) == (12, 0, 0)
    conserve()


def test_zero_due_installments_of_an_equal_principal_loan_are_never_late(ledger, make_loan, borrower, chain, conserve):
    """0 % equal principal with principal < periods: floor(P / n) = 0, so installments 1..n-1 owe nothing."""
    loan_id = make_loan(principal=5, annualRateBps=0, method=1, periods=6, penaltyRateBps=RATE, gracePeriod=GRACE)
    rows = _rows(ledger, loan_id)
    assert [r.payment for r in rows] == [0, 0, 0, 0, 0, 5]
    chain.pending_timestamp = rows[5].due + GRACE  # the last day of grace of the only installment owing anything
    tx = ledger.repay(loan_id, 5, sender=borrower)
    b = Breakdown(tx.events.filter(ledger.RepaymentApplied)[0].breakdown)
    assert (b.onTimeCompleted, b.lateCompleted, b.penaltyPaid, b.status) == (6, 0, 0, 4)
    conserve()


def test_a_pause_never_refuses_a_payment_so_it_costs_the_borrower_nothing(
    ledger, make_loan, pauser, borrower, stranger, chain, conserve
):
    """A 126-day pause: the borrower pays during it (inflows stay open), and once unpaused nobody can mark the loan
    defaulted for time the ledger was paused."""
    loan_id = make_loan(penaltyRateBps=RATE, gracePeriod=GRACE)
    rows = _rows(ledger, loan_id)
    chain.pending_timestamp = rows[0].due - DAY
    ledger.pause(sender=pauser)
    chain.pending_timestamp = rows[0].due - DAY + 126 * DAY
    tx = ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)  # paused, and accepted
    b = Breakdown(tx.events.filter(ledger.RepaymentApplied)[0].breakdown)
    overdue = [r for r in rows if r.due + GRACE < tx.timestamp]
    assert b.amount == sum(r.payment for r in rows if r.due <= tx.timestamp) + penalty_of(
        *((r.payment, RATE, tx.timestamp - r.due) for r in overdue)
    )
    ledger.unpause(sender=pauser)
    due = ledger.amountDue(loan_id)
    assert (due.overdueInstallments, due.penalty) == (0, 0)
    with ape.reverts(ledger.NotOverdueLongEnough):
        ledger.markDefault(loan_id, sender=stranger)
    conserve()


def test_a_later_policy_does_not_reach_back_into_a_loans_default_timing(
    ledger, admin, make_loan, stranger, servicer, chain
):
    """setPolicy(defaultAfter = publicDefaultDelay = 0) once allowed a stranger to default an existing loan one second
    after grace. A loan keeps the timing it was originated under; new loans take the new policy."""
    old = make_loan(gracePeriod=GRACE)
    ledger.setPolicy(policy_tuple(defaultAfter=0, publicDefaultDelay=0), sender=admin)
    new = make_loan(gracePeriod=GRACE)
    old_rows, new_rows = _rows(ledger, old), _rows(ledger, new)
    assert (ledger.getLoan(old).defaultAfter, ledger.getLoan(new).defaultAfter) == (90 * DAY, 0)
    chain.pending_timestamp = max(old_rows[0].due, new_rows[0].due) + GRACE + 1
    since = old_rows[0].due + GRACE
    with ape.reverts(ledger.NotOverdueLongEnough, loanId=old, overdueSince=since, defaultableAt=since + 120 * DAY):
        ledger.markDefault(old, sender=stranger)
    ledger.markDefault(new, sender=stranger)
    assert ledger.getLoan(new).status == DEFAULTED
    assert ledger.getLoan(old).status == ACTIVE


# ------------------------------------------------------------ penalty third parties inflate or borrowers erase


def test_one_unit_pokes_do_not_add_penalty(ledger, make_loan, stranger, chain, conserve):
    """40 one-unit repayments a day apart once added a unit of penalty each (rounded up at every accrual). Accrued
    exactly and rounded once when paid, the poked loan owes exactly what it would owe untouched: the exact
    accrual on its overdue installments, rounded up once, less the 40 units paid."""
    poked = make_loan(penaltyRateBps=RATE, gracePeriod=GRACE)
    rows = _rows(ledger, poked)
    start = rows[0].due + GRACE + DAY
    for i in range(40):
        chain.pending_timestamp = start + i * DAY
        ledger.repay(poked, 1, sender=stranger)  # 1 unit: all of it penalty
    chain.pending_timestamp = start + 45 * DAY
    chain.mine(timestamp=start + 45 * DAY)
    assert ledger.getLoan(poked).penaltyPaid == 40
    now = start + 45 * DAY
    untouched = penalty_of(*((r.payment, RATE, now - r.due) for r in rows if r.due + GRACE < now))
    assert ledger.amountDue(poked).penalty + 40 == untouched
    conserve()


def test_a_payment_inside_grace_does_not_move_when_the_penalty_starts(ledger, make_loan, borrower, chain, conserve):
    """One unit paid a second before grace ended once restarted the penalty clock of the whole installment. The
    penalty runs from the due date on what is still unpaid, whatever was paid inside grace."""
    paid = make_loan(penaltyRateBps=RATE, gracePeriod=GRACE)
    rows = _rows(ledger, paid)
    chain.pending_timestamp = rows[0].due + GRACE - 1
    ledger.repay(paid, 1, sender=borrower)  # inside grace: to interest; the checkpoint moves here
    later = rows[0].due + 20 * DAY
    chain.pending_timestamp = later
    chain.mine(timestamp=later)
    # from the due date, not from the payment in grace, on what is still unpaid
    assert ledger.amountDue(paid).penalty == penalty_of((rows[0].payment - 1, RATE, 20 * DAY))
    conserve()


# --------------------------------------------------------------------------- terms the policy must refuse


def test_a_prepayment_cannot_defer_scheduled_principal(ledger, make_loan, borrower, chain):
    """prepay(id, 1) every period once gave "on time" installments while all principal moved to a balloon."""
    loan_id = make_loan()
    rows = _rows(ledger, loan_id)
    chain.pending_timestamp = rows[0].due - DAY
    with ape.reverts(ledger.PrepaymentBelowSchedule, loanId=loan_id, principalAmount=1, minimum=rows[0].principal):
        ledger.prepay(loan_id, 1, sender=borrower)
    with ape.reverts(ledger.PrepaymentBelowSchedule, loanId=loan_id, principalAmount=1, minimum=rows[0].principal):
        ledger.prepaymentQuote(loan_id, 1)
    ledger.prepay(loan_id, rows[0].principal, sender=borrower)  # the scheduled principal: accepted
    assert ledger.getLoan(loan_id).currentInstallment == 2


def test_the_rate_cap_holds_for_what_the_schedule_charges(ledger, originator, new_terms, bank, platform):
    """A nominal 0.01 % on a few base units charges a whole unit each period (interest rounds up): far above the
    24 % cap once annualised. The cap applies to what the schedule charges."""
    terms = new_terms(principal=10, annualRateBps=1, periods=12)
    rows = schedule.build_schedule(10, 1, PERIOD, 12, 0)
    interest = [r.interest for r in rows]
    assert all(i == 1 for i in interest)
    balances = [r.outstanding_after + r.principal for r in rows]
    effective = -(-sum(interest) * 10_000 * 31_536_000 // (PERIOD * sum(balances)))
    with ape.reverts(ledger.EffectiveRateAboveCap, effectiveRateBps=effective, capBps=2400):
        ledger.originate(terms_tuple(terms), [(bank, 7000), (platform, 3000)], sender=originator)


def test_period_length_and_tenor_are_bounded_by_the_policy(ledger, admin, originator, new_terms, bank, platform):
    tranches = [(bank, 7000), (platform, 3000)]
    with ape.reverts(ledger.PeriodSecondsOutOfRange, periodSeconds=60, minSeconds=DAY, maxSeconds=366 * DAY):
        ledger.originate(terms_tuple(new_terms(periodSeconds=60)), tranches, sender=originator)
    yearly = 365 * DAY
    with ape.reverts(ledger.TenorAboveCap, tenorSeconds=600 * yearly, capSeconds=30 * yearly):
        ledger.originate(terms_tuple(new_terms(periodSeconds=yearly, periods=600)), tranches, sender=originator)
    # a policy whose rate and tenor caps allow an annuity the fixed-point power cannot compute is refused
    with ape.reverts(ledger.RateTenorAboveLimit, maxAnnualRateBps=65_535, maxTenorSeconds=2**32 - 1):
        ledger.setPolicy(policy_tuple(maxAnnualRateBps=65_535, maxTenorSeconds=2**32 - 1), sender=admin)
    with ape.reverts(ledger.PeriodBoundsInvalid, minSeconds=2 * DAY, maxSeconds=DAY):
        ledger.setPolicy(policy_tuple(minPeriodSeconds=2 * DAY, maxPeriodSeconds=DAY), sender=admin)
    with ape.reverts(ledger.PeriodBoundsInvalid, minSeconds=0, maxSeconds=DAY):
        ledger.setPolicy(policy_tuple(minPeriodSeconds=0, maxPeriodSeconds=DAY), sender=admin)


def test_near_the_principal_cap_a_partial_prepayment_is_quoted_and_pulled_alike(
    ledger, admin, token, make_loan, bank, platform, borrower, chain, conserve
):
    """Near the principal cap a partial prepayment once reverted SafeCastOverflowedUintDowncast while its quote
    quoted it. Terms whose installment amount cannot be stored are refused at origination, a prepayment pays at
    least the scheduled principal (so its re-amortized amount stays the schedule's), and a re-amortization that
    still could not be stored is refused by the quote and the prepayment alike (InstallmentAboveLimit)."""
    limit = 2**96 - 1
    ledger.setPolicy(policy_tuple(maxPrincipal=limit, maxLenderExposure=2**128 - 1), sender=admin)
    for lender in (bank, platform):
        token.mint(lender, 2 * limit, sender=admin)
    token.mint(borrower, 2 * limit, sender=admin)
    principal = limit - 10**26
    loan_id = make_loan(principal=principal, periods=12, method=0, annualRateBps=2300)
    rows = _rows(ledger, loan_id)
    chain.pending_timestamp = rows[0].due - DAY
    amount = rows[0].principal + 10**20
    quote = ledger.prepaymentQuote(loan_id, amount)
    before = token.balanceOf(borrower)
    tx = ledger.prepay(loan_id, amount, sender=borrower)
    assert before - token.balanceOf(borrower) == quote
    reamortized = tx.events.filter(ledger.PrepaymentApplied)[0].installmentAmount
    left = principal - amount
    assert reamortized == schedule.installment_amount(0, left, 2300, PERIOD, 11) <= limit
    conserve()


# ------------------------------------------------------------------------------------ funds that can get stuck


def test_a_blacklisted_lender_withdraws_to_another_address_and_can_be_rotated(
    project, admin, originator, bank, platform, borrower, stranger, outsider, pauser, chain
):
    token = admin.deploy(project.BlacklistToken)
    ledger = deploy_ledger(admin, token, policy_tuple())
    ledger.grantRole(ledger.ORIGINATOR_ROLE(), originator, sender=admin)
    ledger.grantRole(ledger.PAUSER_ROLE(), pauser, sender=admin)
    ledger.registerInstitution(bank, "Bank", False, sender=admin)
    ledger.registerInstitution(platform, "Platform", True, sender=admin)
    for who in (bank, platform, borrower):
        token.mint(who, 10**12, sender=admin)
        token.approve(ledger, 2**256 - 1, sender=who)
    terms = {
        "borrower": borrower.address,
        "borrowerId": b"\x33" * 32,
        "principal": 1_000_000,
        "annualRateBps": 1200,
        "periods": 12,
        "periodSeconds": PERIOD,
        "method": 0,
        "gracePeriod": GRACE,
        "penaltyRateBps": RATE,
        "prepaymentFeeBps": 0,
        "serviceFeeBps": 0,
        "feeRecipient": ZERO,
        "reserveBps": 0,
        "fundingDeadline": chain.pending_timestamp + DAY,
    }
    ledger.originate(terms_tuple(terms), [(bank, 7000), (platform, 3000)], sender=originator)
    ledger.fund(1, sender=bank)
    ledger.fund(1, sender=platform)
    ledger.disburse(1, sender=originator)
    rows = _rows(ledger, 1)
    chain.pending_timestamp = rows[0].due
    ledger.repay(1, rows[0].payment, sender=borrower)
    credit = ledger.accountOf(bank).withdrawable
    assert credit == floor_share(rows[0].interest, 7000) + floor_share(rows[0].principal, 7000)
    token.blacklist(bank, sender=admin)
    with ape.reverts(token.Blacklisted, account=bank.address):
        ledger.withdraw(sender=bank)
    tx = ledger.withdrawTo(stranger, sender=bank)
    [event] = tx.events.filter(ledger.Withdrawn)
    assert (event.account, event.to, event.amount) == (bank.address, stranger.address, credit)
    assert token.balanceOf(stranger) == credit
    # the key is rotated, while paused: index, tranche credits and LENDER_ROLE follow the new address
    chain.pending_timestamp = rows[1].due
    ledger.repay(1, rows[1].payment, sender=borrower)
    ledger.pause(sender=pauser)
    tx = ledger.rotateInstitution(bank, outsider, sender=admin)
    [event] = tx.events.filter(ledger.InstitutionRotated)
    assert (event.index, getattr(event, "from"), event.to) == (1, bank.address, outsider.address)
    assert ledger.accountOf(bank).index == 0 and ledger.accountOf(outsider).index == 1
    assert not ledger.hasRole(ledger.LENDER_ROLE(), bank) and ledger.hasRole(ledger.LENDER_ROLE(), outsider)
    assert ledger.getTranches(1)[0].lender == outsider.address
    assert ledger.positionOf(1, outsider).principalCredited == floor_share(rows[0].principal + rows[1].principal, 7000)
    ledger.unpause(sender=pauser)
    ledger.withdraw(sender=outsider)
    check_conservation(ledger, token)
    recompute_audit_chain(ledger, ape.chain.provider.web3)


def test_a_defaulted_loan_recovered_in_full_ends_and_releases_exposure_and_reserve(
    ledger, make_loan, borrower, servicer, stranger, bank, platform, chain, conserve
):
    loan_id = make_loan(penaltyRateBps=RATE, gracePeriod=GRACE, reserveBps=1000)
    rows = _rows(ledger, loan_id)
    chain.pending_timestamp = rows[0].due
    ledger.repay(loan_id, rows[0].payment, sender=borrower)
    exposure_before = ledger.accountOf(bank).exposure
    chain.pending_timestamp = rows[1].due + GRACE + 90 * DAY
    ledger.markDefault(loan_id, sender=servicer)
    owed = ledger.getLoan(loan_id).owedAtDefault
    ledger.recover(loan_id, owed - 10, sender=stranger)
    assert ledger.getLoan(loan_id).status == DEFAULTED
    tx = ledger.recover(loan_id, 10, sender=stranger)
    [event] = tx.events.filter(ledger.RecoveryApplied)
    assert (event.recovered, event.outstandingPrincipal, event.status) == (owed, 0, RECOVERED)
    loan = ledger.getLoan(loan_id)
    assert (loan.status, loan.outstandingPrincipal) == (RECOVERED, 0)
    assert ledger.accountOf(bank).exposure == exposure_before - ledger.getTranches(loan_id)[0].amount
    assert ledger.accountOf(bank).reserve == ledger.accountOf(platform).reserve == 0
    assert ledger.positionOf(loan_id, bank).reserveHeld == 0
    with ape.reverts(ledger.LoanNotInStatus, loanId=loan_id, status=RECOVERED):
        ledger.recover(loan_id, 1, sender=stranger)
    with ape.reverts(ledger.LoanNotInStatus, loanId=loan_id, status=RECOVERED):
        ledger.writeOff(loan_id, sender=servicer)
    record = ledger.creditRecord(loan.borrowerId)
    assert record.defaulted == 1  # the borrower did default, though the lenders got everything back
    conserve()
    recompute_audit_chain(ledger, ape.chain.provider.web3)


def test_anyone_may_cancel_a_funded_loan_never_disbursed_after_its_disbursement_deadline(
    ledger, make_loan, stranger, bank, chain, conserve
):
    loan_id = make_loan(disburse=False)
    loan = ledger.getLoan(loan_id)
    assert loan.disburseBy == loan.fundingDeadline + 30 * DAY
    chain.pending_timestamp = loan.disburseBy
    with ape.reverts(ledger.CancelNotAllowed, loanId=loan_id, caller=stranger.address):
        ledger.cancel(loan_id, sender=stranger)
    before = ledger.accountOf(bank).withdrawable
    chain.pending_timestamp = loan.disburseBy + 1
    tx = ledger.cancel(loan_id, sender=stranger)
    assert tx.events.filter(ledger.LoanCancelled)[0].refunded == 1_000_000
    assert ledger.accountOf(bank).withdrawable == before + ledger.getTranches(loan_id)[0].amount
    conserve()


def test_roles_change_while_paused_and_are_recorded(ledger, admin, pauser, servicer, chain):
    """Revoking a compromised key is what an incident needs: role changes work while paused, each one a record."""
    ledger.pause(sender=pauser)
    head = ledger.auditHead()
    tx = ledger.revokeRole(ledger.SERVICER_ROLE(), servicer, sender=admin)
    [event] = tx.events.filter(ledger.AccessChanged)
    assert (event.account, event.granted) == (servicer.address, False)
    assert int(ledger.auditHead().hex(), 16) & (2**55 - 1) == (int(head.hex(), 16) & (2**55 - 1)) + 1
    ledger.grantRole(ledger.SERVICER_ROLE(), servicer, sender=admin)
    assert ledger.hasRole(ledger.SERVICER_ROLE(), servicer)
    ledger.unpause(sender=pauser)
