"""``reconcile``: draw the statement around the books' period and match the books against it
(:mod:`.matching`)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from web3 import Web3

from pylender.errors import BooksFormatError, InvalidPeriod
from pylender.statements.books import BooksEntry, read_books
from pylender.statements.cutoff import parse_day, parse_zone
from pylender.statements.draw import statement_of
from pylender.statements.matching import Reconciliation, match_books
from pylender.statements.trail import DrawnTrail, open_trail


def books_period(
    entries: list[BooksEntry], date_from: str | date | None, date_to: str | date | None
) -> tuple[date, date]:
    """The period to reconcile: ``date_from`` .. ``date_to``, each defaulting to the books' first and last date."""
    if (date_from is None or date_to is None) and not entries:
        raise BooksFormatError("the books hold no entry: give --from and --to to reconcile an empty period")
    first = parse_day(date_from, "--from") if date_from is not None else min(e.date for e in entries)
    last = parse_day(date_to, "--to") if date_to is not None else max(e.date for e in entries)
    if first > last:
        raise InvalidPeriod(f"--from {first} is after --to {last}")
    return first, last


def reconcile_trail(
    trail: DrawnTrail,
    institution: str | int,
    books: str | Path,
    *,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    tz: str = "UTC",
    check_views: bool = True,
) -> Reconciliation:
    """Match the books file against the statement drawn from ``trail`` (the day before and after the period
    included, for timing differences across a cut-off)."""
    entries = read_books(books, trail.decimals)
    first, last = books_period(entries, date_from, date_to)
    drawn = statement_of(
        trail, institution, first - timedelta(days=1), last + timedelta(days=1), tz=tz, check_views=check_views
    )
    if drawn.date_to >= last:  # only the neighbouring day, drawn for timing differences, has not begun
        drawn.notes = [n for n in drawn.notes if not n.startswith("the days after ")]
    last = min(last, drawn.date_to)
    result = match_books(drawn, entries, first, last)
    result.books = str(books)
    return result


def reconcile(
    w3: Web3 | None,
    ledger: str | None,
    institution: str | int,
    books: str | Path,
    *,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    tz: str = "UTC",
    file: str | Path | None = None,
    abi: list[dict[str, Any]] | None = None,
    from_block: int = 0,
    confirmations: int = 0,
    index_path: str | Path | None = None,
    check_views: bool = True,
    progress: bool = False,
) -> Reconciliation:
    """Reconcile ``institution``'s books (a CSV file, :mod:`.books`) with its statement drawn from the ledger on
    ``w3`` (or the export ``file``). The result holds the breaks as typed records (:attr:`Reconciliation.breaks`)
    and as a DataFrame (:attr:`Reconciliation.frame`, the ``[frames]`` extra), the totals by component, and the
    statement."""
    parse_zone(tz)
    trail = open_trail(
        w3,
        ledger,
        what="a reconciliation",
        file=file,
        abi=abi,
        from_block=from_block,
        confirmations=confirmations,
        index_path=index_path,
        progress=progress,
    )
    return reconcile_trail(
        trail, institution, books, date_from=date_from, date_to=date_to, tz=tz, check_views=check_views
    )
