"""The schedule state of a loan and the payment waterfall over it: penalty accrual, installments oldest first
(interest, then principal), completion of an installment (credit record, next outstanding principal)."""

from __future__ import annotations

from dataclasses import dataclass

from pylender.reference.values import LoanStatus, LoanTerms, Tranche
from pylender.schedule import installment, penalty
from pylender.values import DAY


@dataclass
class Loan:
    """The schedule state of one loan (the contract's ``Loan`` without the cumulative totals, kept in Books)."""

    loan_id: int
    terms: LoanTerms
    tranches: list[Tranche]
    status: LoanStatus = LoanStatus.ORIGINATED
    disbursed_at: int = 0
    installment_amount: int = 0  # A
    current: int = 0  # k, 1-based once disbursed; periods + 1 once closed
    outstanding: int = 0  # O_k (after default: the outstanding principal)
    interest_paid_cur: int = 0
    principal_paid_cur: int = 0
    penalty_accrued: int = 0
    penalty_checkpoint: int = 0
    owed_at_default: int = 0
    written_off: int = 0
    on_time: int = 0
    late: int = 0
    max_days_late: int = 0
    total_days_late: int = 0

    def due_date(self, k: int) -> int:
        return self.disbursed_at + k * self.terms.period_seconds

    def dues(self, k: int, outstanding: int) -> tuple[int, int]:
        t = self.terms
        return installment(
            t.method, self.installment_amount, outstanding, t.annual_rate_bps, t.period_seconds, k == t.periods
        )

    @property
    def outstanding_principal(self) -> int:
        """Principal still owed now."""
        if self.status == LoanStatus.ACTIVE:
            return self.outstanding - self.principal_paid_cur
        return self.outstanding


@dataclass
class Cursor:
    """Working copy of the schedule position while a payment is applied (the contract's ``Cursor``)."""

    k: int
    outstanding: int
    ic: int
    pc: int
    penalty: int
    penalty_applied: int = 0
    interest_applied: int = 0
    principal_applied: int = 0
    on_time: int = 0
    late: int = 0
    days_late: int = 0
    max_days_late: int = 0


def pending_penalty(loan: Loan, now: int) -> int:
    """Penalty accrued since the checkpoint: per overdue unpaid installment j,
    ceil(unpaid_j × penaltyRate × (now − max(checkpoint, due_j)) / (BPS × YEAR))."""
    t = loan.terms
    if t.penalty_rate_bps == 0 or loan.status != LoanStatus.ACTIVE:
        return 0
    total = 0
    outstanding = loan.outstanding
    for j in range(loan.current, t.periods + 1):
        due = loan.due_date(j)
        if now <= due + t.grace_period:
            break
        i, p = loan.dues(j, outstanding)
        unpaid = i + p
        if j == loan.current:
            unpaid -= loan.interest_paid_cur + loan.principal_paid_cur
        start = max(loan.penalty_checkpoint, due)
        if now > start:
            total += penalty(unpaid, t.penalty_rate_bps, now - start)
        outstanding -= p
    return total


def load(loan: Loan, now: int) -> Cursor:
    return Cursor(
        k=loan.current,
        outstanding=loan.outstanding,
        ic=loan.interest_paid_cur,
        pc=loan.principal_paid_cur,
        penalty=loan.penalty_accrued + pending_penalty(loan, now),
    )


def pay_penalty(c: Cursor, budget: int) -> int:
    x = min(budget, c.penalty)
    c.penalty -= x
    c.penalty_applied += x
    return budget - x


def pay_installments(loan: Loan, c: Cursor, budget: int, *, only_due: bool, now: int) -> int:
    """Apply up to ``budget`` to installments oldest first; only those due, or also the next one not yet due."""
    n = loan.terms.periods
    k_start = c.k
    while c.k <= n:
        if only_due:
            if loan.due_date(c.k) > now:
                break
        elif c.k != k_start and loan.due_date(c.k - 1) > now:
            break  # installment k-1 is not due yet: k would be a second installment paid early
        i, p = loan.dues(c.k, c.outstanding)
        x = min(budget, i - c.ic)
        c.ic += x
        c.interest_applied += x
        budget -= x
        x = min(budget, p - c.pc)
        c.pc += x
        c.principal_applied += x
        budget -= x
        if c.ic != i or c.pc != p:
            break
        complete(loan, c, p, now)
    return budget


def complete(loan: Loan, c: Cursor, p: int, now: int) -> None:
    """Installment k is complete (its principal ``p`` paid): credit record, O_{k+1} = O_k − p.

    Closure follows the spec ("the last principal is paid"): once no principal remains, the installments left
    (all with zero dues) are skipped and k becomes periods + 1.
    """
    due = loan.due_date(c.k)
    if now > due + loan.terms.grace_period:
        days = (now - due) // DAY
        c.late += 1
        c.days_late += days
        c.max_days_late = max(c.max_days_late, days)
    else:
        c.on_time += 1
    c.outstanding -= p
    c.k = c.k + 1 if c.outstanding else loan.terms.periods + 1
    c.ic = c.pc = 0
