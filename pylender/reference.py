"""The pure-Python reference model of the co-lending ledger (docs/ledger-spec.md), in exact integers.

Two layers:

* :class:`Books` — bookkeeping only. Told what a payment paid per component (penalty, interest, principal,
  prepayment fee, recovery), it does the cumulative-floor split to the lenders, the service fee, the reserves,
  the closure leftovers and reserve release, write-off absorption, recoveries against loss, exposures, and keeps
  the ledger's token balance. The audit replay can drive it from decoded events alone.
* :class:`ReferenceLedger` — the simulator: policy, origination checks, funding, the schedule cursor, penalty
  accrual, the payment waterfall, prepayment, default, write-off, recovery, credit records. It decides what each
  payment pays and hands that to its :class:`Books`.

Every call the contract would reject raises a :class:`LedgerRevert` subclass named like the contract's custom
error, with the same arguments in the same order (``exc.error_args``), so differential tests can compare reverts.
Time is explicit: every time-dependent method takes ``now`` (the block timestamp).

Where the spec leaves a point open, the model follows the ledger contract's reading (noted as "Reading:"). One
exception, where the contract's reading misbehaves: remainders go to the lead when their component is final —
income and principal at closure or write-off, recovered at closure or once recoveries reach owedAtDefault. (Handing
the recovered remainder out at write-off and updating it on later recoveries can call for a negative credit:
50/25/25 shares, a 4-unit loss, recoveries of 3 then 1.) The loan closes as soon as no principal remains ("the last
principal is paid"), skipping installments with nothing due (rate 0, P = 5 over 4 periods: the 4th owes nothing).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from pylender.errors import PylenderError
from pylender.schedule import (
    BPS,
    DAY,
    RepaymentMethod,
    installment,
    installment_amount,
    penalty,
    split_cumulative,
    tranche_amounts,
)

log = logging.getLogger(__name__)

ZERO_ADDRESS = "0x" + "00" * 20
MAX_PERIODS = 600
MAX_TRANCHES = 16


# ------------------------------------------------------------------------------------------------------- errors


class LedgerRevert(PylenderError, ValueError):
    """A call the ledger contract would revert. ``error_args`` are the custom error's arguments, in order."""

    fields: tuple[str, ...] = ()

    def __init__(self, *args: Any) -> None:
        if len(args) != len(self.fields):
            raise TypeError(f"{type(self).__name__} takes {self.fields}, got {args!r}")
        super().__init__(*args)
        for name, value in zip(self.fields, args, strict=True):
            setattr(self, name, value)

    @property
    def error_args(self) -> tuple[Any, ...]:
        return tuple(self.args)

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in zip(self.fields, self.args, strict=True))
        return f"{type(self).__name__}({shown})"


def _revert(name: str, *fields: str) -> type[LedgerRevert]:
    return type(name, (LedgerRevert,), {"fields": fields, "__doc__": f"Mirrors the contract error `{name}`."})


ZeroAddress = _revert("ZeroAddress")
ZeroAmount = _revert("ZeroAmount")
InstitutionExists = _revert("InstitutionExists", "account")
UnknownInstitution = _revert("UnknownInstitution", "account")
RateAboveCap = _revert("RateAboveCap", "rate_bps", "cap_bps")
PenaltyRateAboveCap = _revert("PenaltyRateAboveCap", "rate_bps", "cap_bps")
PrincipalAboveCap = _revert("PrincipalAboveCap", "principal", "cap")
ReserveBelowMinimum = _revert("ReserveBelowMinimum", "reserve_bps", "min_bps")
ShareBelowMinimum = _revert("ShareBelowMinimum", "loan_id", "platform_share_bps", "min_bps")
ExposureAboveCap = _revert("ExposureAboveCap", "lender", "exposure", "cap")
InvalidTerms = _revert("InvalidTerms", "reason")
InvalidTrancheCount = _revert("InvalidTrancheCount", "count")
SharesNotWhole = _revert("SharesNotWhole", "sum")
DuplicateLender = _revert("DuplicateLender", "lender")
DeadlinePassed = _revert("DeadlinePassed", "loan_id", "deadline")
NotATrancheLender = _revert("NotATrancheLender", "loan_id", "caller")
AlreadyFunded = _revert("AlreadyFunded", "loan_id", "lender")
LoanNotInStatus = _revert("LoanNotInStatus", "loan_id", "status")
Overpayment = _revert("Overpayment", "loan_id", "amount", "max_payable")
LengthMismatch = _revert("LengthMismatch", "a", "b")
PrepaymentLeavesNoPeriod = _revert("PrepaymentLeavesNoPeriod", "loan_id")
NotOverdueLongEnough = _revert("NotOverdueLongEnough", "loan_id", "overdue_since", "defaultable_at")
CancelNotAllowed = _revert("CancelNotAllowed", "loan_id", "caller")
AccessControlUnauthorizedAccount = _revert("AccessControlUnauthorizedAccount", "account", "role")  # OpenZeppelin
EnforcedPause = _revert("EnforcedPause")  # OpenZeppelin Pausable
ExpectedPause = _revert("ExpectedPause")  # OpenZeppelin Pausable

#: InvalidTerms reason codes (as in ICoLendingLedger).
PERIODS_OUT_OF_RANGE, ZERO_PERIOD_SECONDS, FEE_RECIPIENT_MISMATCH, FEE_ABOVE_BPS, PREPAY_FEE_ABOVE_BPS = 1, 2, 3, 4, 5
RESERVE_ABOVE_BPS = 6


