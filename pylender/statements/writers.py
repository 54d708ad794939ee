"""A statement written out: CSV, JSON or XLSX, every amount in token units with every decimal.

- **CSV**: ``F`` holds the movements, one row each (the columns of :data:`MOVEMENT_HEADER`, each movement's
  change of every balance beside its amount, so the file ties on its own); ``F.days.csv`` the days (cut-off
  block, opening and closing balances, ``accountOf`` at the cut-off, subtotals by component); ``F.meta.json`` the
  header: the institution, the ledger, the period and timezone, and what the statement may be relied on for
  (``outcome``, ``marker``). Written to standard output, the CSV is the movements alone.
- **JSON**: one document, ``{"statement": header, "days": [...], "movements": [...]}``.
- **XLSX** (openpyxl, the ``[xlsx]`` extra): the sheets Statement (the header), Days and Movements; amounts are
  numbers where a double holds them exactly, else text, so no digit is lost.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from pylender.errors import InvalidPath, MissingExtra
from pylender.statements.amounts import units_text
from pylender.statements.components import BALANCE_NAMES, STATEMENT_COMPONENTS
from pylender.statements.statement import DailyStatement

STATEMENT_FORMATS = ("csv", "json", "xlsx")
MOVEMENT_HEADER = [
    "loan_id",
    "loan_ref",
    "date",
    "time",
    "block",
    "tx",
    "seq",
    "component",
    "amount",
    *(f"{name}_change" for name in BALANCE_NAMES),
    "record",
]


def days_path(path: Path) -> Path:
    """Where the days of a CSV statement ``path`` go."""
    return path.with_name(path.name + ".days.csv")


def meta_path(path: Path) -> Path:
    """Where the header of a CSV statement ``path`` goes."""
    return path.with_name(path.name + ".meta.json")


def format_for(path: Path | None, fmt: str | None) -> str:
    """The format asked for, else the one ``path``'s suffix names, else CSV."""
    if fmt:
        return fmt
    if path is not None and path.suffix.lower().lstrip(".") in STATEMENT_FORMATS:
        return path.suffix.lower().lstrip(".")
    return "csv"


def movement_rows(statement: DailyStatement) -> Iterator[list[Any]]:
    """The movements as CSV rows (:data:`MOVEMENT_HEADER`)."""
    d = statement.decimals
    effects = {name: c.effects for name, c in STATEMENT_COMPONENTS.items()}
    for r in statement.rows:
        w, res, loss, e = effects[r.component]
        amount = r.amount
        yield [
            "" if r.loan_id is None else r.loan_id,
            r.loan_ref,
            r.date,
            r.time,
            r.block,
            r.tx,
            r.seq,
            r.component,
            units_text(amount, d),
            units_text(w * amount, d),
            units_text(res * amount, d),
            units_text(loss * amount, d),
            units_text(e * amount, d),
            r.record,
        ]


def day_header() -> list[str]:
    balances = [f"{when}_{name}" for when in ("opening", "closing") for name in BALANCE_NAMES]
    views = [f"views_{name}" for name in BALANCE_NAMES]
    return ["date", "cutoff_block", "cutoff_time", "complete", *balances, *views, "movements", *STATEMENT_COMPONENTS]


def day_rows(statement: DailyStatement) -> Iterator[list[Any]]:
    d = statement.decimals
    for day in statement.days:
        views = ["" for _ in BALANCE_NAMES] if day.views is None else [units_text(v, d) for v in day.views]
        yield [
            day.date,
            day.cutoff_block,
            statement.iso(day.cutoff_time) or "",
            "yes" if day.complete else "no",
            *(units_text(v, d) for v in day.opening),
            *(units_text(v, d) for v in day.closing),
            *views,
            day.movements,
            *(units_text(day.subtotals.get(name, 0), d) for name in STATEMENT_COMPONENTS),
        ]


def write_movements_csv(statement: DailyStatement, stream: IO[str]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(MOVEMENT_HEADER)
    writer.writerows(movement_rows(statement))


def statement_json(statement: DailyStatement) -> str:
    return json.dumps(statement.to_json_dict(), indent=1, ensure_ascii=False)


def write_statement(statement: DailyStatement, path: Path, fmt: str) -> list[Path]:
    """Write ``statement`` to ``path`` in ``fmt``; the files written (CSV: the movements, days and header)."""
    try:
        if fmt == "json":
            path.write_text(statement_json(statement) + "\n", encoding="utf-8")
            return [path]
        if fmt == "xlsx":
            write_xlsx(statement, path)
            return [path]
        with path.open("w", newline="", encoding="utf-8") as out:
            write_movements_csv(statement, out)
        with days_path(path).open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(day_header())
            writer.writerows(day_rows(statement))
        meta_path(path).write_text(json.dumps(statement.header(), indent=1, ensure_ascii=False) + "\n")
        return [path, days_path(path), meta_path(path)]
    except OSError as exc:
        raise InvalidPath(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from exc


def csv_text(statement: DailyStatement) -> str:
    """The movements as CSV text (what ``--format csv`` prints without ``--out``)."""
    out = io.StringIO()
    write_movements_csv(statement, out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ XLSX


def _cell(text: str) -> Any:
    """A token-unit amount as a number where a double holds it exactly (Excel sums it), else as text."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    try:
        value = float(text)
    except ValueError:
        return text
    return value if Decimal(repr(value)) == Decimal(text) else text


def write_xlsx(statement: DailyStatement, path: Path) -> None:
    try:
        from openpyxl import Workbook  # type: ignore[import-untyped]
        from openpyxl.styles import Font  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingExtra("openpyxl", "xlsx", "--format xlsx") from exc
    book = Workbook()
    info = book.active
    assert info is not None
    info.title = "Statement"
    bold = Font(bold=True)
    for key, value in statement.header().items():
        if isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        info.append([key, value])
    for row in info.iter_rows(min_col=1, max_col=1):
        row[0].font = bold
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 100
    decimals = statement.decimals or 0
    number_format = "0." + "0" * decimals if decimals else "0"
    for title, header, rows, first_amount in (
        ("Days", day_header(), day_rows(statement), 4),
        ("Movements", MOVEMENT_HEADER, movement_rows(statement), 8),
    ):
        sheet = book.create_sheet(title)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = bold
        text_columns = {"movements", "record", "component", "loan_ref", "tx", "date", "time", "complete"}
        amount_columns = [i for i, name in enumerate(header) if i >= first_amount and name not in text_columns]
        for values in rows:
            for i in amount_columns:
                values[i] = _cell(str(values[i]))
            sheet.append(values)
        for i in amount_columns:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                if isinstance(cell.value, float):
                    cell.number_format = number_format
        sheet.freeze_panes = "A2"
    try:
        book.save(path)
    except OSError as exc:
        raise InvalidPath(f"cannot write {path}: {exc.strerror or exc}") from exc
