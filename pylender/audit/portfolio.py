"""The portfolio as a supervisor reads it, computed from the replayed books: exact, in base units.

Per institution and for the whole portfolio: funded, outstanding, what was collected by component,
reserves, losses and recoveries; loans by status; overdue loans in buckets of days past due. Amounts
stay integers in the token's base unit; :class:`Units` writes them in tokens, every decimal kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks, LoanState, Status
from pylender.values import BPS, DAY, DISBURSED_STATUSES

BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1-30 days", 1, 30),
    ("31-60 days", 31, 60),
    ("61-90 days", 61, 90),
    ("90+ days", 91, None),
)
OPEN = (Status.ACTIVE, Status.DEFAULTED)  # loans that still owe principal


@dataclass(frozen=True)
class Units:
    """How amounts are written: the token's symbol and decimals (base units when the decimals are unknown)."""

    decimals: int | None
    symbol: str | None

    @property
    def label(self) -> str:
        if self.decimals is None:
            return "base units"
        return self.symbol or "tokens"

    def fmt(self, amount: int) -> str:
        """``amount`` base units in tokens with every decimal (``1,027.000000``); base units if unknown."""
        if self.decimals is None:
            return f"{amount:,}"
        value = Decimal(amount).scaleb(-self.decimals)
        return f"{value:,.{self.decimals}f}"

    def value(self, amount: int) -> float:
        """For charts only (axes are drawn in floats); every table shows :meth:`fmt`."""
        return float(Decimal(amount).scaleb(-(self.decimals or 0)))


@dataclass
class PortfolioTotals:
    """One institution's figures (or the portfolio's), in base units."""

    name: str
    address: str = ""
    funded: int = 0  # principal lent in loans that were disbursed
    outstanding: int = 0  # principal still owed on active and defaulted loans (its pro-rata share)
    principal: int = 0  # principal collected
    income: int = 0  # interest net of the service fee, penalty and prepayment fees, reserve part included
    fees: int = 0  # service fees received
    recoveries: int = 0
    leftovers: int = 0  # split remainders received as lead lender
    reserve: int = 0  # held in reserve now
    written_off: int = 0  # principal written off (its share)
    loss: int = 0  # unrecovered loss now
    absorbed: int = 0  # write-off absorbed by its reserve

    @property
    def collected(self) -> int:
        return self.principal + self.income + self.fees + self.recoveries + self.leftovers


COLLECTED = {"principal": "principal", "income": "income", "reserve": "income", "fee": "fees"}
COLLECTED |= {"recovery": "recoveries", "leftover": "leftovers", "absorbed": "absorbed"}