class BooksError(PylenderError, ValueError):
    """An event sequence the books cannot apply (unknown loan, double funding, overdraft): a broken log."""


class ConservationBroken(PylenderError, AssertionError):
    """The ledger's token balance differs from what the books say it holds."""


# ------------------------------------------------------------------------------------------------------- values


class LoanStatus(IntEnum):
    """``LoanStatus`` of the ledger."""

    NONE = 0
    ORIGINATED = 1
    FUNDED = 2
    ACTIVE = 3
    CLOSED = 4
    CANCELLED = 5
    DEFAULTED = 6
    WRITTEN_OFF = 7


@dataclass(frozen=True)
class Tranche:
    """One funder's slice: lender address and share in bps. The first tranche is the lead."""

    lender: str
    share_bps: int


@dataclass(frozen=True)
class LoanTerms:
    """``LoanTerms`` (snake_case). Unvalidated on purpose: the model raises the contract's errors itself."""

    borrower: str
    borrower_id: bytes | str
    principal: int
    annual_rate_bps: int
    periods: int
    period_seconds: int
    method: int = RepaymentMethod.EQUAL_INSTALLMENT
    grace_period: int = 0
    penalty_rate_bps: int = 0
    prepayment_fee_bps: int = 0
    service_fee_bps: int = 0
    fee_recipient: str = ZERO_ADDRESS
    reserve_bps: int = 0
    funding_deadline: int = 0


@dataclass(frozen=True)
class PolicyParams:
    """``PolicyParams``; the defaults are the deploy script's, for a token with ``decimals`` = 6."""

    min_platform_share_bps: int = 3000
    max_annual_rate_bps: int = 2400
    max_penalty_rate_bps: int = 3600
    min_reserve_bps: int = 0
    max_principal: int = 200_000 * 10**6
    max_lender_exposure: int = 10_000_000 * 10**6
    default_after: int = 90 * DAY
    public_default_delay: int = 30 * DAY


def _is_zero(address: str | None) -> bool:
    return not address or int(address, 16) == 0


# --------------------------------------------------------------------------------------------------------- books


class Component:
    """Names of the credits :class:`Books` reports (``Credit.component``)."""

    FEE = "fee"
    INCOME = "income"  # lender income (net interest, penalty, prepayment fee) to withdrawable
    RESERVE = "reserve"  # the reserve part of an income credit (withdrawable 0, reserve > 0)
    PRINCIPAL = "principal"
    RECOVERY = "recovery"
    LEFTOVER = "leftover"  # a component's undistributed remainder, to the lead once the component is final
    RESERVE_RELEASE = "reserve-release"  # reserve → withdrawable at closure
    ABSORBED = "absorbed"  # reserve → withdrawable at write-off (the provision pays the lender back)
    LOSS = "loss"  # recorded unrecovered write-off loss (loss > 0); a recovery after write-off reduces it (loss < 0)
    REFUND = "refund"  # a cancelled loan's funded tranche
    WITHDRAWAL = "withdrawal"


@dataclass(frozen=True)
class Credit:
    """A change of one institution's balances caused by one loan (or a withdrawal, loan_id None)."""

    loan_id: int | None
    account: str
    component: str
    withdrawable: int = 0
    reserve: int = 0
    loss: int = 0


@dataclass
class Account:
    """An institution's account."""

    index: int
    address: str
    name: str
    is_platform: bool
    withdrawable: int = 0
    reserve: int = 0
    loss: int = 0
    exposure: int = 0


@dataclass
class Totals:
    """A loan's cumulative split components."""

    income: int
    principal: int
    recovered: int


@dataclass
class LoanBook:
    """The bookkeeping state of one loan: tranches and cumulative components."""

    loan_id: int
    principal: int
    lenders: list[str]
    shares: list[int]
    amounts: list[int]
    service_fee_bps: int = 0
    fee_recipient: str | None = None
    reserve_bps: int = 0
    funded: list[bool] = field(default_factory=list)
    status: LoanStatus = LoanStatus.ORIGINATED
    interest_paid: int = 0
    fee_paid: int = 0
    penalty_paid: int = 0
    prepayment_fee_paid: int = 0
    principal_paid: int = 0
    recovered: int = 0
    owed_at_default: int = 0
    written_off: int = 0
    absorbed: int = 0
    settled: set[str] = field(default_factory=set)  # components whose remainder the lead has received

    @property
    def income(self) -> int:
        """Lender income I = interestPaid − feePaid + penaltyPaid + prepaymentFeePaid."""
        return self.interest_paid - self.fee_paid + self.penalty_paid + self.prepayment_fee_paid

    @property
    def ended(self) -> bool:
        """Closed or written off: exposures and reserves for the loan are released."""
        return self.status in (LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF)

    def totals(self) -> Totals:
        return Totals(self.income, self.principal_paid, self.recovered)

    def components(self) -> dict[str, int]:
        return {
            Component.INCOME: self.income,
            Component.PRINCIPAL: self.principal_paid,
            Component.RECOVERY: self.recovered,
        }

    def remainder(self, component: str) -> int:
        """C − Σ floor(C × share_i / BPS) of one component (< number of tranches)."""
        total = self.components()[component]
        return total - sum(split_cumulative(total, self.shares))

    def undistributed(self) -> int:
        """Σ remainders of the components not yet settled: held for the lead."""
        return sum(self.remainder(c) for c in self.components() if c not in self.settled)

    def reserve_held(self, t: int) -> int:
        """Tranche t's reserve for this loan: floor(floor(I × share / BPS) × reserveBps / BPS)."""
        return self.income * self.shares[t] // BPS * self.reserve_bps // BPS


