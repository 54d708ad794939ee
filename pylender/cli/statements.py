"""``pylender statement`` and ``pylender reconcile``: an institution's daily statement, and its own books matched
against it (对账).

Both read the trail as ``pylender audit`` does (``--rpc``/``--ledger``, the deployment file, or an export with
``--file``; ``--index`` to read only new blocks), and exit with what they found: ``statement`` 0 when drawn from a
trail proven complete whose balances equal ``accountOf`` at every cut-off, 1 on findings, 3 when the trail is not
proven complete (an export read offline); ``reconcile`` 0 only with no break, 1 with breaks (or findings), 3 with
no break against an unproven statement. Bad input exits 2 with one named error line, an audit that could not be
carried out 4.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pylender.audit.cli.inputs import writable_file
from pylender.audit.cli.output import console, emit_json, print_lines, table
from pylender.audit.cli.source import Source, source_options
from pylender.audit.portfolio import Units
from pylender.audit.record import parse_trusted_head
from pylender.statements.components import BALANCE_NAMES
from pylender.statements.cutoff import parse_day, parse_zone
from pylender.statements.draw import statement_of
from pylender.statements.matching import Break, Reconciliation
from pylender.statements.reconcile import reconcile_trail
from pylender.statements.statement import DailyStatement
from pylender.statements.trail import DrawnTrail, trail_from_chain, trail_from_file
from pylender.statements.writers import STATEMENT_FORMATS, csv_text, format_for, statement_json, write_statement

tz_option = click.option(
    "--tz", default="UTC", show_default=True, help="Timezone of the days and cut-offs (an IANA name: Asia/Shanghai)."
)
no_views_option = click.option("--no-views", is_flag=True, help="Do not read accountOf at the cut-off blocks.")
expected_head_option = click.option(
    "--expected-head", help="With --file: a head you trust (0x and 64 hex digits) that the export must end in."
)


def _trail(src: Source, expected_head: str | None) -> DrawnTrail:
    trusted = parse_trusted_head(expected_head) if expected_head is not None else None
    if src.file is not None:
        return trail_from_file(
            src.file,
            w3=src.web3(),
            ledger=src.ledger,
            abi_path=src.abi,
            expected_head=trusted,
            confirmations=src.confirmations,
        )
    if trusted is not None:
        raise click.UsageError("--expected-head proves an export (--file); a live ledger is proved by its auditHead")
    w3, ledger = src.need_chain()
    return trail_from_chain(
        w3,
        ledger,
        abi=src.abi_list(),
        from_block=src.from_block or 0,
        confirmations=src.confirmations,
        index_path=src.index,
        progress=sys.stderr.isatty(),
    )


def _balances_line(units: Units, values: tuple[int, int, int, int]) -> str:
    return ", ".join(f"{name} {units.fmt(v)}" for name, v in zip(BALANCE_NAMES, values, strict=True))


@click.command("statement")
@source_options
@click.argument("institution")
@click.option("--from", "date_from", required=True, help="First day (YYYY-MM-DD).")
@click.option("--to", "date_to", required=True, help="Last day (YYYY-MM-DD), included.")
@tz_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(STATEMENT_FORMATS),
    help="csv (movements; with --out also OUT.days.csv and OUT.meta.json), json (everything) or xlsx (needs "
    "--out). Default: OUT's suffix, else a table for people.",
)
@click.option("--out", type=click.Path(path_type=Path), help="Write the statement to this file.")
@no_views_option
@expected_head_option
def statement_command(
    src: Source,
    institution: str,
    date_from: str,
    date_to: str,
    tz: str,
    fmt: str | None,
    out: Path | None,
    no_views: bool,
    expected_head: str | None,
) -> None:
    """The daily statement of INSTITUTION (its index, name or address): every movement to or from it, daily
    subtotals, and opening and closing balances at each day's cut-off block, checked against accountOf there.

    Exit 0: drawn from a trail proven complete, balances equal to the views; 1: findings; 3: not proven complete."""
    parse_zone(tz)
    parse_day(date_from, "--from"), parse_day(date_to, "--to")
    chosen = format_for(out, fmt)
    if out is not None:
        writable_file(out, "--out")
    elif chosen == "xlsx":
        raise click.UsageError("--format xlsx writes a file: give --out FILE.xlsx")
    drawn = statement_of(_trail(src, expected_head), institution, date_from, date_to, tz=tz, check_views=not no_views)
    if out is not None:
        written = write_statement(drawn, out, chosen)
        units = Units(drawn.decimals, drawn.symbol)
        print_lines(
            [
                f"wrote the statement of institution {drawn.institution.index} {drawn.institution.name} "
                f"({len(drawn.rows):,} movements, {len(drawn.days):,} days) to " + ", ".join(map(str, written)),
                f"  opening (block {drawn.opening_block}): {_balances_line(units, drawn.opening)}",
                f"  closing (block {drawn.closing_block}): {_balances_line(units, drawn.closing)}",
                f"{drawn.marker} (exit {drawn.exit_code})",
                *(f"  note: {n}" for n in drawn.notes),
            ]
        )
    elif fmt == "json":
        click.echo(statement_json(drawn))
    elif fmt == "csv":
        click.echo(csv_text(drawn), nl=False)
        if drawn.exit_code:
            console(err=True).print(f"{drawn.marker} (exit {drawn.exit_code})", markup=False, highlight=False)
    else:
        _print_statement(drawn)
    raise SystemExit(drawn.exit_code)


def _print_statement(s: DailyStatement) -> None:
    units = Units(s.decimals, s.symbol)
    inst = s.institution
    out = console()
    print_lines(
        [
            f"statement of institution {inst.index} {inst.name} {inst.address}",
            f"  ledger {s.ledger} on chain {s.chain_id}; trail up to block {s.final_block} ({s.iso(s.final_time)})",
            f"  {s.date_from} to {s.date_to}, days in {s.zone}; a day's cut-off is its last block before midnight",
            f"  amounts in {units.label}, every decimal",
            f"  opening (block {s.opening_block}): {_balances_line(units, s.opening)}",
        ]
    )
    columns = ["date", "time", "loan", "reference", "component", "amount", "seq", "block"]
    rows = [
        (r.date, r.time, "" if r.loan_id is None else r.loan_id, r.loan_ref, r.component, units.fmt(r.amount),
         r.seq, r.block)
        for r in s.rows
    ]  # fmt: skip
    out.print(table("movements", columns, rows, right=("loan", "amount", "seq", "block")))
    day_columns = ["date", "cut-off block", "movements", *BALANCE_NAMES, "accountOf"]
    day_rows = [
        (
            d.date + ("" if d.complete else " (open)"),
            d.cutoff_block,
            d.movements,
            *(units.fmt(v) for v in d.closing),
            "not read" if d.views is None else ("equal" if d.views == d.closing else "DIFFERS"),
        )
        for d in s.days
    ]
    out.print(
        table("closing balances by day", day_columns, day_rows, right=("cut-off block", "movements", *BALANCE_NAMES))
    )
    totals: dict[str, int] = {}
    for d in s.days:
        for name, amount in d.subtotals.items():
            totals[name] = totals.get(name, 0) + amount
    print_lines(
        [
            *(f"  total {name}: {units.fmt(amount)}" for name, amount in totals.items()),
            f"  closing (block {s.closing_block}): {_balances_line(units, s.closing)}",
            *(f"  - {f.describe()}" for f in [*s.verification.findings, *s.findings]),
            *(f"  note: {n}" for n in s.notes),
            f"{s.marker} (exit {s.exit_code})",
        ]
    )


@click.command("reconcile")
@source_options
@click.argument("institution")
@click.option(
    "--books",
    required=True,
    type=click.Path(path_type=Path),
    help="The institution's own books: CSV with the header loan_ref,date,component,amount (or loan_id).",
)
@click.option("--from", "date_from", help="First day (default: the books' first date).")
@click.option("--to", "date_to", help="Last day, included (default: the books' last date).")
@tz_option
@click.option("--json", "as_json", is_flag=True, help="Print the reconciliation as JSON.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Also write the report to this file: JSON for .json, the breaks as CSV for .csv, else the text.",
)
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write the reconciliation as HTML.")
@no_views_option
@expected_head_option
def reconcile_command(
    src: Source,
    institution: str,
    books: Path,
    date_from: str | None,
    date_to: str | None,
    tz: str,
    as_json: bool,
    out: Path | None,
    html_path: Path | None,
    no_views: bool,
    expected_head: str | None,
) -> None:
    """Match INSTITUTION's own books against its statement and report every break: missing on chain, missing
    from books, amount differs, date differs, and timing differences across a cut-off (T+1).

    Exit 0 only with no break (against a verified trail); 1 with breaks; 3 with none but an unproven trail."""
    parse_zone(tz)
    for path, what in ((out, "--out"), (html_path, "--html")):
        if path is not None:
            writable_file(path, what)
    rec = reconcile_trail(
        _trail(src, expected_head),
        institution,
        books,
        date_from=date_from,
        date_to=date_to,
        tz=tz,
        check_views=not no_views,
    )
    lines = _reconciliation_lines(rec)
    if html_path is not None:
        from pylender.statements.html import write_reconciliation_html

        write_reconciliation_html(html_path, rec)
    if out is not None:
        _write_report(rec, out, lines)
    if as_json:
        emit_json(rec.to_json_dict())
    else:
        _print_reconciliation(rec, lines)
    raise SystemExit(rec.exit_code)


def _reconciliation_lines(rec: Reconciliation) -> list[str]:
    s = rec.statement
    units = Units(s.decimals, s.symbol)
    inst = s.institution
    count = len(rec.breaks)
    verdict = (
        f"{count} BREAK(S): " + ", ".join(f"{n} {kind}" for kind, n in rec.counts().items() if n)
        if count
        else "RECONCILED: no break"
    )
    return [
        f"reconciliation of institution {inst.index} {inst.name} {inst.address} with {rec.books}",
        f"  {rec.date_from} to {rec.date_to}, days in {s.zone}; amounts in {units.label}",
        f"  books entries {rec.books_entries:,}, ledger movements {rec.movements:,}, matched {rec.matched:,}"
        + (f"; {rec.outside:,} books entries outside the period" if rec.outside else ""),
        f"  opening (block {rec.opening_block}): {_balances_line(units, rec.opening)}",
        f"  closing (block {rec.closing_block}): {_balances_line(units, rec.closing)}",
        *(f"  - {b.describe(s.decimals)}" for b in rec.breaks),
        *(f"  note: {n}" for n in [*rec.notes, *s.notes]),
        f"  the statement: {s.marker}",
        f"{verdict} (exit {rec.exit_code})",
    ]


def _print_reconciliation(rec: Reconciliation, lines: list[str]) -> None:
    s = rec.statement
    units = Units(s.decimals, s.symbol)
    print_lines(lines[:5])
    columns = ["component", "on chain", "chain total", "in books", "books total", "matched", "books - chain"]
    rows = [
        (t.component, t.chain_count, units.fmt(t.chain_total), t.books_count, units.fmt(t.books_total),
         t.matched_count, units.fmt(t.difference))
        for t in rec.totals
    ]  # fmt: skip
    console().print(table("totals by component", columns, rows, right=columns[1:]))
    print_lines(lines[5:])


def _write_report(rec: Reconciliation, path: Path, lines: list[str]) -> None:
    import csv
    import json

    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            path.write_text(json.dumps(rec.to_json_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        elif suffix == ".csv":
            d = rec.statement.decimals
            with path.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(list(Break.model_fields))
                for b in rec.breaks:
                    writer.writerow(["" if v is None else v for v in b.to_json(d).values()])
        else:
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        from pylender.errors import InvalidPath

        raise InvalidPath(f"cannot write {path}: {exc.strerror or exc}") from exc
