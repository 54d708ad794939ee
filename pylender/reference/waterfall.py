"""The schedule state of a loan and the payment waterfall over it: penalty accrual, installments oldest first
(interest, then principal), completion of an installment (credit record, next outstanding principal)."""

from __future__ import annotations

from dataclasses import dataclass

from pylender.reference.values import LoanStatus, LoanTerms, Tranche
from pylender.schedule import ceil_div, installment
from pylender.values import BPS, DAY, YEAR

#: Penalty accrues exactly in units of 1 / PENALTY_DENOMINATOR of a base unit and is rounded up once, when owed.
PENALTY_DENOMINATOR = BPS * YEAR


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
    penalty_exact: int = 0  # accrued unpaid penalty at the checkpoint, in 1 / PENALTY_DENOMINATOR units
    penalty_checkpoint: int = 0
    owed_at_default: int = 0
    written_off: int = 0
    on_time: int = 0
    late: int = 0
    max_days_late: int = 0
    total_days_late: int = 0
    default_after: int = 0  # the policy's at origination, fixed for the loan
    public_default_delay: int = 0
    disburse_by: int = 0  # funding deadline + the policy's disbursement window at origination

    @property
    def penalty_accrued(self) -> int:
        """The accrued unpaid penalty as owed: the exact accrual rounded up once."""
        return ceil_div(self.penalty_exact, PENALTY_DENOMINATOR)

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
    penalty_exact: int  # in 1 / PENALTY_DENOMINATOR units
    penalty_applied: int = 0
    interest_applied: int = 0
    principal_applied: int = 0
    on_time: int = 0
    late: int = 0
    days_late: int = 0
    max_days_late: int = 0


def pending_penalty(loan: Loan, now: int) -> int:
    """Penalty accrued since the checkpoint, exactly (in 1 / PENALTY_DENOMINATOR units): per overdue installment j
    still owing unpaid_j, unpaid_j × penaltyRate × (now − from_j), from_j being due_j if j was not yet overdue at
    the checkpoint (nothing accrued for it then), else the checkpoint."""
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
        start = loan.penalty_checkpoint if loan.penalty_checkpoint > due + t.grace_period else due
        if now > start:
            total += unpaid * t.penalty_rate_bps * (now - start)
        outstanding -= p
    return total


def load(loan: Loan, now: int) -> Cursor:
    return Cursor(
        k=loan.current,
        outstanding=loan.outstanding,
        ic=loan.interest_paid_cur,
        pc=loan.principal_paid_cur,
        penalty_exact=loan.penalty_exact + pending_penalty(loan, now),
    )


def penalty_due(c: Cursor) -> int:
    """The accrued penalty as owed: rounded up once (a due)."""
    return ceil_div(c.penalty_exact, PENALTY_DENOMINATOR)


def pay_penalty(c: Cursor, budget: int) -> int:
    """Apply up to ``budget`` to the penalty as owed; paid in full it is cleared, paid in part the exact remainder
    stays."""
    owed = penalty_due(c)
    if budget >= owed:
        c.penalty_exact = 0
        c.penalty_applied += owed
        return budget - owed
    c.penalty_exact -= budget * PENALTY_DENOMINATOR
    c.penalty_applied += budget
    return 0


def first_owing(loan: Loan, c: Cursor) -> tuple[int, int]:
    """The oldest installment from the cursor's that still owes something, and its due date ((periods + 1, 0) if
    none): installments owing nothing are never overdue."""
    t = loan.terms
    outstanding = c.outstanding
    for k in range(c.k, t.periods + 1):
        i, p = loan.dues(k, outstanding)
        owed = i + p - (c.ic + c.pc if k == c.k else 0)
        if owed:
            return k, loan.due_date(k)
        outstanding -= p
    return t.periods + 1, 0


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
        complete(loan, c, p, now, owed_nothing=i == 0 and p == 0)
    return budget


def complete(loan: Loan, c: Cursor, p: int, now: int, *, owed_nothing: bool = False) -> None:
    """Installment k is complete (its principal ``p`` paid): credit record, O_{k+1} = O_k − p. One that owed
    nothing (``owed_nothing``) is on time whenever it completes: it was never overdue.

    Closure follows the spec ("the last principal is paid"): once no principal remains, the installments left
    (all with zero dues) are skipped and k becomes periods + 1.
    """
    due = loan.due_date(c.k)
    if not owed_nothing and now > due + loan.terms.grace_period:
        days = (now - due) // DAY
        c.late += 1
        c.days_late += days
        c.max_days_late = max(c.max_days_late, days)
    else:
        c.on_time += 1
    c.outstanding -= p
    c.k = c.k + 1 if c.outstanding else loan.terms.periods + 1
    c.ic = c.pc = 0
