"""Reconciliation (对账) on the 90-day scenario: Bank A's statement, exported as CSV, is its books; the books tie
with no break, and four edits (a row removed, an amount changed by one unit, an entry that never happened, an
entry moved across a cut-off to the next day) are exactly four breaks of those kinds, through the command and
through the Python API."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from statement_chain import Ninety

from pylender.cli import cli
from pylender.errors import BooksFormatError
from pylender.statements import BreakKind, read_books, reconcile

pytestmark = pytest.mark.slow

FROM, TO = "2026-01-01", "2026-04-01"
BOOKS_HEADER = ["loan_ref", "date", "component", "amount"]


def _invoke(ninety: Ninety, tmp_path: Path, *args: str) -> Result:
    source = ["--rpc", str(ninety.session.url), "--ledger", ninety.ledger, "--deployment", str(tmp_path / "none.json")]
    return CliRunner().invoke(cli, [args[0], *source, *args[1:]])


def _exported_books(ninety: Ninety, tmp_path: Path) -> list[dict[str, str]]:
    """Bank A's statement over the period, written by ``pylender statement --format csv``, as books rows."""
    out = tmp_path / "statement.csv"
    done = _invoke(
        ninety, tmp_path, "statement", "Bank A", "--from", FROM, "--to", TO, "--format", "csv", "--out", str(out)
    )
    assert done.exit_code == 0, done.output
    with out.open(newline="") as f:
        return [{k: row[k] for k in BOOKS_HEADER} for row in csv.DictReader(f)]


