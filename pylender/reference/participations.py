"""Positions that change hands (docs/ledger-spec.md, "Participations"): the offset rule that keeps every holder's
credits exact across a transfer, the moves an acceptance makes (exposure, offsets, shares, the price) and the
credits of a loan whose positions changed hands.

The rule: a holder's cumulative credit on a component standing at C is floor((C × share + offset) / BPS). A transfer
of s bps while the component stands at T adds T × s to the seller's offset and takes as much from the buyer's, so
neither one's credit moves at the transfer: what was credited before stays with the seller, every unit after
follows the new shares. A loan whose positions never moved has no offsets (``LoanBook.offsets`` empty) and is split
by :class:`~pylender.reference.splitting.Books`' own hot path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pylender.errors import BooksError
from pylender.reference.records import Account, Component, Credit, Journal, LoanBook
from pylender.reference.values import LoanStatus
from pylender.schedule import tranche_amounts
from pylender.values import BPS

INCOME, PRINCIPAL, RECOVERY = 0, 1, 2
"""Positions of a holder's three offsets in ``LoanBook.offsets[t]``."""


@dataclass
class Offer:
    """An open offer: ``share_bps`` of loan ``loan_id`` from ``seller`` to ``buyer`` at ``price`` until ``expiry``."""

    loan_id: int
    seller: str
    buyer: str
    share_bps: int
    price: int
    expiry: int


def credits_of(book: LoanBook, t: int, income: int, principal: int, recovered: int) -> tuple[int, int, int]:
    """Tranche ``t``'s cumulative credits (no remainders) with each component standing at the given totals."""
    share = book.shares[t]
    if not book.offsets:
        return income * share // BPS, principal * share // BPS, recovered * share // BPS
    oi, op, orc = book.offsets[t]
    return (income * share + oi) // BPS, (principal * share + op) // BPS, (recovered * share + orc) // BPS


def share_kept(book: LoanBook, t: int) -> int:
    """min(share, tranche ``t``'s share at the write-off): the part of its share a holder held at the write-off and
    still holds (its share if no position moved after the write-off)."""
    share = book.shares[t]
    at = book.shares_at_write_off
    if at is None:
        return share
    return min(share, at[t] if t < len(at) else 0)


def loss_reduction(book: LoanBook, t: int, credited: int, recovered_before: int, recovered_after: int) -> int:
    """What of tranche ``t``'s recovery credit ``credited`` reduces its holder's recorded loss, m = ``share_kept``:
    all of it if m is its share, the increase of floor(recovered × m / BPS) if 0 < m < share, nothing if m = 0."""
    m = share_kept(book, t)
    if m == book.shares[t]:
        return credited
    return 0 if m == 0 else recovered_after * m // BPS - recovered_before * m // BPS


def _account(accounts: Mapping[str, Account], address: str) -> Account:
    try:
        return accounts[address]
    except KeyError:
        raise BooksError(f"unknown institution {address}") from None


def distribute(
    accounts: Mapping[str, Account],
    journal: Journal,
    book: LoanBook,
    before: tuple[int, int, int],
    after: tuple[int, int, int],
) -> None:
    """Credit every present holder the increase of its credits with its offsets between totals ``before`` and
    ``after`` (income, principal, recovered); the reserve part of the income credit goes to its reserve. On a
    written-off loan the recovery credits reduce recorded losses by :func:`loss_reduction`. Past holders (share 0)
    are credited nothing: their credits stopped at the transfer."""
    reserve_bps = book.reserve_bps
    written_off = book.status == LoanStatus.WRITTEN_OFF
    for t, lender in enumerate(book.lenders):
        if book.shares[t] == 0:
            continue
        inc_b, pr_b, rec_b = credits_of(book, t, *before)
        inc_a, pr_a, rec_a = credits_of(book, t, *after)
        held = inc_a * reserve_bps // BPS - inc_b * reserve_bps // BPS
        account = _account(accounts, lender)
        moves = [
            (Component.INCOME, inc_a - inc_b - held, 0),
            (Component.RESERVE, 0, held),
            (Component.PRINCIPAL, pr_a - pr_b, 0),
            (Component.RECOVERY, rec_a - rec_b, 0),
        ]
        if account.is_pool:  # poolCollectionsOf: what its distributions count as principal collections
            account.pool_principal += pr_a - pr_b
            account.pool_recovered += rec_a - rec_b
        credited = 0
        for component, withdrawable, reserve in moves:
            if withdrawable or reserve:
                account.withdrawable += withdrawable
                account.reserve += reserve
                credited += withdrawable
                journal.append(Credit(book.loan_id, lender, component, withdrawable, reserve))
        if written_off and credited and account.loss:
            reduced = min(account.loss, loss_reduction(book, t, credited, before[2], after[2]))
            if reduced:
                account.loss -= reduced
                journal.append(Credit(book.loan_id, lender, Component.LOSS, loss=-reduced))


def holdings(book: LoanBook, seller: str, buyer: str) -> tuple[int, int]:
    """The seller's and the buyer's tranche index (the buyer's is the tranche count if it holds none)."""
    n = len(book.lenders)
    return (
        book.lenders.index(seller) if seller in book.lenders else n,
        book.lenders.index(buyer) if buyer in book.lenders else n,
    )


def shares_after(book: LoanBook, seller: str, buyer: str, share_bps: int) -> list[int]:
    """Every tranche's share after the transfer, the buyer's appended if it is new to the loan."""
    f, b = holdings(book, seller, buyer)
    shares = [*book.shares, 0] if b == len(book.shares) else list(book.shares)
    shares[f] -= share_bps
    shares[b] += share_bps
    return shares


def transfer(
    accounts: Mapping[str, Account],
    journal: Journal,
    book: LoanBook,
    seller: str,
    buyer: str,
    share_bps: int,
    price: int,
) -> None:
    """Move ``share_bps`` of the loan from ``seller`` to ``buyer`` (checked by the caller): exposures follow the
    tranche amounts (not on a written-off loan, whose exposures were released), the offsets keep every credit where
    it stands, the shares move (the buyer's tranche appended, funded, if it is new) and ``price`` (paid in by the
    buyer; the caller counts it in the ledger's balance) is credited to the seller's withdrawable."""
    f, b = holdings(book, seller, buyer)
    shares = shares_after(book, seller, buyer, share_bps)
    written_off = book.status == LoanStatus.WRITTEN_OFF
    if b == len(book.lenders):
        book.lenders.append(buyer)
        book.funded.append(True)
        book.amounts.append(0)
        if book.offsets:
            book.offsets.append([0, 0, 0])
    amounts = tranche_amounts(book.principal, shares)
    if not written_off:
        for t, lender in enumerate(book.lenders):
            if amounts[t] != book.amounts[t]:
                _account(accounts, lender).exposure += amounts[t] - book.amounts[t]
    if not book.offsets:
        book.offsets = [[0, 0, 0] for _ in book.lenders]
    if written_off and book.shares_at_write_off is None:
        book.shares_at_write_off = list(book.shares)
    for component, total in ((INCOME, book.income), (PRINCIPAL, book.principal_paid), (RECOVERY, book.recovered)):
        book.offsets[f][component] += total * share_bps
        book.offsets[b][component] -= total * share_bps
    book.shares = shares
    book.amounts = amounts
    if price:
        _account(accounts, seller).withdrawable += price
        journal.append(Credit(book.loan_id, seller, Component.SALE, withdrawable=price))
