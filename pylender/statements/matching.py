"""Reconciliation (对账): an institution's own books matched against its statement, every break named.

Entries are matched within the same loan and component, in this order, each entry used once:

1. **matched**: the same date and amount;
2. **timing (T+1)**: the same amount, one day apart: the movement fell on one side of a cut-off and was booked
   on the other (one break, not a missing entry on each side);
3. **amount differs**: the same date, another amount (the closest is paired);
4. **date differs**: the same amount, dates further apart (the nearest is paired);
5. whatever is left is **missing from books** (on chain only) or **missing on chain** (in the books only).

The period is ``date_from`` .. ``date_to``. The day before and the day after it take part only in step 2, so a
movement of the period's last day that the books carry on the next day is a timing difference, not two breaks;
an entry of those days left unpaired belongs to the neighbouring period's reconciliation and is not a break here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from pylender.audit.findings import EXIT_FINDINGS, EXIT_NOT_PROVEN, EXIT_VERIFIED, Outcome
from pylender.statements.amounts import units_text
from pylender.statements.books import BooksEntry
from pylender.statements.components import COMPONENT_ORDER
from pylender.statements.statement import Balances, DailyStatement
from pylender.values import loan_ref


class BreakKind(StrEnum):
    """What a break is."""

    MISSING_ON_CHAIN = "missing on chain"
    MISSING_FROM_BOOKS = "missing from books"
    AMOUNT_DIFFERS = "amount differs"
    DATE_DIFFERS = "date differs"
    TIMING = "timing (T+1)"


class Break(BaseModel):
    """One difference between the books and the chain (amounts in base units; ``difference`` = books − chain)."""

    model_config = ConfigDict(frozen=True)

    kind: BreakKind
    loan_id: int | None
    loan_ref: str
    component: str
    chain_date: str | None = None
    books_date: str | None = None
    chain_amount: int | None = None
    books_amount: int | None = None
    difference: int = 0
    seq: int | None = None
    tx: str | None = None
    books_line: int | None = None
    detail: str = ""

    def describe(self, decimals: int | None) -> str:
        """The break in one line, amounts in token units."""
        loan = "no loan" if self.loan_id is None and not self.loan_ref else f"loan {self.loan_id or '?'}"
        if self.loan_ref:
            loan += f" ({self.loan_ref})"
        chain = (
            f"chain {self.chain_date} {units_text(self.chain_amount, decimals)} (seq {self.seq})"
            if self.chain_amount is not None
            else "chain: none"
        )
        books = (
            f"books {self.books_date} {units_text(self.books_amount, decimals)} (line {self.books_line})"
            if self.books_amount is not None
            else "books: none"
        )
        text = f"{self.kind.value}: {loan} {self.component}: {chain}; {books}"
        return f"{text}; {self.detail}" if self.detail else text

    def to_json(self, decimals: int | None) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for key in ("chain_amount", "books_amount", "difference"):
            value = data[key]
            data[key] = None if value is None else units_text(int(value), decimals)
        return data


@dataclass
class MatchedTotals:
    """One component over the period: what the chain and the books hold, and what matched (base units)."""

    component: str
    chain_count: int = 0
    chain_total: int = 0
    books_count: int = 0
    books_total: int = 0
    matched_count: int = 0
    matched_total: int = 0

    @property
    def difference(self) -> int:
        return self.books_total - self.chain_total


@dataclass
class Reconciliation:
    """The books of one institution against its statement over ``date_from`` .. ``date_to``."""

    statement: DailyStatement
    date_from: date
    date_to: date
    breaks: list[Break]
    totals: list[MatchedTotals]
    books_entries: int
    movements: int
    matched: int
    outside: int = 0
    """Books entries dated outside the period (and its neighbouring days), not reconciled here."""
    books: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def exit_code(self) -> int:
        """0 only with no break and a statement drawn from a verified trail; 1 for any break or finding; 3 for no
        break against a statement whose trail is not proven complete."""
        if self.breaks or self.statement.outcome is Outcome.FINDINGS:
            return EXIT_FINDINGS
        return EXIT_VERIFIED if self.statement.outcome is Outcome.VERIFIED else EXIT_NOT_PROVEN

    def _edges(self) -> tuple[tuple[int, Balances], tuple[int, Balances]]:
        """(cut-off block, balances) before the period and at its end."""
        days = self.statement.days
        first, last = self.date_from.isoformat(), self.date_to.isoformat()
        opening = (self.statement.opening_block, self.statement.opening)
        closing = opening
        for i, day in enumerate(days):
            if day.date == first:
                opening = (days[i - 1].cutoff_block if i else self.statement.opening_block, day.opening)
            if day.date <= last:
                closing = (day.cutoff_block, day.closing)
        return opening, closing

    @property
    def opening(self) -> Balances:
        """The balances at the cut-off before the period (the day before's closing)."""
        return self._edges()[0][1]

    @property
    def opening_block(self) -> int:
        return self._edges()[0][0]

    @property
    def closing(self) -> Balances:
        """The balances at the period's last cut-off."""
        return self._edges()[1][1]

    @property
    def closing_block(self) -> int:
        return self._edges()[1][0]

    @property
    def frame(self) -> Any:
        """The breaks as a pandas DataFrame (the ``[frames]`` extra)."""
        from pylender.statements.frames import breaks_frame

        return breaks_frame(self.breaks, self.statement.decimals)

    def counts(self) -> dict[str, int]:
        out = {kind.value: 0 for kind in BreakKind}
        for b in self.breaks:
            out[b.kind.value] += 1
        return out

    def to_json_dict(self) -> dict[str, Any]:
        s = self.statement
        d = s.decimals
        return {
            "reconciliation": {
                "institution": s.header()["institution"],
                "ledger": s.ledger,
                "chain_id": s.chain_id,
                "books": self.books,
                "from": self.date_from.isoformat(),
                "to": self.date_to.isoformat(),
                "timezone": s.zone,
                "amounts": s.header()["amounts"],
                "ok": self.ok,
                "exit_code": self.exit_code,
                "breaks": len(self.breaks),
                "by_kind": self.counts(),
                "books_entries": self.books_entries,
                "movements": self.movements,
                "matched": self.matched,
                "outside_period": self.outside,
                "statement_outcome": s.outcome.value,
                "statement_marker": s.marker,
                "opening_block": self.opening_block,
                "opening": s.balances(self.opening),
                "closing_block": self.closing_block,
                "closing": s.balances(self.closing),
                "notes": [*self.notes, *s.notes],
            },
            "totals": [
                {
                    "component": t.component,
                    "chain_count": t.chain_count,
                    "chain_total": units_text(t.chain_total, d),
                    "books_count": t.books_count,
                    "books_total": units_text(t.books_total, d),
                    "matched_count": t.matched_count,
                    "matched_total": units_text(t.matched_total, d),
                    "difference": units_text(t.difference, d),
                }
                for t in self.totals
            ],
            "breaks": [b.to_json(d) for b in self.breaks],
        }


# ------------------------------------------------------------------------------------------------ matching


class _Item(NamedTuple):
    day: date
    amount: int
    order: int  # seq (chain) or line (books)
    inside: bool  # dated within the period (else the day before or after it)
    ref: Any  # the chain's StatementRow or the books' BooksEntry


def _ref_key(text: str, by_ref: dict[bytes, int]) -> Any:
    try:
        raw = loan_ref(text)
    except ValueError:
        return ("ref", text)
    return by_ref.get(raw, ("ref", text))


def match_books(
    statement: DailyStatement, entries: Sequence[BooksEntry], date_from: date, date_to: date
) -> Reconciliation:
    """Match ``entries`` with the statement's movements over ``date_from`` .. ``date_to`` (the statement must
    cover the day before and the day after too, where the chain has them)."""
    before, after = date_from - timedelta(days=1), date_to + timedelta(days=1)
    by_ref = {loan_ref(text): loan_id for loan_id, text in statement.loans.items() if text}
    groups: dict[tuple[Any, str], tuple[list[_Item], list[_Item]]] = defaultdict(lambda: ([], []))
    totals = {name: MatchedTotals(name) for name in COMPONENT_ORDER}
    movements = 0
    for row in statement.rows:
        day = date.fromisoformat(row.date) if row.date else None
        if day is None or not before <= day <= after:
            continue
        inside = date_from <= day <= date_to
        if inside:
            movements += 1
            t = totals[row.component]
            t.chain_count += 1
            t.chain_total += row.amount
        groups[(row.loan_id, row.component)][0].append(_Item(day, row.amount, row.seq, inside, row))
    outside = counted = 0
    for entry in entries:
        if not before <= entry.date <= after:
            outside += 1
            continue
        inside = date_from <= entry.date <= date_to
        if inside:
            counted += 1
            t = totals[entry.component]
            t.books_count += 1
            t.books_total += entry.amount
        key: Any = (
            entry.loan_id
            if entry.loan_id is not None
            else (_ref_key(entry.loan_ref, by_ref) if entry.loan_ref else None)
        )
        groups[(key, entry.component)][1].append(_Item(entry.date, entry.amount, entry.line, inside, entry))
    breaks: list[Break] = []
    matched = 0
    for (key, component), (chain, books) in groups.items():
        pairs, found = _match_group(chain, books)
        for c, b in pairs:
            if c.inside and b.inside:
                matched += 1
                totals[component].matched_count += 1
                totals[component].matched_total += c.amount
        breaks += [_break(kind, key, component, c, b, statement) for kind, c, b in found]
    breaks.sort(key=_break_order)
    used = [t for t in totals.values() if t.chain_count or t.books_count]
    return Reconciliation(statement, date_from, date_to, breaks, used, counted, movements, matched, outside)


_Found = tuple[BreakKind, _Item | None, _Item | None]


def _match_group(chain: list[_Item], books: list[_Item]) -> tuple[list[tuple[_Item, _Item]], list[_Found]]:
    """Pair one loan's and component's chain movements with its books entries: (matched pairs, breaks)."""
    chain = sorted(chain, key=lambda i: (i.day, i.order))
    books = sorted(books, key=lambda i: (i.day, i.order))
    free_chain = list(chain)
    pairs: list[tuple[_Item, _Item]] = []
    found: list[_Found] = []
    left: list[_Item] = []
    for b in books:  # 1: the same date and amount
        c = next((c for c in free_chain if c.day == b.day and c.amount == b.amount), None)
        if c is None:
            left.append(b)
        else:
            free_chain.remove(c)
            pairs.append((c, b))

    def pair(
        rule: Callable[[_Item, _Item], bool], rank: Callable[[_Item, _Item], Any], kind: BreakKind, edge: bool
    ) -> None:
        nonlocal left
        rest: list[_Item] = []
        for b in left:
            candidates = [
                c for c in free_chain if rule(c, b) and (c.inside or b.inside) and (edge or (c.inside and b.inside))
            ]
            if not candidates:
                rest.append(b)
                continue
            c = min(candidates, key=lambda c: rank(c, b))
            free_chain.remove(c)
            found.append((kind, c, b))
        left = rest

    # 2: timing across a cut-off, the neighbouring days included
    pair(
        lambda c, b: c.amount == b.amount and abs((b.day - c.day).days) == 1,
        lambda c, b: (c.day, c.order),
        BreakKind.TIMING,
        True,
    )
    # 3: the same date, another amount
    pair(lambda c, b: c.day == b.day, lambda c, b: (abs(c.amount - b.amount), c.order), BreakKind.AMOUNT_DIFFERS, False)
    # 4: the same amount, another date
    pair(
        lambda c, b: c.amount == b.amount,
        lambda c, b: (abs((b.day - c.day).days), c.order),
        BreakKind.DATE_DIFFERS,
        False,
    )
    found += [(BreakKind.MISSING_FROM_BOOKS, c, None) for c in free_chain if c.inside]
    found += [(BreakKind.MISSING_ON_CHAIN, None, b) for b in left if b.inside]
    return pairs, found


def _break(
    kind: BreakKind, key: Any, component: str, c: _Item | None, b: _Item | None, statement: DailyStatement
) -> Break:
    row = c.ref if c is not None else None
    entry = b.ref if b is not None else None
    loan_id = row.loan_id if row is not None else (key if isinstance(key, int) else None)
    if row is not None:
        ref = row.loan_ref
    elif loan_id is not None:
        ref = statement.loans.get(loan_id, "")
    else:
        ref = entry.loan_ref if entry is not None else ""
    chain_amount = c.amount if c is not None else None
    books_amount = b.amount if b is not None else None
    detail = ""
    if kind is BreakKind.TIMING and c is not None and b is not None:
        later = b.day > c.day
        detail = f"booked one day {'after' if later else 'before'} the chain's cut-off day"
    elif kind is BreakKind.DATE_DIFFERS and c is not None and b is not None:
        detail = f"{abs((b.day - c.day).days)} days apart"
    elif kind is BreakKind.MISSING_ON_CHAIN and isinstance(key, tuple):
        detail = f"no loan of the ledger carries the reference {key[1]!r}"
    return Break(
        kind=kind,
        loan_id=loan_id,
        loan_ref=ref,
        component=component,
        chain_date=c.day.isoformat() if c is not None else None,
        books_date=b.day.isoformat() if b is not None else None,
        chain_amount=chain_amount,
        books_amount=books_amount,
        difference=(books_amount or 0) - (chain_amount or 0),
        seq=row.seq if row is not None else None,
        tx=row.tx if row is not None else None,
        books_line=entry.line if entry is not None else None,
        detail=detail,
    )


def _break_order(b: Break) -> tuple[Any, ...]:
    day = min(d for d in (b.chain_date, b.books_date) if d is not None)
    return (day, b.seq or 0, b.books_line or 0, COMPONENT_ORDER.get(b.component, 99))