class Books:
    """Accounts and per-loan cumulative totals; every token unit the ledger holds is accounted for here."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.loans: dict[int, LoanBook] = {}
        self.held = 0  # token balance of the ledger
        self.journal: list[Credit] = []

    # -- institutions and loans

    def register(self, address: str, name: str = "", is_platform: bool = False) -> int:
        """Open an institution's account; returns its index (from 1)."""
        if address in self.accounts:
            raise BooksError(f"institution {address} registered twice")
        index = len(self.accounts) + 1
        self.accounts[address] = Account(index, address, name, is_platform)
        return index

    def account(self, address: str) -> Account:
        try:
            return self.accounts[address]
        except KeyError:
            raise BooksError(f"unknown institution {address}") from None

    def loan(self, loan_id: int) -> LoanBook:
        try:
            return self.loans[loan_id]
        except KeyError:
            raise BooksError(f"unknown loan {loan_id}") from None

    def open_loan(
        self,
        loan_id: int,
        principal: int,
        tranches: Sequence[Tranche] | Sequence[tuple[str, int]],
        service_fee_bps: int = 0,
        fee_recipient: str | None = None,
        reserve_bps: int = 0,
    ) -> LoanBook:
        """Record an originated loan. Tranche amounts: floor(P × share / BPS), the lead takes the rest."""
        if loan_id in self.loans:
            raise BooksError(f"loan {loan_id} opened twice")
        pairs = [(t.lender, t.share_bps) if isinstance(t, Tranche) else (t[0], t[1]) for t in tranches]
        shares = [share for _, share in pairs]
        book = LoanBook(
            loan_id=loan_id,
            principal=principal,
            lenders=[lender for lender, _ in pairs],
            shares=shares,
            amounts=tranche_amounts(principal, shares),
            service_fee_bps=service_fee_bps,
            fee_recipient=None if _is_zero(fee_recipient) else fee_recipient,
            reserve_bps=reserve_bps,
            funded=[False] * len(pairs),
        )
        self.loans[loan_id] = book
        return book

    def fund(self, loan_id: int, lender: str) -> int:
        """The lender paid in its tranche: tokens in, exposure up. Returns the amount."""
        book = self.loan(loan_id)
        t = book.lenders.index(lender)
        if book.funded[t] or book.status != LoanStatus.ORIGINATED:
            raise BooksError(f"loan {loan_id}: tranche of {lender} cannot be funded now")
        book.funded[t] = True
        amount = book.amounts[t]
        self.account(lender).exposure += amount
        self.held += amount
        if all(book.funded):
            book.status = LoanStatus.FUNDED
        return amount

    def cancel(self, loan_id: int) -> int:
        """Every funded tranche back to its lender's withdrawable; exposures released. Returns the refund."""
        book = self.loan(loan_id)
        refunded = 0
        for t, lender in enumerate(book.lenders):
            if book.funded[t]:
                account = self.account(lender)
                account.withdrawable += book.amounts[t]
                account.exposure -= book.amounts[t]
                refunded += book.amounts[t]
                self._log(Credit(loan_id, lender, Component.REFUND, withdrawable=book.amounts[t]))
        book.status = LoanStatus.CANCELLED
        return refunded

    def disburse(self, loan_id: int) -> int:
        """The principal leaves the ledger for the borrower."""
        book = self.loan(loan_id)
        if book.status != LoanStatus.FUNDED:
            raise BooksError(f"loan {loan_id} disbursed while {book.status.name}")
        book.status = LoanStatus.ACTIVE
        self.held -= book.principal
        return book.principal

    # -- payments

    def apply_payment(
        self,
        loan_id: int,
        *,
        penalty: int = 0,
        interest: int = 0,
        principal: int = 0,
        prepayment_fee: int = 0,
        close: bool = False,
    ) -> int:
        """Book one repayment / prepayment by component; ``close`` when it paid the last principal.

        Returns the service fee it carved out of the interest (the increase of floor(interestPaid × fee / BPS)).
        """
        book = self.loan(loan_id)
        if book.status != LoanStatus.ACTIVE:
            raise BooksError(f"payment on loan {loan_id} while {book.status.name}")
        self.held += penalty + interest + principal + prepayment_fee
        before = book.totals()
        fee_before = book.fee_paid
        book.interest_paid += interest
        book.fee_paid = book.interest_paid * book.service_fee_bps // BPS
        book.penalty_paid += penalty
        book.prepayment_fee_paid += prepayment_fee
        book.principal_paid += principal
        fee = book.fee_paid - fee_before
        if fee:
            assert book.fee_recipient is not None  # serviceFeeBps > 0 iff a recipient (origination check)
            self.account(book.fee_recipient).withdrawable += fee
            self._log(Credit(loan_id, book.fee_recipient, Component.FEE, withdrawable=fee))
        self._distribute(book, before, book.totals())
        if close:
            book.status = LoanStatus.CLOSED
            self._end(book, loss=0)
        return fee

    def mark_default(self, loan_id: int, owed_at_default: int) -> None:
        """The loan defaulted owing ``owed_at_default``: recoveries may reach it, no more."""
        book = self.loan(loan_id)
        if book.status != LoanStatus.ACTIVE:
            raise BooksError(f"loan {loan_id} defaulted while {book.status.name}")
        book.status = LoanStatus.DEFAULTED
        book.owed_at_default = owed_at_default

    def write_off(self, loan_id: int, loss: int) -> int:
        """Write ``loss`` (the outstanding principal) off. Returns the part absorbed by the lenders' reserves.

        Rule: each lender's share L_i (floor, the lead takes the rest) is absorbed by its reserve balance (this
        loan's provision first, then its general reserve): absorbed_i = min(L_i, reserve_i), recorded loss
        L_i − absorbed_i. The loan has ended, so its provision R_i = floor(c_i × reserveBps / BPS) (capped at the
        reserve balance) is released too: reserve_i −= max(absorbed_i, min(R_i, reserve_i)), withdrawable_i += the
        same. Returns Σ absorbed_i.
        """
        book = self.loan(loan_id)
        if book.status != LoanStatus.DEFAULTED:
            raise BooksError(f"loan {loan_id} written off while {book.status.name}")
        book.status = LoanStatus.WRITTEN_OFF
        book.written_off = loss
        book.absorbed = self._end(book, loss)
        return book.absorbed

    def recover(self, loan_id: int, amount: int) -> None:
        """Book a recovery on a defaulted or written-off loan (split on cumulative ``recovered``). Once the loan is
        written off, every unit credited to a lender reduces its recorded loss (not below 0). When ``recovered``
        reaches ``owed_at_default`` the component is final and its remainder goes to the lead."""
        book = self.loan(loan_id)
        if book.status not in (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF):
            raise BooksError(f"recovery on loan {loan_id} while {book.status.name}")
        if book.recovered + amount > book.owed_at_default:
            raise BooksError(f"loan {loan_id}: recoveries above owedAtDefault {book.owed_at_default}")
        self.held += amount
        before = book.totals()
        book.recovered += amount
        self._distribute(book, before, book.totals())
        if book.recovered == book.owed_at_default:
            self._settle(book, [Component.RECOVERY])

    def withdraw(self, address: str) -> int:
        """The institution takes its whole withdrawable balance out. Returns it."""
        account = self.account(address)
        amount = account.withdrawable
        account.withdrawable = 0
        self.held -= amount
        self._log(Credit(None, address, Component.WITHDRAWAL, withdrawable=-amount))
        return amount

    # -- conservation

    def funded_not_disbursed(self) -> int:
        return sum(
            sum(a for a, f in zip(b.amounts, b.funded, strict=True) if f)
            for b in self.loans.values()
            if b.status in (LoanStatus.ORIGINATED, LoanStatus.FUNDED)
        )

    def undistributed(self) -> int:
        return sum(b.undistributed() for b in self.loans.values())

    def accounted(self) -> int:
        """Σ withdrawable + Σ reserve + funded-not-disbursed + undistributed remainders."""
        return (
            sum(a.withdrawable + a.reserve for a in self.accounts.values())
            + self.funded_not_disbursed()
            + self.undistributed()
        )

    def check_conservation(self, token_balance: int | None = None) -> None:
        """Raise ConservationBroken unless the held balance (or ``token_balance``) equals what is accounted for."""
        balance = self.held if token_balance is None else token_balance
        accounted = self.accounted()
        if balance != accounted:
            raise ConservationBroken(f"ledger holds {balance}, the books account for {accounted}")

    def position(self, loan_id: int, lender: str) -> dict[str, int]:
        """A lender's credits in a loan, as ``positionOf``: income, reserve held, principal, recovered."""
        book = self.loan(loan_id)
        t = book.lenders.index(lender)
        share = book.shares[t]
        income, principal, recovered = (c * share // BPS for c in (book.income, book.principal_paid, book.recovered))
        if t == 0:
            income += book.remainder(Component.INCOME) if Component.INCOME in book.settled else 0
            principal += book.remainder(Component.PRINCIPAL) if Component.PRINCIPAL in book.settled else 0
            recovered += book.remainder(Component.RECOVERY) if Component.RECOVERY in book.settled else 0
        return {
            "income_credited": income,
            "reserve_held": 0 if book.ended else book.reserve_held(t),
            "principal_credited": principal,
            "recovered_credited": recovered,
        }

    # -- internals

    def _log(self, credit: Credit) -> None:
        self.journal.append(credit)

    def _distribute(self, book: LoanBook, b: Totals, a: Totals) -> None:
        """Credit each lender the increase of its cumulative floor credits; the reserve part of the income credit
        goes to ``reserve``. Settled components never change, so the lead's remainders need no update here."""
        for t, lender in enumerate(book.lenders):
            share = book.shares[t]
            inc_b, inc_a = b.income * share // BPS, a.income * share // BPS
            reserve = inc_a * book.reserve_bps // BPS - inc_b * book.reserve_bps // BPS
            self._credit(
                book,
                lender,
                [
                    (Component.INCOME, inc_a - inc_b - reserve, 0),
                    (Component.RESERVE, 0, reserve),
                    (Component.PRINCIPAL, a.principal * share // BPS - b.principal * share // BPS, 0),
                    (Component.RECOVERY, a.recovered * share // BPS - b.recovered * share // BPS, 0),
                ],
            )

    def _credit(
        self, book: LoanBook, lender: str, moves: list[tuple[str, int, int]], reduces_loss: bool | None = None
    ) -> None:
        """Apply (component, withdrawable, reserve) moves to a lender. By default a credit on a written-off loan
        (a recovery) also reduces the lender's recorded loss, not below 0."""
        account = self.account(lender)
        credited = 0
        for component, withdrawable, held in moves:
            if withdrawable or held:
                account.withdrawable += withdrawable
                account.reserve += held
                credited += withdrawable
                self._log(Credit(book.loan_id, lender, component, withdrawable=withdrawable, reserve=held))
        if reduces_loss is None:
            reduces_loss = book.status == LoanStatus.WRITTEN_OFF
        if reduces_loss and credited and account.loss:
            reduced = min(account.loss, credited)
            account.loss -= reduced
            self._log(Credit(book.loan_id, lender, Component.LOSS, loss=-reduced))

    def _settle(self, book: LoanBook, components: list[str]) -> None:
        """The components can no longer grow: their remainders go to the lead's withdrawable."""
        for component in components:
            if component in book.settled:
                continue
            book.settled.add(component)
            leftover = book.remainder(component)
            if leftover:  # only recovered money reduces a loss, not the income / principal remainders
                reduces = component == Component.RECOVERY and book.status == LoanStatus.WRITTEN_OFF
                self._credit(book, book.lenders[0], [(Component.LEFTOVER, leftover, 0)], reduces_loss=reduces)

    def _end(self, book: LoanBook, loss: int) -> int:
        """End a loan (Closed: loss 0; WrittenOff: loss = outstanding principal). Returns the total absorbed."""
        loss_shares = [loss * s // BPS for s in book.shares[1:]]
        loss_shares.insert(0, loss - sum(loss_shares))
        absorbed_total = 0
        for t, lender in enumerate(book.lenders):
            account = self.account(lender)
            account.exposure -= book.amounts[t]
            # The loan's provision, capped at the balance: an earlier write-off may have drawn on it.
            held = min(book.reserve_held(t), account.reserve)
            absorbed = min(loss_shares[t], account.reserve) if loss else 0
            absorbed_total += absorbed
            excess = max(held - absorbed, 0)  # provision no longer needed: released to withdrawable
            if absorbed:
                account.reserve -= absorbed
                account.withdrawable += absorbed
                self._log(Credit(book.loan_id, lender, Component.ABSORBED, withdrawable=absorbed, reserve=-absorbed))
            if excess:
                account.reserve -= excess
                account.withdrawable += excess
                self._log(Credit(book.loan_id, lender, Component.RESERVE_RELEASE, withdrawable=excess, reserve=-excess))
            if loss_shares[t] > absorbed:
                account.loss += loss_shares[t] - absorbed
                self._log(Credit(book.loan_id, lender, Component.LOSS, loss=loss_shares[t] - absorbed))
        final = [Component.INCOME, Component.PRINCIPAL]
        if book.status == LoanStatus.CLOSED or book.recovered == book.owed_at_default:
            final.append(Component.RECOVERY)
        self._settle(book, final)
        return absorbed_total


# ----------------------------------------------------------------------------------------------------- simulator


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
class _Cursor:
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


@dataclass(frozen=True)
class RepaymentBreakdown:
    """What one repayment or prepayment did (the event's ``RepaymentBreakdown``)."""

    amount: int
    penalty_paid: int
    interest_paid: int
    fee_paid: int
    principal_paid: int
    installment: int
    outstanding: int
    status: LoanStatus
    on_time_completed: int
    late_completed: int
    days_late: int
    max_days_late: int
    penalty_accrued: int
    prepayment_fee: int = 0


@dataclass(frozen=True)
class Due:
    """What a loan owes at a time (``amountDue``)."""

    penalty: int
    interest: int
    principal: int
    total_due: int
    max_payable: int
    overdue_installments: int
    next_due_date: int


@dataclass(frozen=True)
class CreditRecord:
    """A borrower's credit record summed over its loans (``creditRecord``)."""

    loans_taken: int
    active: int
    closed: int
    defaulted: int
    on_time_installments: int
    late_installments: int
    max_days_late: int
    total_days_late: int
    amount_written_off: int


class ReferenceLedger:
    """The whole ledger in exact integers: the oracle the contract tests and the audit compare against."""

    def __init__(self, policy: PolicyParams | None = None) -> None:
        self.policy = policy or PolicyParams()
        self.books = Books()
        self.loans: dict[int, Loan] = {}
        self.loans_of: dict[Any, list[int]] = {}
        self.paused = False

    # -- admin

    def register_institution(self, account: str, name: str = "", is_platform: bool = False) -> int:
        self._not_paused()
        if _is_zero(account):
            raise ZeroAddress()
        if account in self.books.accounts:
            raise InstitutionExists(account)
        return self.books.register(account, name, is_platform)

    def set_policy(self, policy: PolicyParams) -> None:
        self._not_paused()
        self.policy = policy

    def pause(self) -> None:
        if self.paused:
            raise EnforcedPause()
        self.paused = True

    def unpause(self) -> None:
        if not self.paused:
            raise ExpectedPause()
        self.paused = False

    # -- origination, funding, cancellation, disbursement

    def originate(self, terms: LoanTerms, tranches: Sequence[Tranche], now: int) -> int:
        """Validate (in the contract's order) and record a loan; returns its id (from 1)."""
        self._not_paused()
        loan_id = len(self.loans) + 1
        self._check_terms(loan_id, terms, now)
        self._check_tranches(loan_id, tranches)
        self.loans[loan_id] = Loan(loan_id, terms, list(tranches))
        self.loans_of.setdefault(terms.borrower_id, []).append(loan_id)
        self.books.open_loan(
            loan_id, terms.principal, tranches, terms.service_fee_bps, terms.fee_recipient, terms.reserve_bps
        )
        return loan_id

    def fund(self, loan_id: int, lender: str, now: int) -> int:
        """The lender funds its tranche; returns the amount pulled."""
        if lender not in self.books.accounts:
            raise AccessControlUnauthorizedAccount(lender, "LENDER_ROLE")
        self._not_paused()
        loan = self._loan_in(loan_id, LoanStatus.ORIGINATED)
        if now > loan.terms.funding_deadline:
            raise DeadlinePassed(loan_id, loan.terms.funding_deadline)
        book = self.books.loan(loan_id)
        if lender not in book.lenders:
            raise NotATrancheLender(loan_id, lender)
        t = book.lenders.index(lender)
        if book.funded[t]:
            raise AlreadyFunded(loan_id, lender)
        exposure = self.books.accounts[lender].exposure + book.amounts[t]
        if exposure > self.policy.max_lender_exposure:
            raise ExposureAboveCap(lender, exposure, self.policy.max_lender_exposure)
        amount = self.books.fund(loan_id, lender)
        if book.status == LoanStatus.FUNDED:
            loan.status = LoanStatus.FUNDED
        return amount

    def cancel(self, loan_id: int, now: int, *, by_originator: bool = True, caller: str = ZERO_ADDRESS) -> int:
        """Cancel before disbursement; returns the amount refunded to lenders' withdrawable balances."""
        self._not_paused()
        loan = self._loan(loan_id)
        if loan.status not in (LoanStatus.ORIGINATED, LoanStatus.FUNDED):
            raise LoanNotInStatus(loan_id, loan.status)
        expired = loan.status == LoanStatus.ORIGINATED and now > loan.terms.funding_deadline
        if not expired and not by_originator:
            raise CancelNotAllowed(loan_id, caller)
        loan.status = LoanStatus.CANCELLED
        return self.books.cancel(loan_id)

    def disburse(self, loan_id: int, now: int) -> int:
        """Send the principal to the borrower; fixes A. Returns A."""
        self._not_paused()
        loan = self._loan_in(loan_id, LoanStatus.FUNDED)
        t = loan.terms
        loan.installment_amount = installment_amount(
            t.method, t.principal, t.annual_rate_bps, t.period_seconds, t.periods
        )
        loan.status = LoanStatus.ACTIVE
        loan.disbursed_at = now
        loan.current = 1
        loan.outstanding = t.principal
        loan.penalty_checkpoint = now
        self.books.disburse(loan_id)
        return loan.installment_amount

    # -- repayment

    def repay(self, loan_id: int, amount: int, now: int) -> RepaymentBreakdown:
        """Penalty first, then installments oldest first (interest, then principal): every installment due and the
        next one not yet due, no more (``Overpayment``)."""
        self._not_paused()
        return self._repay(loan_id, amount, now)

    def repay_batch(self, loan_ids: Sequence[int], amounts: Sequence[int], now: int) -> list[RepaymentBreakdown]:
        """Several repayments, all or nothing."""
        self._not_paused()
        if len(loan_ids) != len(amounts):
            raise LengthMismatch(len(loan_ids), len(amounts))
        if not loan_ids:
            raise ZeroAmount()
        saved = copy.deepcopy((self.books, self.loans))
        try:
            return [self._repay(i, a, now) for i, a in zip(loan_ids, amounts, strict=True)]
        except LedgerRevert:
            self.books, self.loans = saved
            raise

    def _repay(self, loan_id: int, amount: int, now: int) -> RepaymentBreakdown:
        if amount == 0:
            raise ZeroAmount()
        loan = self._loan_in(loan_id, LoanStatus.ACTIVE)
        c = self._load(loan, now)
        left = self._pay_installments(loan, c, self._pay_penalty(c, amount), only_due=False, now=now)
        if left:
            raise Overpayment(loan_id, amount, amount - left)
        return self._settle(loan, c, amount, now)

    def amount_due(self, loan_id: int, now: int) -> Due:
        """What the loan owes at ``now``: penalty, dues of installments already due, and the most ``repay`` takes."""
        loan = self._loan(loan_id)
        if loan.status != LoanStatus.ACTIVE:
            return Due(0, 0, 0, 0, 0, 0, 0)
        c = self._load(loan, now)
        pen = c.penalty
        self._pay_installments(loan, c, pen + 2**256, only_due=True, now=now)
        total_due = pen + c.interest_applied + c.principal_applied
        full = self._load(loan, now)
        self._pay_installments(loan, full, 2**256, only_due=False, now=now)
        overdue = sum(
            1 for k in range(loan.current, loan.terms.periods + 1) if now > loan.due_date(k) + loan.terms.grace_period
        )
        return Due(
            penalty=pen,
            interest=c.interest_applied,
            principal=c.principal_applied,
            total_due=total_due,
            max_payable=pen + full.interest_applied + full.principal_applied,
            overdue_installments=overdue,
            next_due_date=loan.due_date(loan.current) if loan.current <= loan.terms.periods else 0,
        )

    # -- prepayment

    def prepayment_quote(self, loan_id: int, principal_amount: int, now: int) -> int:
        """What ``prepay(loan_id, principal_amount)`` pulls at ``now``."""
        loan = self._loan_in(loan_id, LoanStatus.ACTIVE)
        return self._prepay_sim(loan, principal_amount, now)[1]

    def prepay(self, loan_id: int, principal_amount: int, now: int) -> RepaymentBreakdown:
        """Pay the penalty, everything due, the current installment's interest in full, ``principal_amount`` of
        principal and the prepayment fee; re-amortize what remains over the remaining periods."""
        self._not_paused()
        if principal_amount == 0:
            raise ZeroAmount()
        loan = self._loan_in(loan_id, LoanStatus.ACTIVE)
        c, total, fee, new_a = self._prepay_sim(loan, principal_amount, now)
        loan.installment_amount = new_a
        return self._settle(loan, c, total, now, prepayment_fee=fee)

    def _prepay_sim(self, loan: Loan, principal_amount: int, now: int) -> tuple[_Cursor, int, int, int]:
        t = loan.terms
        c = self._load(loan, now)
        self._pay_penalty(c, c.penalty)
        self._pay_installments(loan, c, 2**256, only_due=True, now=now)
        available = c.outstanding - c.pc if c.k <= t.periods else 0
        if principal_amount > available:
            raise Overpayment(loan.loan_id, principal_amount, available)
        interest_k, _ = loan.dues(c.k, c.outstanding)
        c.interest_applied += interest_k - c.ic  # 当期利息照收: the current installment's interest in full
        c.ic = interest_k
        c.pc += principal_amount
        c.principal_applied += principal_amount
        self._complete(loan, c, c.pc, now)  # the current installment is complete, its principal being what was paid
        new_a = loan.installment_amount
        if c.outstanding:
            remaining = t.periods - (c.k - 1)
            if remaining == 0:
                raise PrepaymentLeavesNoPeriod(loan.loan_id)
            new_a = installment_amount(t.method, c.outstanding, t.annual_rate_bps, t.period_seconds, remaining)
        fee = -(-principal_amount * t.prepayment_fee_bps // BPS)
        total = c.penalty_applied + c.interest_applied + c.principal_applied + fee
        return c, total, fee, new_a

    # -- default, write-off, recovery

    def mark_default(self, loan_id: int, now: int, *, by_servicer: bool = True) -> int:
        """Mark an overdue loan defaulted; returns owedAtDefault (principal + unpaid due interest + penalty)."""
        self._not_paused()
        loan = self._loan_in(loan_id, LoanStatus.ACTIVE)
        overdue_since = loan.due_date(loan.current) + loan.terms.grace_period
        defaultable_at = overdue_since + self.policy.default_after
        if not by_servicer:
            defaultable_at += self.policy.public_default_delay
        if now <= overdue_since or now < defaultable_at:
            raise NotOverdueLongEnough(loan_id, overdue_since, defaultable_at)
        c = self._load(loan, now)
        pen = c.penalty
        principal = c.outstanding - c.pc
        self._pay_installments(loan, c, 2**256, only_due=True, now=now)  # a dry run: the unpaid due interest
        loan.penalty_accrued = pen
        loan.penalty_checkpoint = now
        loan.outstanding = principal
        loan.owed_at_default = principal + c.interest_applied + pen
        loan.status = LoanStatus.DEFAULTED
        self.books.mark_default(loan_id, loan.owed_at_default)
        return loan.owed_at_default

    def write_off(self, loan_id: int) -> int:
        """Write a defaulted loan off; returns the loss absorbed by reserves."""
        self._not_paused()
        loan = self._loan_in(loan_id, LoanStatus.DEFAULTED)
        loss = loan.outstanding
        loan.status = LoanStatus.WRITTEN_OFF
        loan.written_off = loss
        loan.outstanding = 0
        return self.books.write_off(loan_id, loss)

    def recover(self, loan_id: int, amount: int) -> int:
        """A recovery on a defaulted or written-off loan; returns cumulative ``recovered``."""
        self._not_paused()
        if amount == 0:
            raise ZeroAmount()
        loan = self._loan(loan_id)
        if loan.status not in (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF):
            raise LoanNotInStatus(loan_id, loan.status)
        book = self.books.loan(loan_id)
        if book.recovered + amount > loan.owed_at_default:
            raise Overpayment(loan_id, amount, loan.owed_at_default - book.recovered)
        if loan.status == LoanStatus.DEFAULTED:
            loan.outstanding -= min(amount, loan.outstanding)
        self.books.recover(loan_id, amount)
        return book.recovered

    # -- institutions' money

    def withdraw(self, account: str) -> int:
        self._not_paused()
        if account not in self.books.accounts:
            raise UnknownInstitution(account)
        if self.books.accounts[account].withdrawable == 0:
            raise ZeroAmount()
        return self.books.withdraw(account)

    # -- views

    def credit_record(self, borrower_id: Any) -> CreditRecord:
        loans = [self.loans[i] for i in self.loans_of.get(borrower_id, [])]
        taken = [x for x in loans if x.status in _DISBURSED]
        return CreditRecord(
            loans_taken=len(taken),
            active=sum(x.status == LoanStatus.ACTIVE for x in loans),
            closed=sum(x.status == LoanStatus.CLOSED for x in loans),
            defaulted=sum(x.status in (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF) for x in loans),
            on_time_installments=sum(x.on_time for x in loans),
            late_installments=sum(x.late for x in loans),
            max_days_late=max((x.max_days_late for x in loans), default=0),
            total_days_late=sum(x.total_days_late for x in loans),
            amount_written_off=sum(x.written_off for x in loans),
        )

    def check_conservation(self, token_balance: int | None = None) -> None:
        self.books.check_conservation(token_balance)

    # -- internals

    def _not_paused(self) -> None:
        if self.paused:
            raise EnforcedPause()

    def _loan(self, loan_id: int) -> Loan:
        loan = self.loans.get(loan_id)
        if loan is None:
            raise LoanNotInStatus(loan_id, LoanStatus.NONE)
        return loan

    def _loan_in(self, loan_id: int, status: LoanStatus) -> Loan:
        loan = self._loan(loan_id)
        if loan.status != status:
            raise LoanNotInStatus(loan_id, loan.status)
        return loan

    def _check_terms(self, loan_id: int, t: LoanTerms, now: int) -> None:
        if _is_zero(t.borrower):
            raise ZeroAddress()
        if t.principal == 0:
            raise ZeroAmount()
        if not 1 <= t.periods <= MAX_PERIODS:
            raise InvalidTerms(PERIODS_OUT_OF_RANGE)
        if t.period_seconds == 0:
            raise InvalidTerms(ZERO_PERIOD_SECONDS)
        if (not _is_zero(t.fee_recipient)) != (t.service_fee_bps > 0):
            raise InvalidTerms(FEE_RECIPIENT_MISMATCH)
        if t.service_fee_bps > BPS:
            raise InvalidTerms(FEE_ABOVE_BPS)
        if t.prepayment_fee_bps > BPS:
            raise InvalidTerms(PREPAY_FEE_ABOVE_BPS)
        if t.reserve_bps > BPS:
            raise InvalidTerms(RESERVE_ABOVE_BPS)
        if t.funding_deadline <= now:
            raise DeadlinePassed(loan_id, t.funding_deadline)
        if not _is_zero(t.fee_recipient) and t.fee_recipient not in self.books.accounts:
            raise UnknownInstitution(t.fee_recipient)
        p = self.policy
        if t.annual_rate_bps > p.max_annual_rate_bps:
            raise RateAboveCap(t.annual_rate_bps, p.max_annual_rate_bps)
        if t.penalty_rate_bps > p.max_penalty_rate_bps:
            raise PenaltyRateAboveCap(t.penalty_rate_bps, p.max_penalty_rate_bps)
        if t.principal > p.max_principal:
            raise PrincipalAboveCap(t.principal, p.max_principal)
        if t.reserve_bps < p.min_reserve_bps:
            raise ReserveBelowMinimum(t.reserve_bps, p.min_reserve_bps)

    def _check_tranches(self, loan_id: int, tranches: Sequence[Tranche]) -> None:
        if not 1 <= len(tranches) <= MAX_TRANCHES:
            raise InvalidTrancheCount(len(tranches))
        seen: set[str] = set()
        platform_share = 0
        for tranche in tranches:
            account = self.books.accounts.get(tranche.lender)
            if account is None:
                raise UnknownInstitution(tranche.lender)
            if tranche.lender in seen:
                raise DuplicateLender(tranche.lender)
            seen.add(tranche.lender)
            if account.is_platform:
                platform_share += tranche.share_bps
        total = sum(t.share_bps for t in tranches)
        if any(t.share_bps == 0 for t in tranches) or total != BPS:
            raise SharesNotWhole(total)
        if len(tranches) > 1 and platform_share < self.policy.min_platform_share_bps:
            raise ShareBelowMinimum(loan_id, platform_share, self.policy.min_platform_share_bps)

    def _pending_penalty(self, loan: Loan, now: int) -> int:
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

    def _load(self, loan: Loan, now: int) -> _Cursor:
        return _Cursor(
            k=loan.current,
            outstanding=loan.outstanding,
            ic=loan.interest_paid_cur,
            pc=loan.principal_paid_cur,
            penalty=loan.penalty_accrued + self._pending_penalty(loan, now),
        )

    @staticmethod
    def _pay_penalty(c: _Cursor, budget: int) -> int:
        x = min(budget, c.penalty)
        c.penalty -= x
        c.penalty_applied += x
        return budget - x

    def _pay_installments(self, loan: Loan, c: _Cursor, budget: int, *, only_due: bool, now: int) -> int:
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
            self._complete(loan, c, p, now)
        return budget

    @staticmethod
    def _complete(loan: Loan, c: _Cursor, p: int, now: int) -> None:
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

    def _settle(self, loan: Loan, c: _Cursor, amount: int, now: int, prepayment_fee: int = 0) -> RepaymentBreakdown:
        loan.current = c.k
        loan.outstanding = c.outstanding
        loan.interest_paid_cur = c.ic
        loan.principal_paid_cur = c.pc
        loan.penalty_accrued = c.penalty
        loan.penalty_checkpoint = now
        loan.on_time += c.on_time
        loan.late += c.late
        loan.total_days_late += c.days_late
        loan.max_days_late = max(loan.max_days_late, c.max_days_late)
        closed = c.k > loan.terms.periods
        fee = self.books.apply_payment(
            loan.loan_id,
            penalty=c.penalty_applied,
            interest=c.interest_applied,
            principal=c.principal_applied,
            prepayment_fee=prepayment_fee,
            close=closed,
        )
        if closed:
            loan.status = LoanStatus.CLOSED
        return RepaymentBreakdown(
            amount=amount,
            penalty_paid=c.penalty_applied,
            interest_paid=c.interest_applied,
            fee_paid=fee,
            principal_paid=c.principal_applied,
            installment=c.k,
            outstanding=c.outstanding - c.pc,
            status=loan.status,
            on_time_completed=c.on_time,
            late_completed=c.late,
            days_late=c.days_late,
            max_days_late=c.max_days_late,
            penalty_accrued=c.penalty,
            prepayment_fee=prepayment_fee,
        )


_DISBURSED = (LoanStatus.ACTIVE, LoanStatus.CLOSED, LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF)
