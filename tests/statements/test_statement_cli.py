"""``pylender statement`` on the 90-day scenario: the table for people, CSV with its days and header, JSON, XLSX;
exit codes that say what the statement may be relied on for (an export read offline is not proven complete, a
trail with records cut from its end is a finding); bad input named."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from statement_chain import Ninety

from pylender.cli import cli

pytestmark = pytest.mark.slow

PERIOD = ["--from", "2026-03-01", "--to", "2026-03-31"]


def _invoke(ninety: Ninety, tmp_path: Path, *args: str, chain: bool = True) -> Result:
    command = 2 if args[0] == "audit" else 1
    source = ["--rpc", str(ninety.session.url), "--ledger", ninety.ledger] if chain else []
    source += ["--deployment", str(tmp_path / "none.json")]
    return CliRunner().invoke(cli, [*args[:command], *source, *args[command:]])


def test_the_table_states_every_movement_and_the_verdict(ninety: Ninety, tmp_path: Path) -> None:
    done = _invoke(ninety, tmp_path, "statement", "Bank B", *PERIOD, "--tz", "Asia/Shanghai")
    assert done.exit_code == 0, done.output
    out = done.output
    assert "statement of institution 2 Bank B" in out and "days in Asia/Shanghai" in out
    assert (
        "VERIFIED: drawn from a trail proven complete" in out and "accountOf at 32 cut-off block(s)"
    )  # the opening one too in out
    assert "recovery" in out and "600.000000" in out  # D's recovery on day 75.2, Bank B's 60 %
    assert "DIFFERS" not in out


def test_csv_writes_the_movements_the_days_and_the_header(ninety: Ninety, tmp_path: Path) -> None:
    out = tmp_path / "b.csv"
    done = _invoke(ninety, tmp_path, "statement", "2", *PERIOD, "--out", str(out))
    assert done.exit_code == 0, done.output
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    with (tmp_path / "b.csv.days.csv").open(newline="") as f:
        days = list(csv.DictReader(f))
    meta = json.loads((tmp_path / "b.csv.meta.json").read_text())
    assert meta["outcome"] == "verified" and meta["institution"]["name"] == "Bank B" and len(days) == 31
    assert list(rows[0])[:9] == ["loan_id", "loan_ref", "date", "time", "block", "tx", "seq", "component", "amount"]
    for name in ("withdrawable", "reserve", "loss", "exposure"):  # the file ties on its own, to the unit
        moved = sum(Decimal(r[f"{name}_change"]) for r in rows)
        assert Decimal(meta["opening"][name]) + moved == Decimal(meta["closing"][name])
        assert days[-1][f"closing_{name}"] == days[-1][f"views_{name}"] == meta["closing"][name]
    for day in days:
        assert int(day["movements"]) == sum(1 for r in rows if r["date"] == day["date"])


def test_json_and_xlsx_carry_the_same_statement(ninety: Ninety, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    done = _invoke(ninety, tmp_path, "statement", "Platform", *PERIOD, "--format", "json")
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output)
    assert all(d["views_equal"] for d in doc["days"]) and doc["statement"]["views_compared"] == 32
    xlsx = tmp_path / "p.xlsx"
    assert _invoke(ninety, tmp_path, "statement", "Platform", *PERIOD, "--out", str(xlsx)).exit_code == 0
    book = load_workbook(xlsx)
    assert book.sheetnames == ["Statement", "Days", "Movements"]
    movements = list(book["Movements"].iter_rows(min_row=2, values_only=True))
    assert len(movements) == len(doc["movements"])
    amounts = [Decimal(str(row[8])).quantize(Decimal("0.000001")) for row in movements]
    assert amounts == [Decimal(m["amount"]) for m in doc["movements"]]


def test_a_statement_from_an_export_says_whether_the_trail_is_proven(ninety: Ninety, tmp_path: Path) -> None:
    trail = tmp_path / "trail.json"
    exported = _invoke(ninety, tmp_path, "audit", "export", "--format", "json", "--out", str(trail))
    assert exported.exit_code == 0, exported.output
    live = json.loads(_invoke(ninety, tmp_path, "statement", "Bank A", *PERIOD, "--format", "json").output)

    offline = _invoke(
        ninety, tmp_path, "statement", "Bank A", *PERIOD, "--file", str(trail), "--format", "json", chain=False
    )
    assert offline.exit_code == 3, offline.output
    doc = json.loads(offline.output)["statement"]
    assert doc["outcome"] == "not proven complete" and doc["marker"].startswith("NOT PROVEN COMPLETE")
    assert doc["closing"] == live["statement"]["closing"] and doc["cutoffs_exact"] is False

    # the last three records cut from the export: proved against the chain, the cut is a finding
    cut = json.loads(trail.read_text())
    cut["records"] = cut["records"][:-3]
    short = tmp_path / "short.json"
    short.write_text(json.dumps(cut))
    proved = _invoke(
        ninety,
        tmp_path,
        "statement",
        "Bank A",
        *PERIOD,
        "--file",
        str(short),
        "--rpc",
        str(ninety.session.url),
        chain=False,
    )
    assert proved.exit_code == 1, proved.output
    assert "FINDINGS" in proved.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bank Z", *PERIOD], "'Bank Z' is neither an institution index, a name nor an address"),
        (["9", *PERIOD], "no institution 9 in the trail"),
        (["Bank A", "--from", "2026-03-31", "--to", "2026-03-01"], "--from 2026-03-31 is after --to 2026-03-01"),
        (["Bank A", "--from", "1 March", "--to", "2026-03-01"], "is not a date"),
        (["Bank A", *PERIOD, "--tz", "Mars/Olympus"], "unknown timezone 'Mars/Olympus'"),
        (["Bank A", *PERIOD, "--format", "xlsx"], "--format xlsx writes a file"),
    ],
)
def test_bad_input_is_named(ninety: Ninety, tmp_path: Path, args: list[str], message: str) -> None:
    done = _invoke(ninety, tmp_path, "statement", *args)
    assert done.exit_code == 2, done.output
    assert message in done.output and "Traceback" not in done.output