def _split(amount: int, shares: Sequence[int]) -> list[int]:
    """``amount`` by shares, floor each, the lead (first) taking the remainder (as the ledger splits a loss)."""
    parts = [amount * s // BPS for s in shares]
    if parts:
        parts[0] += amount - sum(parts)
    return parts


def institution_totals(books: AuditBooks) -> list[PortfolioTotals]:
    """Every institution's figures, in registration order."""
    accounts = sorted(books.accounts.values(), key=lambda a: a.index)
    rows = {
        a.address: PortfolioTotals(a.name or a.address, a.address, reserve=a.reserve, loss=a.loss) for a in accounts
    }
    for loan in books.loans.values():
        book = loan.book
        if loan.status in DISBURSED_STATUSES:
            for lender, amount, funded in zip(book.lenders, book.amounts, book.funded, strict=True):
                if funded and lender in rows:
                    rows[lender].funded += amount
        if loan.status in OPEN:
            for lender, part in zip(book.lenders, _split(loan.outstanding, book.shares), strict=True):
                if lender in rows:
                    rows[lender].outstanding += part
        if book.written_off:
            for lender, part in zip(book.lenders, _split(book.written_off, book.shares), strict=True):
                if lender in rows:
                    rows[lender].written_off += part
    for flow in books.flows:
        target = COLLECTED.get(flow.component)
        row = rows.get(flow.account)
        if target is not None and row is not None:
            setattr(row, target, getattr(row, target) + flow.amount)
    return list(rows.values())


def portfolio_totals(books: AuditBooks) -> PortfolioTotals:
    """The whole portfolio: what borrowers paid by component (from the loans), reserves and losses now."""
    out = PortfolioTotals("portfolio")
    for loan in books.loans.values():
        book = loan.book
        if loan.status in DISBURSED_STATUSES:
            out.funded += book.principal
        if loan.status in OPEN:
            out.outstanding += loan.outstanding
        out.principal += book.principal_paid
        out.income += book.interest_paid - book.fee_paid + book.penalty_paid + book.prepayment_fee_paid
        out.fees += book.fee_paid
        out.recoveries += book.recovered
        out.written_off += book.written_off
        out.absorbed += book.absorbed
    out.reserve = sum(a.reserve for a in books.accounts.values())
    out.loss = sum(a.loss for a in books.accounts.values())
    return out


@dataclass(frozen=True)
class ComponentTotals:
    """What borrowers paid, by component of the waterfall, over the whole portfolio."""

    interest: int  # gross scheduled interest (the service fee included)
    service_fee: int
    penalty: int
    prepayment_fee: int
    principal: int
    recoveries: int


def components(books: AuditBooks) -> ComponentTotals:
    loans = list(books.loans.values())
    return ComponentTotals(
        interest=sum(x.book.interest_paid for x in loans),
        service_fee=sum(x.book.fee_paid for x in loans),
        penalty=sum(x.book.penalty_paid for x in loans),
        prepayment_fee=sum(x.book.prepayment_fee_paid for x in loans),
        principal=sum(x.book.principal_paid for x in loans),
        recoveries=sum(x.book.recovered for x in loans),
    )


@dataclass
class StatusLine:
    status: str
    loans: int = 0
    principal: int = 0
    outstanding: int = 0


def by_status(books: AuditBooks) -> list[StatusLine]:
    """Loans per status (every status, in the ledger's order), with principal and outstanding principal."""
    lines: dict[Status, StatusLine] = {
        s: StatusLine(s.name.replace("_", " ").lower()) for s in Status if s != Status.NONE
    }
    for loan in books.loans.values():
        line = lines[loan.status]
        line.loans += 1
        line.principal += loan.book.principal
        line.outstanding += loan.outstanding if loan.status in OPEN else 0
    return list(lines.values())


def disbursement_blocks(records: Sequence[Record]) -> dict[int, int]:
    """Each disbursed loan's disbursement block (its LoanDisbursed record)."""
    return {int(r.loan_id): r.block_number for r in records if r.kind == "LoanDisbursed" and r.loan_id is not None}


@dataclass(frozen=True)
class Overdue:
    """An active loan whose oldest unpaid installment is past due and grace (docs/ledger-spec.md, Overdue)."""

    loan_id: int
    installment: int
    due: int  # the installment's due date (unix seconds)
    days: int  # days past the due date at the report's time, a part day counting as a day
    outstanding: int


def overdue_loans(books: AuditBooks, disbursed_at: Mapping[int, int], as_of: int) -> list[Overdue]:
    """Active loans overdue at ``as_of``, most days past due first (``disbursed_at``: loan id -> unix time)."""
    out: list[Overdue] = []
    for loan in books.loans.values():
        due = _due(loan, disbursed_at)
        if due is None:
            continue
        grace = int(loan.terms.get("gracePeriod", 0))
        if as_of > due + grace:
            days = -(-(as_of - due) // DAY)
            out.append(Overdue(loan.loan_id, loan.installment, due, days, loan.outstanding))
    out.sort(key=lambda o: (-o.days, o.loan_id))
    return out


def _due(loan: LoanState, disbursed_at: Mapping[int, int]) -> int | None:
    if loan.status != Status.ACTIVE or loan.loan_id not in disbursed_at:
        return None
    periods = int(loan.terms["periods"])
    if not 1 <= loan.installment <= periods:
        return None
    return disbursed_at[loan.loan_id] + loan.installment * int(loan.terms["periodSeconds"])


@dataclass
class Bucket:
    label: str
    loans: int = 0
    outstanding: int = 0
    loan_ids: list[int] = field(default_factory=list)


def overdue_buckets(overdue: Sequence[Overdue]) -> list[Bucket]:
    """The overdue loans in buckets of days past due: 1-30, 31-60, 61-90, 90+ (every bucket, even empty)."""
    buckets = [Bucket(label) for label, _, _ in BUCKETS]
    for loan in overdue:
        for bucket, (_, low, high) in zip(buckets, BUCKETS, strict=True):
            if loan.days >= low and (high is None or loan.days <= high):
                bucket.loans += 1
                bucket.outstanding += loan.outstanding
                bucket.loan_ids.append(loan.loan_id)
                break
    return buckets
