"""Every movement to or from one institution, read off the replay of the audit trail.

The replay (:mod:`pylender.audit.replay`, :class:`pylender.reference.Books`) books each credit in its journal;
this module turns the institution's credits into the statement's components (:mod:`.components`) and adds what
moves its balances without a credit: the tranches it funds (exposure up) and the exposure a loan releases when
it ends (closed, written off, recovered in full). The institution is followed by its index, across
``InstitutionRotated`` records that move it to a new address.

Rules of attribution, so that a bank can recompute every figure:

- **Income by part.** The ledger credits lender income (net interest, penalty, prepayment fee) as one
  cumulative floor, ``floor(I × share / BPS)``. A credit is split into the parts the payment paid, in the
  waterfall's order (penalty, then interest net of the service fee, then prepayment fee), by the same floor
  taken part by part: part ``k`` gets ``floor((I₀ + Δ₁ + … + Δₖ) × share / BPS) − floor((I₀ + Δ₁ + … + Δₖ₋₁) ×
  share / BPS)``, with ``I₀`` the loan's lender income before the payment. The parts are never negative and
  add up to the credit exactly.
- **Reserve.** The reserve part of an income credit is a ``reserve provision`` (withdrawable to reserve) beside
  the income parts, which are stated in full.
- **Remainders.** The lead lender's split remainder of a component (fewer units than tranches), paid when the
  component is final, is stated under that component: principal's as ``principal``, recoveries' as
  ``recovery``, lender income's as ``interest``.
- **Write-off.** The part a reserve absorbs is a ``reserve release``; the rest is ``loss``.
- **Positions that change hands** (``PositionTransferred``). The seller states the price as ``sale``
  (withdrawable), the buyer as ``purchase`` (paid from its wallet: no ledger balance moves). Each holder's
  exposure changes by its tranche amount's change (``floor(P × share / BPS)``, the lead the rest): ``exposure
  out`` for the seller, ``exposure in`` for the buyer, and a rounding unit for the lead when neither is it
  (nothing on a written-off loan, whose exposure was released). From the transfer on, a holder's income credit
  carries its offset (docs/ledger-spec.md, "Participations"), and its parts are split with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import tzinfo
from typing import Any, NamedTuple

from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks, Status
from pylender.reference.records import CREDIT_WIDTH, Component
from pylender.schedule import tranche_amounts
from pylender.statements.cutoff import local_time
from pylender.values import BPS, loan_ref_text

_CLOSED, _RECOVERED = int(Status.CLOSED), int(Status.RECOVERED)
# journal component -> statement component, for the credits that map one to one
_DIRECT = {
    Component.FEE: "service fee",
    Component.PRINCIPAL: "principal",
    Component.RECOVERY: "recovery",
    Component.RESERVE_RELEASE: "reserve release",
    Component.ABSORBED: "reserve release",
    Component.REFUND: "refund",
}
# A movement is built with tuple.__new__, not its class call: a statement over 100,000 records builds about
# 200,000 of them, and NamedTuple's Python-level __new__ costs three times as much.
_new = tuple.__new__
_REMAINDER_AS = {Component.INCOME: "interest", Component.PRINCIPAL: "principal", Component.RECOVERY: "recovery"}


class Movement(NamedTuple):
    """One movement of the institution's balances: the record that made it, the loan, component and amount
    (base units, positive in the component's direction; ``loss`` is negative when a recovery reduces it)."""

    seq: int
    block: int
    tx: str
    log_index: int
    loan_id: int | None
    component: str
    amount: int
    record: str


class StatementRow(NamedTuple):
    """One movement as the statement lists it (``amount`` in base units)."""

    loan_id: int | None
    loan_ref: str
    date: str
    time: str
    block: int
    tx: str
    seq: int
    component: str
    amount: int
    log_index: int
    record: str


@dataclass(frozen=True)
class Institution:
    """An institution as the trail names it: index, name, platform flag, and its addresses with the block from
    which each holds (registration first, then each rotation)."""

    index: int
    name: str
    is_platform: bool
    history: tuple[tuple[int, str], ...]

    @property
    def address(self) -> str:
        """Its address now."""
        return self.history[-1][1]

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(a for _, a in self.history)

    @property
    def registered_block(self) -> int:
        return self.history[0][0]

    def address_at(self, block: int) -> str | None:
        """Its address at the end of ``block`` (None before its registration)."""
        found = None
        for since, address in self.history:
            if since > block:
                break
            found = address
        return found


class _Tranche(NamedTuple):
    position: int  # 0: the lead
    share: int
    amount: int
    offset: int = 0  # the holder's income offset once positions of the loan changed hands


def institutions(records: Sequence[Record]) -> dict[int, Institution]:
    """Every institution the trail registers, by index, with its addresses across rotations."""
    out: dict[int, Institution] = {}
    for r in records:
        if r.kind == "InstitutionRegistered":
            f = r.fields
            index = int(f["index"])
            out[index] = Institution(index, str(f["name"]), bool(f["isPlatform"]), ((r.block_number, f["account"]),))
        elif r.kind == "InstitutionRotated":
            index = int(r.fields["index"])
            if index in out:
                moved = (*out[index].history, (r.block_number, r.fields["to"]))
                out[index] = replace(out[index], history=moved)
    return out


def loan_refs(books: AuditBooks) -> dict[int, str]:
    """Each loan's reference as people read it (its text, or 0x-hex when hashed; empty when it has none)."""
    out: dict[int, str] = {}
    for loan_id, loan in books.loans.items():
        raw = loan.terms.get("loanRef")
        out[loan_id] = loan_ref_text(bytes.fromhex(str(raw)[2:])) if raw else ""
    return out


def _remainders(books: AuditBooks, loan_id: int) -> list[tuple[str, int]]:
    """The lead's remainders of a loan in the order the books paid them (income, principal, recovery; only
    those settled and not zero): the k-th ``leftover`` credit of the loan is the k-th of these."""
    book = books.books.loans[loan_id]
    out = []
    for component in (Component.INCOME, Component.PRINCIPAL, Component.RECOVERY):
        if component in book.settled:
            left = book.remainder(component)
            if left:
                out.append((_REMAINDER_AS[component], left))
    return out


def _addresses_of(records: Sequence[Record], index: int) -> set[str]:
    """Every address institution ``index`` has had in the trail (registration and rotations)."""
    out: set[str] = set()
    for r in records:
        kind = r.kind
        if kind == "InstitutionRegistered" and int(r.fields["index"]) == index:
            out.add(str(r.fields["account"]))
        elif kind == "InstitutionRotated" and int(r.fields["index"]) == index:
            out.add(str(r.fields["to"]))
    return out


def _credit_walk(
    books: AuditBooks, addresses: set[str]
) -> tuple[list[Any], list[int], list[int], list[int], list[int]]:
    """The journal's flat list, the positions in it of every credit to ``addresses`` (ascending, then a sentinel),
    and each booking record's seq and its credits' first and end positions (``flow_marks``): the walk of the
    records finds a record's credits by moving pointers, never scanning the credits of records not its."""
    flat: list[Any] = books.books.journal.flat
    width = CREDIT_WIDTH
    mine = [k * width for k, account in enumerate(flat[1::width]) if account in addresses]
    mine.append(len(flat))
    seqs = [mark[0] for mark in books.flow_marks]
    firsts = [mark[2] * width for mark in books.flow_marks]
    ends = [mark[3] * width for mark in books.flow_marks]
    return flat, mine, seqs, firsts, ends


def institution_movements(records: Sequence[Record], books: AuditBooks, index: int) -> list[Movement]:
    """Every movement of institution ``index``'s balances, in record order (``records`` in seq order, replayed
    into ``books``)."""
    addresses = _addresses_of(records, index)
    flat, mine, mark_seqs, mark_firsts, mark_ends = _credit_walk(books, addresses)
    at_mark = at_mine = 0
    marks = len(mark_seqs)
    single = len(addresses) == 1  # never rotated: every credit to its address is its own
    me: str | None = None  # the institution's address as of the record being read
    tranches: dict[int, _Tranche] = {}  # loans it lends in
    income: dict[int, int] = {}  # lender income I of each loan it holds, before the record being read
    holders: dict[int, tuple[int, list[str], list[int], bool]] = {}  # loan -> principal, holders, shares, ended
    leftovers: dict[int, list[tuple[str, int]]] = {}
    out: list[Movement] = []
    append = out.append
    no_credits: list[Any] = []
    seq: int
    kind: str
    loan_id: int | None
    f: dict[str, Any]
    block: int
    tx: str
    log_index: int
    for seq, kind, loan_id, f, _, block, tx, log_index in records:
        credits = no_credits  # positions in flat of the record's credits to the institution
        while at_mark < marks and mark_seqs[at_mark] < seq:
            at_mark += 1
        if at_mark < marks and mark_seqs[at_mark] == seq:
            start, end = mark_firsts[at_mark], mark_ends[at_mark]
            while mine[at_mine] < start:
                at_mine += 1
            first = at_mine
            while mine[at_mine] < end:
                at_mine += 1
            if at_mine > first:
                credits = mine[first:at_mine]
                if me is None or not single:  # credits to an address before or after it was its own
                    credits = [c for c in credits if flat[c + 1] == me]
        if kind == "RepaymentApplied" or kind == "PrepaymentApplied":
            tranche = tranches.get(loan_id) if loan_id is not None else None
            if tranche is None and not credits:
                # a loan it does not hold: its income is followed from a purchase on, with the offset the
                # purchase then sets (0), the same floors as the whole income with the ledger's offset
                continue
            b: dict[str, Any] = f["breakdown"]
            penalty: int = int(b["penaltyPaid"])
            interest: int = int(b["interestPaid"]) - int(b["feePaid"])
            fee: int = int(f["prepaymentFee"]) if kind == "PrepaymentApplied" else 0
            before = 0
            if loan_id is not None:
                before = income.get(loan_id, 0)
                income[loan_id] = before + penalty + interest + fee
            head = (seq, block, tx, log_index, loan_id)
            _book(append, head, kind, flat, credits, books, leftovers, before, (penalty, interest, fee), tranche)
            if tranche is not None and tranche.amount and int(b["status"]) == _CLOSED:
                append(_new(Movement, (seq, block, tx, log_index, loan_id, "exposure release", tranche.amount, kind)))
            continue
        head = (seq, block, tx, log_index, loan_id)
        if kind == "TrancheFunded":
            if me is not None and f["lender"] == me:
                append(_new(Movement, (seq, block, tx, log_index, loan_id, "funding", int(f["amount"]), kind)))
        elif kind == "LoanOriginated":
            assert loan_id is not None
            lenders = [str(t["lender"]) for t in f["tranches"]]
            shares = [int(t["shareBps"]) for t in f["tranches"]]
            principal = int(f["terms"]["principal"])
            holders[loan_id] = (principal, lenders, shares, False)
            if me is not None and me in lenders:
                position = lenders.index(me)
                amount = tranche_amounts(principal, shares)[position]
                tranches[loan_id] = _Tranche(position, shares[position], amount)
        elif kind == "PositionTransferred":
            paid = [flat[c : c + CREDIT_WIDTH] for c in credits]
            _transfer(append, (seq, block, tx, log_index), f, me, loan_id, paid, holders, tranches, income)
        elif kind == "LoanCancelled":
            _book(append, head, kind, flat, credits, books, leftovers)
            tranches.pop(loan_id or 0, None)  # a refund releases the exposure with it (component "refund")
        elif kind in ("LoanWrittenOff", "RecoveryApplied"):
            _book(append, head, kind, flat, credits, books, leftovers)
            ended = kind == "LoanWrittenOff" or int(f["status"]) == _RECOVERED
            if ended and loan_id in holders:
                principal, lenders, shares, _ = holders[loan_id]
                holders[loan_id] = (principal, lenders, shares, True)
            held = tranches.get(loan_id) if loan_id is not None else None
            if ended and held is not None and held.amount:
                append(_new(Movement, (seq, block, tx, log_index, loan_id, "exposure release", held.amount, kind)))
        elif kind == "Withdrawn":
            for credit in credits:
                append(_new(Movement, (seq, block, tx, log_index, None, "withdrawal", -flat[credit + 3], kind)))
        elif kind == "InstitutionRegistered":
            if int(f["index"]) == index:
                me = f["account"]
        elif kind == "InstitutionRotated":
            if int(f["index"]) == index:
                me = f["to"]
        elif credits:  # a record kind that credits and that this module does not know yet: nothing is dropped
            _book(append, head, kind, flat, credits, books, leftovers)
    return out


def _transfer(
    append: Any,
    where: tuple[int, int, str, int],
    f: dict[str, Any],
    me: str | None,
    loan_id: int | None,
    credits: list[Any],
    holders: dict[int, tuple[int, list[str], list[int], bool]],
    tranches: dict[int, _Tranche],
    income: dict[int, int],
) -> None:
    """A position changed hands: the price (``sale`` / ``purchase``), the exposure each holder's tranche amount
    takes with it, and the holders' shares and income offsets from here on."""
    kind = "PositionTransferred"
    if loan_id is None or loan_id not in holders:
        return
    seller, buyer, share, price = str(f["seller"]), str(f["buyer"]), int(f["shareBps"]), int(f["price"])
    principal, lenders, shares, ended = holders[loan_id]
    before = tranche_amounts(principal, shares)
    lenders, shares = list(lenders), list(shares)
    if buyer not in lenders:
        lenders.append(buyer)
        shares.append(0)
        before.append(0)
    s, b = lenders.index(seller), lenders.index(buyer)
    shares[s] -= share
    shares[b] += share
    after = tranche_amounts(principal, shares)
    holders[loan_id] = (principal, lenders, shares, ended)
    if me is None or me not in lenders:
        return
    t = lenders.index(me)
    for credit in credits:  # the price, credited to the seller's withdrawable
        if credit[2] == Component.SALE:
            append(_new(Movement, (*where, loan_id, "sale", credit[3], kind)))
    if me == buyer and price:
        append(_new(Movement, (*where, loan_id, "purchase", price, kind)))
    moved = after[t] - before[t]
    if moved and not ended:  # a written-off loan's exposure was released at the write-off
        name = "exposure in" if moved > 0 else "exposure out"
        append(_new(Movement, (*where, loan_id, name, abs(moved), kind)))
    held = tranches.get(loan_id)
    total = income.get(loan_id, 0) * share
    offset = (held.offset if held is not None else 0) + (total if me == seller else -total if me == buyer else 0)
    tranches[loan_id] = _Tranche(t, shares[t], after[t], offset)


def _book(
    append: Any,
    head: tuple[int, int, str, int, int | None],
    kind: str,
    flat: list[Any],
    credits: list[int],
    books: AuditBooks,
    leftovers: dict[int, list[tuple[str, int]]],
    income_before: int = 0,
    parts: tuple[int, int, int] = (0, 0, 0),
    tranche: _Tranche | None = None,
) -> None:
    """The movements of one record's credits to the institution (journal entries: loan, account, component,
    withdrawable, reserve, loss: ``credits`` are their positions in the journal's ``flat`` list); ``head`` is the
    record's seq, block, tx, log index and loan."""
    seq, block, tx, log_index, loan_id = head
    gross = held = 0
    others = False
    for at in credits:
        component = flat[at + 2]
        if component == Component.INCOME:
            gross += flat[at + 3]
        elif component == Component.RESERVE:
            gross += flat[at + 4]
            held += flat[at + 4]
        else:
            others = True
    if gross:
        penalty, interest, fee = 0, gross, 0
        if tranche is not None:  # else not a tranche of this loan (the books credit income to lenders only)
            share, offset = tranche.share, tranche.offset
            i0 = income_before
            i1 = i0 + parts[0]
            i2 = i1 + parts[1]
            c0 = (i0 * share + offset) // BPS
            c1 = (i1 * share + offset) // BPS
            c2 = (i2 * share + offset) // BPS
            c3 = ((i2 + parts[2]) * share + offset) // BPS
            if c3 - c0 == gross:  # else the replay found the record inconsistent: state what was credited
                penalty, interest, fee = c1 - c0, c2 - c1, c3 - c2
        if penalty:
            append(_new(Movement, (seq, block, tx, log_index, loan_id, "penalty", penalty, kind)))
        if interest:
            append(_new(Movement, (seq, block, tx, log_index, loan_id, "interest", interest, kind)))
        if fee:
            append(_new(Movement, (seq, block, tx, log_index, loan_id, "prepayment fee", fee, kind)))
    if held:
        append(_new(Movement, (seq, block, tx, log_index, loan_id, "reserve provision", held, kind)))
    if not others:
        return
    for at in credits:
        component = flat[at + 2]
        if component in (Component.INCOME, Component.RESERVE):
            continue
        if component == Component.LOSS:
            append(_new(Movement, (seq, block, tx, log_index, loan_id, "loss", flat[at + 5], kind)))
        elif component == Component.LEFTOVER:
            assert loan_id is not None
            queue = leftovers.get(loan_id)
            if queue is None:
                queue = leftovers[loan_id] = _remainders(books, loan_id)
            name = queue.pop(0)[0] if queue else "interest"
            append(_new(Movement, (seq, block, tx, log_index, loan_id, name, flat[at + 3], kind)))
        elif component == Component.WITHDRAWAL:
            append(_new(Movement, (seq, block, tx, log_index, None, "withdrawal", -flat[at + 3], kind)))
        else:
            # fee, principal, recovery, refund: to withdrawable; a release or absorption: reserve to withdrawable
            name = _DIRECT.get(component) or str(component)
            append(_new(Movement, (seq, block, tx, log_index, loan_id, name, flat[at + 3], kind)))


DaySums = dict[str, tuple[dict[str, int], int]]
"""A statement's movements summed by day: date -> (amount by component, number of movements)."""


def dated_rows(
    moves: Sequence[Movement], refs: dict[int, str], times: dict[int, int], zone: tzinfo
) -> tuple[list[StatementRow], DaySums]:
    """The movements as statement rows, dated in ``zone`` from their blocks' ``times`` (a row whose block time is
    unknown has an empty date), and their sums by day. One pass: a statement of 100,000 records has about
    200,000 rows."""
    rows: list[StatementRow] = []
    append = rows.append
    sums: DaySums = {}
    last = -2
    day = clock = ""
    subtotals: dict[str, int] = {}
    count = 0
    for seq, block, tx, log_index, loan_id, component, amount, record in moves:
        if block != last:
            seconds = times.get(block)
            new_day, clock = local_time(seconds, zone) if seconds is not None else ("", "")
            last = block
            if new_day != day:
                if count:
                    sums[day] = (subtotals, count)
                day = new_day
                subtotals, count = sums.get(day, ({}, 0))
        ref = refs.get(loan_id, "") if loan_id is not None else ""
        append(_new(StatementRow, (loan_id, ref, day, clock, block, tx, seq, component, amount, log_index, record)))
        subtotals[component] = subtotals.get(component, 0) + amount
        count += 1
    if count:
        sums[day] = (subtotals, count)
    return rows, sums
