"""The reconciliation for people (``reconcile --html``): one self-contained page (inline CSS, no script, nothing
fetched) in the audit report's style: the verdict, what the statement it is checked against may be relied on
for, the matched totals by component, the balances at the cut-offs, then every break.

Amounts are token units with every decimal; dates are the statement's, in its timezone.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from pylender.audit.portfolio import Units
from pylender.audit.report_sections import CSS as REPORT_STYLE
from pylender.audit.report_sections import table
from pylender.errors import InvalidPath
from pylender.statements.components import BALANCE_NAMES
from pylender.statements.matching import BreakKind, Reconciliation

_EXTRA_STYLE = """
.kinds{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 4px;padding:0;list-style:none}
.kinds li{border:1px solid var(--line);border-radius:4px;padding:4px 10px;background:#f6f7f9}
.kinds li b{font-variant-numeric:tabular-nums}
td.hex{max-width:11em}
"""


def _verdict(rec: Reconciliation, units: Units) -> str:
    s = rec.statement
    count = len(rec.breaks)
    if count:
        css, headline = "bad", f"{count} BREAK{'S' if count != 1 else ''}: the books and the ledger differ"
    elif s.outcome.value != "verified":
        css, headline = "warn", "NO BREAK, but the statement is not proven: see below"
    else:
        css, headline = "ok", "RECONCILED: every entry of the books matches the ledger, and nothing is missing"
    state = {"verified": "ok", "findings": "bad"}.get(s.outcome.value, "warn")
    kinds = "".join(f"<li>{escape(kind)}: <b>{n}</b></li>" for kind, n in rec.counts().items())
    return (
        f'<section class="verdict {css}"><p class="headline">{escape(headline)}</p>'
        f"<p>{rec.matched:,} of {rec.books_entries:,} books entries matched the ledger's {rec.movements:,} "
        f"movement(s) from {rec.date_from} to {rec.date_to} ({escape(s.zone)}); exit code {rec.exit_code}.</p>"
        f'<ul class="kinds">{kinds}</ul>'
        f'<p class="verdict-line {state}"><b>The statement:</b> {escape(s.marker)}</p></section>'
    )


def _facts(rec: Reconciliation, units: Units) -> str:
    s = rec.statement
    inst = s.institution
    rows = [
        ("institution", f"#{inst.index} {inst.name}" + (" (platform)" if inst.is_platform else "")),
        ("address", inst.address),
        ("ledger", s.ledger or "(not named)"),
        ("chain id", s.chain_id if s.chain_id is not None else "(not named)"),
        ("books", rec.books or "(given in Python)"),
        ("period", f"{rec.date_from} to {rec.date_to}, days in {s.zone}"),
        ("cut-off", f"the last block before midnight in {s.zone}" + ("" if s.cutoffs_exact else " (approximate)")),
        ("amounts", f"in {units.label}, every decimal shown" + (f", token {s.token}" if s.token else "")),
        ("trail", f"up to block {s.final_block} ({s.iso(s.final_time) or 'time unknown'}), from the {s.source}"),
    ]
    return table(["fact", "value"], rows)


def _totals(rec: Reconciliation, units: Units) -> str:
    rows = [
        (
            t.component,
            f"{t.chain_count:,}",
            units.fmt(t.chain_total),
            f"{t.books_count:,}",
            units.fmt(t.books_total),
            f"{t.matched_count:,}",
            units.fmt(t.matched_total),
            units.fmt(t.difference),
        )
        for t in rec.totals
    ]
    headers = ["component", "on chain", "chain total", "in books", "books total", "matched", "matched total"]
    return table([*headers, "books − chain"], rows, numeric=range(1, 8), empty="Neither side has an entry.")


def _balances(rec: Reconciliation, units: Units) -> str:
    rows = [
        (f"opening (cut-off block {rec.opening_block})", *(units.fmt(v) for v in rec.opening)),
        (f"closing (cut-off block {rec.closing_block})", *(units.fmt(v) for v in rec.closing)),
    ]
    return table(["", *BALANCE_NAMES], rows, numeric=range(1, 5))


def _breaks(rec: Reconciliation, units: Units) -> str:
    if not rec.breaks:
        return '<p class="note">No break.</p>'
    rows = [
        (
            b.kind.value,
            "" if b.loan_id is None else b.loan_id,
            b.loan_ref,
            b.component,
            b.chain_date or "",
            b.books_date or "",
            "" if b.chain_amount is None else units.fmt(b.chain_amount),
            "" if b.books_amount is None else units.fmt(b.books_amount),
            units.fmt(b.difference),
            "" if b.seq is None else b.seq,
            "" if b.books_line is None else b.books_line,
            b.detail,
        )
        for b in rec.breaks
    ]
    headers = ["kind", "loan", "reference", "component", "chain date", "books date", "chain amount"]
    headers += ["books amount", "books − chain", "seq", "books line", "detail"]
    return table(headers, rows, numeric=(1, 6, 7, 8, 9, 10))


def build_reconciliation_html(rec: Reconciliation) -> str:
    """The reconciliation as one HTML document."""
    s = rec.statement
    units = Units(s.decimals, s.symbol)
    inst = s.institution
    title = f"Reconciliation of {inst.name} with the ledger, {rec.date_from} to {rec.date_to}"
    explain = "".join(
        f"<li><b>{escape(k.value)}</b>: {escape(text)}</li>"
        for k, text in (
            (BreakKind.MISSING_ON_CHAIN, "in the books, not on the ledger"),
            (BreakKind.MISSING_FROM_BOOKS, "on the ledger, not in the books"),
            (BreakKind.AMOUNT_DIFFERS, "the same loan, component and day, another amount"),
            (BreakKind.DATE_DIFFERS, "the same loan, component and amount, days apart"),
            (BreakKind.TIMING, "the same amount one day apart: booked across a cut-off"),
        )
    )
    notes = [*rec.notes, *s.notes]
    body = "".join(
        [
            f"<h1>{escape(title)}</h1>",
            f"<p class='note'>All amounts in {escape(units.label)}; dates in {escape(s.zone)}.</p>",
            "<h2>Verdict</h2>",
            _verdict(rec, units),
            _facts(rec, units),
            "<h2>Matched totals</h2>",
            _totals(rec, units),
            "<h2>Balances at the cut-offs</h2>",
            _balances(rec, units),
            f"<h2>Breaks ({len(rec.breaks):,})</h2>",
            f"<ul>{explain}</ul>",
            _breaks(rec, units),
            ("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>") if notes else "",
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{REPORT_STYLE}{_EXTRA_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def write_reconciliation_html(path: str | Path, rec: Reconciliation) -> Path:
    path = Path(path)
    try:
        path.write_text(build_reconciliation_html(rec), encoding="utf-8")
    except OSError as exc:
        raise InvalidPath(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