def _write(path: Path, rows: list[dict[str, str]], header: list[str] = BOOKS_HEADER) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, header, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _only(rows: list[dict[str, str]], **match: str) -> dict[str, str]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_books_exported_from_the_statement_reconcile_with_no_break(ninety: Ninety, tmp_path: Path) -> None:
    rows = _exported_books(ninety, tmp_path)
    books = _write(tmp_path / "books.csv", rows)
    done = _invoke(ninety, tmp_path, "reconcile", "Bank A", "--books", str(books), "--from", FROM, "--to", TO, "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)["reconciliation"]
    assert report["ok"] and report["breaks"] == 0
    assert report["books_entries"] == report["movements"] == report["matched"] == len(rows)


def test_four_edits_are_exactly_four_breaks_of_their_kinds(ninety: Ninety, tmp_path: Path) -> None:
    rows = _exported_books(ninety, tmp_path)
    # 1. removed: loan B's interest of its first installment (day 30.2: 2026-01-31)
    removed = _only(rows, loan_ref="CL-2026-0002", component="interest", date="2026-01-31")
    # 2. one unit more: loan A's principal of the same day
    changed = _only(rows, loan_ref="CL-2026-0001", component="principal", date="2026-01-31")
    # 3. never happened: penalty interest on loan A on a day nothing was paid
    fake = {"loan_ref": "CL-2026-0001", "date": "2026-02-10", "component": "penalty", "amount": "12.345678"}
    # 4. across a cut-off: the withdrawal at 19:12 UTC on 2026-01-31, booked on 2026-02-01
    moved = _only(rows, component="withdrawal", date="2026-01-31")
    edited = []
    for row in rows:
        if row is removed:
            continue
        if row is changed:
            row = {**row, "amount": str(Decimal(row["amount"]) + Decimal("0.000001"))}
        elif row is moved:
            row = {**row, "date": "2026-02-01"}
        edited.append(row)
    edited.insert(len(edited) // 2, fake)
    books = _write(tmp_path / "books.csv", edited)

    done = _invoke(ninety, tmp_path, "reconcile", "Bank A", "--books", str(books), "--from", FROM, "--to", TO, "--json")
    assert done.exit_code == 1, done.output
    report = json.loads(done.output)
    assert report["reconciliation"]["by_kind"] == {
        "missing on chain": 1,
        "missing from books": 1,
        "amount differs": 1,
        "date differs": 0,
        "timing (T+1)": 1,
    }
    found = {b["kind"]: b for b in report["breaks"]}
    assert len(report["breaks"]) == 4
    assert (found["missing from books"]["loan_ref"], found["missing from books"]["component"]) == (
        "CL-2026-0002",
        "interest",
    )
    assert found["missing from books"]["chain_amount"] == removed["amount"]
    assert found["missing from books"]["books_amount"] is None
    differs = found["amount differs"]
    assert (differs["loan_ref"], differs["component"], differs["chain_amount"]) == (
        "CL-2026-0001",
        "principal",
        changed["amount"],
    )
    assert differs["difference"] == "0.000001"
    assert (found["missing on chain"]["books_amount"], found["missing on chain"]["chain_amount"]) == ("12.345678", None)
    timing = found["timing (T+1)"]
    assert (timing["component"], timing["chain_date"], timing["books_date"]) == (
        "withdrawal",
        "2026-01-31",
        "2026-02-01",
    )
    assert timing["chain_amount"] == timing["books_amount"] == moved["amount"] and timing["difference"] == "0.000000"

    # the same through the Python API: typed breaks and a DataFrame
    rec = reconcile(ninety.w3, ninety.ledger, "Bank A", books, date_from=FROM, date_to=TO)
    assert rec.exit_code == 1 and not rec.ok
    assert sorted(b.kind for b in rec.breaks) == sorted(
        [BreakKind.MISSING_FROM_BOOKS, BreakKind.AMOUNT_DIFFERS, BreakKind.MISSING_ON_CHAIN, BreakKind.TIMING]
    )
    amount = next(b for b in rec.breaks if b.kind is BreakKind.AMOUNT_DIFFERS)
    assert amount.books_amount is not None and amount.chain_amount is not None
    assert amount.books_amount - amount.chain_amount == amount.difference == 1  # base units
    frame = rec.frame
    assert sorted(frame["kind"]) == sorted(b.kind.value for b in rec.breaks)
    assert list(frame["difference"][frame["kind"] == "amount differs"]) == [Decimal("0.000001")]


def test_an_entry_moved_further_than_a_day_is_a_date_difference(ninety: Ninety, tmp_path: Path) -> None:
    rows = _exported_books(ninety, tmp_path)
    moved = _only(rows, component="withdrawal", date="2026-01-31")
    books = _write(tmp_path / "books.csv", [{**r, "date": "2026-02-03"} if r is moved else r for r in rows])
    rec = reconcile(ninety.w3, ninety.ledger, "Bank A", books, date_from=FROM, date_to=TO)
    assert [(b.kind, b.chain_date, b.books_date, b.detail) for b in rec.breaks] == [
        (BreakKind.DATE_DIFFERS, "2026-01-31", "2026-02-03", "3 days apart")
    ]


def test_books_may_name_loans_by_ledger_id(ninety: Ninety, tmp_path: Path) -> None:
    by_ref = {spec.ref: ninety.result.loans[key].id for key, spec in ninety.scenario.loans.items()}
    rows = [
        {"loan_id": str(by_ref[r["loan_ref"]]) if r["loan_ref"] else "", **r} for r in _exported_books(ninety, tmp_path)
    ]
    books = _write(tmp_path / "books.csv", rows, ["loan_id", "date", "component", "amount"])
    rec = reconcile(ninety.w3, ninety.ledger, 1, books, date_from=FROM, date_to=TO)
    assert rec.breaks == [] and rec.exit_code == 0 and rec.matched == len(rows)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("ref,date,component,amount\n", "it must name loan_ref (or loan_id)"),
        ("loan_ref,date,component,amount\nX,2026-13-01,interest,1\n", "books.csv:2: date '2026-13-01'"),
        ("loan_ref,date,component,amount\nX,2026-01-01,bonus,1\n", "books.csv:2: component 'bonus' is none of"),
        ("loan_ref,date,component,amount\nX,2026-01-01,interest,1.0000001\n", "more decimals than the token's 6"),
        ("loan_ref,date,component,amount\nX,2026-01-01,interest\n", "books.csv:2: 3 field(s)"),
    ],
)
def test_a_malformed_books_file_is_named_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    books = tmp_path / "books.csv"
    books.write_text(text)
    with pytest.raises(BooksFormatError) as raised:
        read_books(books, 6)
    assert message in str(raised.value)


def test_books_components_are_read_in_any_spelling(tmp_path: Path) -> None:
    books = tmp_path / "books.csv"
    books.write_text('\ufeffLOAN_REF,Date,Component,Amount,memo\nCL-1,2026-01-02,Reserve_Provision,"1,234.5",x\n')
    (entry,) = read_books(books, 6)
    assert (entry.loan_ref, entry.component, entry.amount, entry.line) == (
        "CL-1",
        "reserve provision",
        1_234_500_000,
        2,
    )
