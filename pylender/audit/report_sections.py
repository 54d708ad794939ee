"""The report's sections as HTML: verdict, facts, findings, totals, institutions, statuses, overdue, cash
flows, losses, the loan list in pages, institutions, roles and policy breaches (:mod:`pylender.audit.report`
puts them together)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from pylender.audit import charts
from pylender.audit.breaches import policy_breaches
from pylender.audit.findings import Outcome, VerificationResult
from pylender.audit.portfolio import (
    PortfolioTotals,
    Units,
    by_status,
    components,
    disbursement_blocks,
    overdue_buckets,
    overdue_loans,
    portfolio_totals,
)
from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks, Status
from pylender.audit.report_facts import ReportFacts
from pylender.audit.trail import role_rows
from pylender.audit.verdict import headline, statements
from pylender.audit.views import LedgerViews
from pylender.values import DISBURSED_STATUSES

PAGE = 100  # loans per page of the loan list
OVERDUE_LISTED = 50
CSS = """
:root{--ok:#13795b;--bad:#b00020;--warn:#8a5a00;--line:#d0d5dc}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d232a;margin:0;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:32px 0 8px;border-bottom:2px solid var(--line)}
h3{font-size:1.05em;margin:20px 0 6px}p,li{line-height:1.45}
table{border-collapse:collapse;width:100%;margin:8px 0 12px;font-size:.92em}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#eef1f4;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.hex{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.86em;overflow-wrap:anywhere}
.verdict{border:2px solid;border-radius:6px;padding:12px 16px;margin:12px 0}
.verdict.ok{border-color:var(--ok);background:#eaf6f1}.verdict.bad{border-color:var(--bad);background:#fdecee}
.verdict.warn{border-color:var(--warn);background:#fdf5e6}
.verdict .headline{font-size:1.2em;font-weight:700;margin:0 0 6px}
.ok .headline{color:var(--ok)}.bad .headline{color:var(--bad)}.warn .headline{color:var(--warn)}
ul.checks{list-style:none;padding-left:0;margin:6px 0}ul.checks li{padding-left:1.6em;text-indent:-1.6em}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em}
.note{color:#5b6570;font-size:.9em}
figure{margin:8px 0 16px}figure svg{max-width:100%;height:auto;display:block}
details{margin:4px 0}summary{cursor:pointer;font-weight:600}
"""
MARKS = {"proved": "✔", "failed": "✘", "not proved": "○", "not checked": "–"}


# ------------------------------------------------------------------------------------------------ HTML pieces


def cell(value: Any, numeric: bool = False) -> str:
    text = str(value)
    if numeric:
        return f'<td class="n">{escape(text)}</td>'
    if text.startswith("0x") and len(text) >= 42:  # an address or a hash: may break anywhere, nothing cut
        return f'<td class="hex">{escape(text)}</td>'
    return f"<td>{escape(text)}</td>"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = (), empty: str = "") -> str:
    """A table; the columns at ``numeric`` positions right-aligned. ``empty`` replaces a table without rows."""
    if not rows and empty:
        return f'<p class="note">{escape(empty)}</p>'
    nums = set(numeric)
    head = "".join(
        f'<th class="n">{escape(h)}</th>' if i in nums else f"<th>{escape(h)}</th>" for i, h in enumerate(headers)
    )
    body = "".join("<tr>" + "".join(cell(v, i in nums) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption class='note'>{escape(caption)}</figcaption></figure>"


def institution_names(books: AuditBooks) -> dict[str, str]:
    return {a.address: a.name or a.address for a in books.accounts.values()}


# ------------------------------------------------------------------------------------------------ sections


def verdict(result: VerificationResult, facts: ReportFacts) -> str:
    css = {Outcome.VERIFIED: "ok", Outcome.FINDINGS: "bad", Outcome.NOT_PROVEN_COMPLETE: "warn"}[result.outcome]
    checks = "".join(
        f"<li><span aria-hidden='true'>{MARKS[s.state]}</span> <b>{escape(s.state)}</b>: {escape(s.text)}</li>"
        for s in statements(result)
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in result.notes)
    return (
        f'<section class="verdict {css}"><p class="headline">{escape(headline(result))}</p>'
        f"<p>What this verification proved:</p><ul class='checks'>{checks}</ul>"
        + (f"<p>Notes:</p><ul>{notes}</ul>" if notes else "")
        + "</section>"
    )


def facts(result: VerificationResult, facts: ReportFacts) -> str:
    units = facts.units
    token = (
        f"{facts.symbol or '(no symbol)'}, {facts.decimals} decimals, {facts.token}"
        if facts.decimals is not None
        else "unknown: amounts are in the token's base units"
    )
    rows = [
        ("ledger", result.ledger or facts.ledger or "(not named)"),
        ("chain id", result.chain_id if result.chain_id is not None else facts.chain_id or "(not named)"),
        ("records from", facts.source or result.source),
        ("first block", facts.block(result.first_block if result.first_block is not None else facts.first_block)),
        ("final block (the report is as of)", facts.block(facts.final_block)),
        ("token", token),
        ("amounts", f"in {units.label}, every decimal shown"),
        ("times", f"ISO 8601 in {facts.zone_name}"),
        ("records", f"{result.records:,} (last seq {result.last_seq:,})"),
        ("computed head", result.computed_head),
        ("trusted head", f"{result.trusted_head} ({result.trusted_source})" if result.trusted_head else "none"),
    ]
    return table(["fact", "value"], [(k, v) for k, v in rows])


def findings(result: VerificationResult) -> str:
    if not result.findings:
        return ""
    shown = result.findings[:200]
    rows = [(f.check, "" if f.seq is None else f.seq, f.subject, f.field, f.expected, f.found, f.detail) for f in shown]
    more = (
        f"<p class='note'>{len(result.findings) - len(shown):,} more finding(s) not shown.</p>"
        if len(result.findings) > len(shown)
        else ""
    )
    return (
        "<h3>Findings</h3>"
        + table(["check", "seq", "subject", "field", "expected", "found", "detail"], rows, [1])
        + more
    )


def portfolio(books: AuditBooks, units: Units) -> str:
    p = portfolio_totals(books)
    c = components(books)
    fmt = units.fmt
    totals = [
        ("funded (principal lent in disbursed loans)", fmt(p.funded)),
        ("outstanding principal (active and defaulted loans)", fmt(p.outstanding)),
        ("collected: principal", fmt(p.principal)),
        ("collected: lender income (interest net of service fees, penalty, prepayment fees)", fmt(p.income)),
        ("collected: service fees", fmt(p.fees)),
        ("collected: recoveries", fmt(p.recoveries)),
        ("reserves held", fmt(p.reserve)),
        ("written off", fmt(p.written_off)),
        ("of which absorbed by reserves", fmt(p.absorbed)),
        ("unrecovered losses", fmt(p.loss)),
    ]
    paid = [
        ("interest (gross, service fee included)", fmt(c.interest)),
        ("of which service fee", fmt(c.service_fee)),
        ("penalty interest", fmt(c.penalty)),
        ("prepayment fees", fmt(c.prepayment_fee)),
        ("principal", fmt(c.principal)),
        ("recoveries", fmt(c.recoveries)),
        ("total paid in", fmt(c.interest + c.penalty + c.prepayment_fee + c.principal + c.recoveries)),
    ]
    return (
        f"<h2>Portfolio totals</h2>{table(['figure', units.label], totals, [1])}"
        f"<h3>What borrowers paid, by component of the waterfall</h3>{table(['component', units.label], paid, [1])}"
    )


def institutions(rows: Sequence[PortfolioTotals], units: Units) -> str:
    fmt = units.fmt
    lending = [
        (r.name, r.address, fmt(r.funded), fmt(r.outstanding), fmt(r.reserve), fmt(r.written_off), fmt(r.loss))
        for r in rows
    ]
    collected = [
        (r.name, fmt(r.principal), fmt(r.income), fmt(r.fees), fmt(r.recoveries), fmt(r.leftovers), fmt(r.collected))
        for r in rows
    ]
    chart = charts.stacked_bars(
        f"Collected per institution ({units.label})",
        [r.name for r in rows],
        {
            "principal": [units.value(r.principal) for r in rows],
            "income": [units.value(r.income) for r in rows],
            "service fees": [units.value(r.fees) for r in rows],
            "recoveries": [units.value(r.recoveries) for r in rows],
        },
        units.label,
    )
    return (
        f"<h2>Per institution ({escape(units.label)})</h2><h3>Lending</h3>"
        + table(
            ["institution", "address", "funded", "outstanding", "reserve", "written off", "unrecovered loss"],
            lending,
            [2, 3, 4, 5, 6],
            "No institution.",
        )
        + "<h3>Collected, by component</h3>"
        + table(
            ["institution", "principal", "income", "service fees", "recoveries", "leftover units", "total"],
            collected,
            [1, 2, 3, 4, 5, 6],
            "No institution.",
        )
        + "<p class='note'>Income is interest net of the service fee, penalty interest and prepayment fees, the part "
        "held in reserve included; outstanding is each lender's pro-rata share of the principal still owed (the "
        "lead lender takes the rounding remainder); leftover units are split remainders the lead lender received.</p>"
        + (
            figure(chart, "Stacked: principal, income, service fees and recoveries each institution received.")
            if rows
            else ""
        )
    )


def statuses(books: AuditBooks, units: Units) -> str:
    lines = by_status(books)
    rows = [(s.status, f"{s.loans:,}", units.fmt(s.principal), units.fmt(s.outstanding)) for s in lines]
    drawn = [s for s in lines if s.loans]
    chart = charts.horizontal_bars(
        "Loans by status",
        [s.status for s in drawn],
        [float(s.loans) for s in drawn],
        "loans",
        [f"{s.loans:,} loan(s), {units.fmt(s.principal)} {units.label}" for s in drawn],
        counts=True,
    )
    return (
        "<h2>Loans by status</h2>"
        + table(["status", "loans", f"principal ({units.label})", f"outstanding ({units.label})"], rows, [1, 2, 3])
        + (figure(chart, "Number of loans in each status (those with loans), with their principal.") if drawn else "")
    )


def overdue(books: AuditBooks, records: Sequence[Record], facts: ReportFacts) -> str:
    units = facts.units
    as_of = facts.as_of
    disbursed = {loan: facts.block_times.get(block) for loan, block in disbursement_blocks(records).items()}
    known = {loan: t for loan, t in disbursed.items() if t is not None}
    active = [x for x in books.loans.values() if x.status == Status.ACTIVE]
    if as_of is None or len(known) < sum(1 for x in books.loans.values() if x.status in DISBURSED_STATUSES):
        return (
            "<h2>Overdue loans</h2><p class='note'>The times of the blocks are not known (an export written without "
            "them): overdue buckets need each disbursement's time and the final block's. Report from the node "
            "(--rpc), or from an export that carries block times.</p>"
        )
    overdue = overdue_loans(books, known, as_of)
    buckets = overdue_buckets(overdue)
    open_total = sum(x.outstanding for x in active) + sum(
        x.outstanding for x in books.loans.values() if x.status == Status.DEFAULTED
    )
    rows = [
        (
            b.label,
            f"{b.loans:,}",
            units.fmt(b.outstanding),
            f"{(100 * b.outstanding / open_total if open_total else 0):.2f} %",
        )
        for b in buckets
    ]
    defaulted = [x for x in books.loans.values() if x.status == Status.DEFAULTED]
    rows.append(
        ("defaulted (not written off)", f"{len(defaulted):,}", units.fmt(sum(x.outstanding for x in defaulted)), "")
    )
    listed = [
        (o.loan_id, o.installment, facts.iso(o.due), f"{o.days:,}", units.fmt(o.outstanding))
        for o in overdue[:OVERDUE_LISTED]
    ]
    chart = charts.horizontal_bars(
        f"Overdue outstanding principal by days past due ({units.label})",
        [b.label for b in buckets],
        [units.value(b.outstanding) for b in buckets],
        units.label,
        [f"{b.loans:,} loan(s), {units.fmt(b.outstanding)}" for b in buckets],
    )
    more = (
        f"<p class='note'>{len(overdue) - OVERDUE_LISTED:,} more overdue loan(s) not listed.</p>"
        if len(overdue) > OVERDUE_LISTED
        else ""
    )
    return (
        f"<h2>Overdue loans</h2><p>As of {escape(facts.iso(as_of))} (the final block). An active loan is overdue when "
        "its oldest unpaid installment is past its due date and the grace period; days past due count from the due "
        "date, a part day as a day.</p>"
        + table(["days past due", "loans", f"outstanding ({units.label})", "share of outstanding"], rows, [1, 2, 3])
        + figure(chart, "Outstanding principal of the overdue active loans in each bucket.")
        + "<h3>Overdue loans, most days past due first</h3>"
        + table(
            ["loan", "installment", "due", "days past due", f"outstanding ({units.label})"],
            listed,
            [0, 1, 3, 4],
            "No loan is overdue.",
        )
        + more
    )


def cash_flows(books: AuditBooks, facts: ReportFacts) -> str:
    units = facts.units
    names = institution_names(books)
    running: dict[str, int] = {}
    series: dict[str, list[tuple[int, float]]] = {}
    missing = 0
    for flow in books.flows:
        if flow.component not in ("principal", "income", "reserve", "fee", "recovery", "leftover"):
            continue
        when = facts.block_times.get(flow.block)
        if when is None:
            missing += 1
            continue
        running[flow.account] = running.get(flow.account, 0) + flow.amount
        series.setdefault(names.get(flow.account, flow.account), []).append((when, units.value(running[flow.account])))
    if missing or not series:
        why = "the times of the blocks are not known" if missing else "nothing was collected yet"
        return f"<h2>Cash flows over time</h2><p class='note'>No chart: {why}.</p>"
    if facts.as_of is not None:  # every line runs to the report's time
        for points in series.values():
            points.append((facts.as_of, points[-1][1]))
    chart = charts.steps_over_time(
        f"Cumulative collections per institution ({units.label})", series, units.label, facts.zone, facts.zone_name
    )
    return "<h2>Cash flows over time</h2>" + figure(
        chart, "Principal, income, fees and recoveries received, cumulated."
    )


def losses(rows: Sequence[PortfolioTotals], units: Units) -> str:
    if not any(r.written_off or r.recoveries or r.loss for r in rows):
        return "<h2>Losses and recoveries</h2><p class='note'>No loan was written off and nothing was recovered.</p>"
    lines = [
        (r.name, units.fmt(r.written_off), units.fmt(r.absorbed), units.fmt(r.recoveries), units.fmt(r.loss))
        for r in rows
    ]
    chart = charts.stacked_bars(
        f"Written off per institution ({units.label})",
        [r.name for r in rows],
        {
            "absorbed by reserve": [units.value(r.absorbed) for r in rows],
            "recovered after the write-off": [units.value(max(0, r.written_off - r.absorbed - r.loss)) for r in rows],
            "unrecovered loss": [units.value(r.loss) for r in rows],
        },
        units.label,
    )
    return (
        "<h2>Losses and recoveries</h2>"
        + table(
            ["institution", "written off", "absorbed by reserve", "recovered", "unrecovered loss"], lines, [1, 2, 3, 4]
        )
        + figure(
            chart,
            "Each institution's written-off principal: what its reserve absorbed, what was recovered, what is lost.",
        )
    )


def loan_pages(books: AuditBooks, records: Sequence[Record], facts: ReportFacts) -> str:
    units = facts.units
    names = institution_names(books)
    disbursed = disbursement_blocks(records)
    loans = list(books.loans.values())
    rows = [
        (
            x.loan_id,
            x.status.name.replace("_", " ").lower(),
            units.fmt(int(x.terms["principal"])),
            units.fmt(x.outstanding if x.status in (Status.ACTIVE, Status.DEFAULTED) else 0),
            units.fmt(x.book.interest_paid),
            units.fmt(x.book.principal_paid),
            f"{min(x.installment, int(x.terms['periods']))}/{x.terms['periods']}" if x.installment else "",
            facts.iso(facts.block_times.get(disbursed[x.loan_id])) if x.loan_id in disbursed else "",
            ", ".join(names.get(lender, lender) for lender in x.lenders),
        )
        for x in loans
    ]
    headers = [
        "loan",
        "status",
        "principal",
        "outstanding",
        "interest paid",
        "principal paid",
        "installment",
        "disbursed",
        "lenders",
    ]
    pages: list[str] = []
    for start in range(0, len(rows), PAGE):
        part = rows[start : start + PAGE]
        label = f"Loans {part[0][0]} to {part[-1][0]}"
        opened = " open" if not pages else ""  # the first page shows; the others open on a click
        page = table(headers, part, [0, 2, 3, 4, 5])
        pages.append(f"<details{opened}><summary>{escape(label)}</summary>{page}</details>")
    return (
        f"<h2>Loans ({len(loans):,}, in pages of {PAGE})</h2><p class='note'>Amounts in {escape(units.label)}. The "
        "full list with every field: <code>pylender audit export</code> or <code>pylender.audit.frames.loans_frame"
        "</code>.</p>" + ("".join(pages) or "<p class='note'>No loan.</p>")
    )


def registry(books: AuditBooks, records: Sequence[Record], views: LedgerViews | None) -> str:
    accounts = sorted(books.accounts.values(), key=lambda a: a.index)
    registry = [(a.index, a.name, a.address, "yes" if a.is_platform else "") for a in accounts]
    holders, changes = role_rows(records, books)
    current = dict(views.call("policy")) if views is not None else None
    breaches = [
        (b.loan_id, b.seq, b.policy, b.rule, f"{b.value:,}", f"{b.limit:,}") for b in policy_breaches(records, current)
    ]
    return (
        "<h2>Institutions</h2>"
        + table(["#", "name", "address", "platform"], registry, [0], "No institution.")
        + "<h2>Roles</h2><p class='note'>Who holds each role after the last record (LENDER_ROLE also by registration), "
        "and every grant and revocation the trail holds; the verification compares the holders with "
        "<code>hasRole</code>.</p>"
        + table(["role", "account"], [(h["role"], h["account"]) for h in holders], (), "No role holders in the trail.")
        + table(
            ["seq", "block", "role", "account", "change", "by"],
            [(c["seq"], c["block"], c["role"], c["account"], c["change"], c["by"]) for c in changes],
            [0, 1],
            "No role changes in the trail.",
        )
        + "<h2>Policy breaches</h2>"
        + table(
            ["loan", "seq", "policy", "rule", "value", "limit"],
            breaches,
            [0, 1, 4, 5],
            "No loan breaches the policy in force at origination or the latest.",
        )
    )
