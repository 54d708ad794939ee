"""The shipped example (README): the 90-day scenario's trail, exported, and Bank A's books, which carry one
withdrawal a day late. Read offline, the statement is not proven complete (exit 3) and the reconciliation names
exactly one break, a timing difference across the cut-off (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pylender.cli import cli
from pylender.statements import BreakKind, reconcile

ROOT = Path(__file__).resolve().parents[2]
TRAIL = ROOT / "scenarios" / "reconciliation-90-days.trail.json"
BOOKS = ROOT / "scenarios" / "reconciliation-90-days.bank-a.books.csv"


def test_the_example_books_differ_from_the_trail_by_one_timing_difference() -> None:
    rec = reconcile(None, None, "Bank A", BOOKS, file=TRAIL)
    assert rec.statement.verification.findings == [] and rec.statement.outcome.value == "not proven complete"
    assert (rec.date_from.isoformat(), rec.date_to.isoformat()) == ("2026-01-01", "2026-04-01")
    assert rec.books_entries == rec.movements == 33 and rec.matched == 32
    assert [(b.kind, b.component, b.chain_date, b.books_date, b.chain_amount) for b in rec.breaks] == [
        (BreakKind.TIMING, "withdrawal", "2026-01-31", "2026-02-01", 3_423_513_498)
    ]
    assert rec.exit_code == 1


def test_the_example_through_the_command(tmp_path: Path) -> None:
    none = ["--deployment", str(tmp_path / "none.json")]
    done = CliRunner().invoke(
        cli, ["reconcile", "Bank A", "--file", str(TRAIL), *none, "--books", str(BOOKS), "--json"]
    )
    assert done.exit_code == 1, done.output
    report = json.loads(done.output)["reconciliation"]
    assert report["breaks"] == 1 and report["by_kind"]["timing (T+1)"] == 1
    assert report["statement_outcome"] == "not proven complete"
    shown = CliRunner().invoke(cli, ["statement", "Bank A", "--file", str(TRAIL), *none, "--from", "2026-01-30",
                                     "--to", "2026-02-01", "--tz", "Asia/Shanghai"])  # fmt: skip
    assert shown.exit_code == 3 and "NOT PROVEN COMPLETE" in shown.output
    assert "3,423.513498" in shown.output  # the withdrawal, on 2026-02-01 in Shanghai
