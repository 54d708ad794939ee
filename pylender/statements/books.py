"""An institution's own books, as ``pylender reconcile --books`` reads them.

A CSV file (UTF-8, a BOM allowed) with a header row naming at least ``loan_ref,date,component,amount``, or
``loan_id`` instead of ``loan_ref`` (or both; other columns are ignored):

- ``loan_ref``: the loan's reference as the statement prints it (the institutions' contract number; ``0x`` and
  64 hex digits for a hashed one); ``loan_id``: the ledger's loan id. Both empty for a movement of no loan (a
  withdrawal);
- ``date``: ``YYYY-MM-DD``, the day the institution booked it;
- ``component``: a statement component (:mod:`.components`; any case, ``_`` or ``-`` for a space);
- ``amount``: token units, at most the token's decimals (``1065.262883``; thousands separators allowed).

Every mistake is a :class:`~pylender.errors.BooksFormatError` naming the file and the line.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pylender.errors import BooksFormatError, InvalidPath
from pylender.statements.amounts import parse_units
from pylender.statements.components import STATEMENT_COMPONENTS, normalize_component

BOOKS_COLUMNS = ("loan_ref", "date", "component", "amount")


@dataclass(frozen=True)
class BooksEntry:
    """One line of the books: the loan (by reference or id), date, component and amount in base units."""

    line: int
    loan_ref: str
    loan_id: int | None
    date: date
    component: str
    amount: int


def read_books(path: str | Path, decimals: int | None) -> list[BooksEntry]:
    """The entries of the books file at ``path``, amounts in base units of a token with ``decimals``."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidPath(f"--books {path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise BooksFormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where) from None
    except OSError as exc:
        raise InvalidPath(f"--books {path}: {exc.strerror or exc}") from exc
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise BooksFormatError(
            "the file is empty: its first line must be the header loan_ref,date,component,amount", where
        ) from None
    missing = [c for c in ("date", "component", "amount") if c not in header]
    if missing or ("loan_ref" not in header and "loan_id" not in header):
        raise BooksFormatError(
            f"the header {','.join(header)!r} lacks {', '.join(missing or ['loan_ref (or loan_id)'])}: "
            "it must name loan_ref (or loan_id), date, component and amount",
            where,
            1,
        )
    names = ("loan_ref", "loan_id", "date", "component", "amount")
    col: dict[str, int] = {name: header.index(name) for name in names if name in header}
    entries: list[BooksEntry] = []
    for number, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise BooksFormatError(f"{len(row)} field(s), the header has {len(header)}", where, number)
        entries.append(_entry(row, col, number, decimals, where))
    return entries


def _entry(row: list[str], col: dict[str, int], number: int, decimals: int | None, where: str) -> BooksEntry:
    ref = row[col["loan_ref"]].strip() if "loan_ref" in col else ""
    raw_id = row[col["loan_id"]].strip() if "loan_id" in col else ""
    loan_id = None
    if raw_id:
        if not raw_id.isdigit() or int(raw_id) == 0:
            raise BooksFormatError(f"loan_id {raw_id!r} is not a loan id (1, 2, ...)", where, number)
        loan_id = int(raw_id)
    text = row[col["date"]].strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BooksFormatError(f"date {text!r} is not YYYY-MM-DD", where, number) from None
    component = normalize_component(row[col["component"]])
    if component is None:
        known = ", ".join(STATEMENT_COMPONENTS)
        raise BooksFormatError(f"component {row[col['component']]!r} is none of: {known}", where, number)
    try:
        amount = parse_units(row[col["amount"]], decimals)
    except ValueError as exc:
        raise BooksFormatError(f"amount: {exc}", where, number) from None
    return BooksEntry(number, ref, loan_id, day, component, amount)


def write_books(path: str | Path, entries: list[tuple[str, str, str, str]]) -> Path:
    """Write books rows ``(loan_ref, date, component, amount)`` under the standard header (tests, examples)."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(BOOKS_COLUMNS)
        writer.writerows(entries)
    return path
