"""The records of the bookkeeping layer: credit names (:class:`Component`), the :class:`Credit` a balance move is
logged as and the :class:`Journal` of them, an institution's :class:`Account`, a loan's :class:`LoanBook`."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, overload

from pylender.reference.values import LoanStatus
from pylender.schedule import split_cumulative
from pylender.values import BPS

_new = tuple.__new__  # builds a Credit from a sequence without the keyword-handling constructor frame
CREDIT_WIDTH: Final = 6  # fields of a Credit: slots per entry of Journal.flat


class Component:
    """Names of the credits :class:`Books` reports (``Credit.component``)."""

    FEE: Final = "fee"
    INCOME: Final = "income"  # lender income (net interest, penalty, prepayment fee) to withdrawable
    RESERVE: Final = "reserve"  # the reserve part of an income credit (withdrawable 0, reserve > 0)
    PRINCIPAL: Final = "principal"
    RECOVERY: Final = "recovery"
    LEFTOVER: Final = "leftover"  # a component's undistributed remainder, to the lead once the component is final
    RESERVE_RELEASE: Final = "reserve-release"  # reserve → withdrawable at closure
    ABSORBED: Final = "absorbed"  # reserve → withdrawable at write-off (the provision pays the lender back)
    # recorded unrecovered write-off loss (loss > 0); a recovery after write-off reduces it (loss < 0)
    LOSS: Final = "loss"
    REFUND: Final = "refund"  # a cancelled loan's funded tranche
    WITHDRAWAL: Final = "withdrawal"
    SALE: Final = "sale"  # the price of a position sold, to the seller's withdrawable


class Credit(NamedTuple):
    """A change of one institution's balances caused by one loan (or a withdrawal, loan_id None).

    A named tuple, built on access from the :class:`Journal`'s flat storage (no object per booked move)."""

    loan_id: int | None
    account: str
    component: str
    withdrawable: int = 0
    reserve: int = 0
    loss: int = 0


class Journal(Sequence[Credit]):
    """Every :class:`Credit` the books made, in order: ``len``, indexing, slicing (a list) and iteration give
    ``Credit`` tuples.

    Stored flat, the six fields of each credit one after the other in one list, so booking a credit allocates no
    object the garbage collector tracks (an audit replay books hundreds of thousands); items are built on access."""

    __slots__ = ("flat",)

    def __init__(self, credits: Iterable[Credit] = ()) -> None:
        self.flat: list[Any] = []  # loan_id, account, component, withdrawable, reserve, loss, loan_id, ...
        for credit in credits:
            self.append(credit)

    def append(self, credit: Credit) -> None:
        if len(credit) != CREDIT_WIDTH:
            raise TypeError(f"a journal entry is a Credit, got {credit!r}")
        self.flat += credit

    def __len__(self) -> int:
        return len(self.flat) // CREDIT_WIDTH

    @overload
    def __getitem__(self, index: int) -> Credit: ...

    @overload
    def __getitem__(self, index: slice) -> list[Credit]: ...

    def __getitem__(self, index: int | slice) -> Credit | list[Credit]:
        data = self.flat
        if isinstance(index, slice):
            w = CREDIT_WIDTH
            return [_new(Credit, data[i * w : (i + 1) * w]) for i in range(*index.indices(len(self)))]
        n = len(self)
        i = operator.index(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("journal index out of range")
        i *= CREDIT_WIDTH
        return _new(Credit, data[i : i + CREDIT_WIDTH])

    def __iter__(self) -> Iterator[Credit]:
        data = self.flat
        for i in range(0, len(data), CREDIT_WIDTH):
            yield _new(Credit, data[i : i + CREDIT_WIDTH])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Journal):
            return self.flat == other.flat
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Journal({list(self)!r})"


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
    is_pool: bool = False  # a loan pool (registerPool): the ledger counts its principal and recovery credits
    pool_principal: int = 0  # poolCollectionsOf: cumulative principal credits (pools only)
    pool_recovered: int = 0  # cumulative recovery credits (pools only)


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
    # once positions changed hands: per tranche [income, principal, recovery] offsets (docs/ledger-spec.md,
    # "Participations"); empty while the loan keeps its original shares
    offsets: list[list[int]] = field(default_factory=list)
    shares_at_write_off: list[int] | None = None  # the shares at the write-off, once a position moved after it

    @property
    def income(self) -> int:
        """Lender income I = interestPaid − feePaid + penaltyPaid + prepaymentFeePaid."""
        return self.interest_paid - self.fee_paid + self.penalty_paid + self.prepayment_fee_paid

    @property
    def ended(self) -> bool:
        """Closed or written off: exposures and reserves for the loan are released."""
        return self.status in (LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF, LoanStatus.RECOVERED)

    def totals(self) -> Totals:
        return Totals(self.income, self.principal_paid, self.recovered)

    def components(self) -> dict[str, int]:
        return {
            Component.INCOME: self.income,
            Component.PRINCIPAL: self.principal_paid,
            Component.RECOVERY: self.recovered,
        }

    def credits(self, component: str, total: int) -> list[int]:
        """Every tranche's cumulative credit on ``component`` standing at ``total``: floor(C × share_i / BPS), or
        floor((C × share_i + offset_i) / BPS) once positions changed hands."""
        if not self.offsets:
            return split_cumulative(total, self.shares)
        k = _OFFSET_OF[component]
        return [(total * share + off[k]) // BPS for share, off in zip(self.shares, self.offsets, strict=True)]

    def remainder(self, component: str) -> int:
        """C − Σ credit_i of one component (< number of tranches)."""
        total = self.components()[component]
        return total - sum(self.credits(component, total))

    def undistributed(self) -> int:
        """Σ remainders of the components not yet settled: held for the lead.

        ``remainder`` of each component, inlined: conservation sums this over every loan of an audit."""
        shares, settled, out = self.shares, self.settled, 0
        if self.offsets:
            return sum(
                self.remainder(c)
                for c in (Component.INCOME, Component.PRINCIPAL, Component.RECOVERY)
                if c not in settled
            )
        for component, total in (
            (Component.INCOME, self.income),
            (Component.PRINCIPAL, self.principal_paid),
            (Component.RECOVERY, self.recovered),
        ):
            if total and component not in settled:
                out += total - sum([total * share // BPS for share in shares])
        return out

    def reserve_held(self, t: int) -> int:
        """Tranche t's reserve for this loan: floor(income credit × reserveBps / BPS), the income credit being
        floor(I × share / BPS) (with its offset once positions changed hands)."""
        if self.offsets:
            return (self.income * self.shares[t] + self.offsets[t][0]) // BPS * self.reserve_bps // BPS
        return self.income * self.shares[t] // BPS * self.reserve_bps // BPS


_OFFSET_OF: Final = {Component.INCOME: 0, Component.PRINCIPAL: 1, Component.RECOVERY: 2}
