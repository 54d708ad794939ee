"""A self-contained HTML audit report: verification, portfolio, lender cash flows, losses, breaches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pylender.audit.findings import VerificationResult
from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks, Status
from pylender.audit.svg import bar_chart, line_chart
from pylender.audit.trail import INTERNAL_MOVES
from pylender.audit.views import LedgerViews
from pylender.values import role_name

CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}
.ok{color:#13795b;font-weight:bold}.bad{color:#b00020;font-weight:bold}svg{margin:0.5em 1em 0.5em 0}"""


class Breach(BaseModel):
    """A loan whose terms break a policy rule (at origination, or under the latest policy)."""

    loan_id: int
    seq: int
    policy: str  # "at origination" or "latest"
    rule: str
    value: int
    limit: int


def _check_terms(
    loan_id: int,
    seq: int,
    label: str,
    terms: dict[str, Any],
    tranches: list[dict[str, Any]],
    policy: dict[str, Any],
    platforms: set[str],
) -> list[Breach]:
    out: list[Breach] = []

    def add(rule: str, value: int, limit: int) -> None:
        out.append(Breach(loan_id=loan_id, seq=seq, policy=label, rule=rule, value=value, limit=limit))

    if int(terms["annualRateBps"]) > int(policy["maxAnnualRateBps"]):
        add("annual rate above cap", int(terms["annualRateBps"]), int(policy["maxAnnualRateBps"]))
    if int(terms["penaltyRateBps"]) > int(policy["maxPenaltyRateBps"]):
        add("penalty rate above cap", int(terms["penaltyRateBps"]), int(policy["maxPenaltyRateBps"]))
    if int(terms["principal"]) > int(policy["maxPrincipal"]):
        add("principal above cap", int(terms["principal"]), int(policy["maxPrincipal"]))
    if int(terms["reserveBps"]) < int(policy["minReserveBps"]):
        add("reserve below minimum", int(terms["reserveBps"]), int(policy["minReserveBps"]))
    if len(tranches) > 1:
        platform = sum(int(t["shareBps"]) for t in tranches if t["lender"] in platforms)
        if platform < int(policy["minPlatformShareBps"]):
            add("platform share below minimum", platform, int(policy["minPlatformShareBps"]))
    return out


def policy_breaches(records: Sequence[Record], current: dict[str, Any] | None = None) -> list[Breach]:
    """Loans breaching the policy in force when they were originated, or the latest policy.

    The deployment's initial policy is set in the constructor, which writes no record: pass the ledger's
    ``policy()`` view as ``current`` to check against it when the trail has no ``PolicyUpdated`` yet.
    """
    policy: dict[str, Any] | None = None
    platforms: set[str] = set()
    originated: list[Record] = []
    out: list[Breach] = []
    for r in sorted(records, key=lambda r: r.seq):
        if r.kind == "PolicyUpdated":
            policy = dict(r.fields["policy"])
        elif r.kind == "InstitutionRegistered" and r.fields["isPlatform"]:
            platforms.add(r.fields["account"])
        elif r.kind == "LoanOriginated":
            originated.append(r)
            if policy is not None:
                out += _check_terms(
                    int(r.fields["loanId"]),
                    r.seq,
                    "at origination",
                    r.fields["terms"],
                    r.fields["tranches"],
                    policy,
                    platforms,
                )
    policy = current if current is not None else policy
    if policy is not None:
        for r in originated:
            out += _check_terms(
                int(r.fields["loanId"]), r.seq, "latest", r.fields["terms"], r.fields["tranches"], policy, platforms
            )
    return out


def overdue_rows(books: AuditBooks, views: LedgerViews | None) -> list[dict[str, Any]]:
    """Overdue loans: from ``amountDue`` when views are at hand, else defaults and late installments."""
    rows: list[dict[str, Any]] = []
    for loan in books.loans.values():
        row: dict[str, Any] = {
            "loan": loan.loan_id,
            "status": loan.status.name,
            "late installments": loan.late,
            "max days late": loan.max_days_late,
            "outstanding": loan.outstanding,
        }
        if views is not None and loan.status == Status.ACTIVE:
            due = views.call("amountDue", loan.loan_id)
            row.update(
                {
                    "overdue installments": int(due["overdueInstallments"]),
                    "penalty": int(due["penalty"]),
                    "total due": int(due["totalDue"]),
                }
            )
            if row["overdue installments"] or loan.late:
                rows.append(row)
        elif loan.status in (Status.DEFAULTED, Status.WRITTEN_OFF) or loan.late:
            rows.append(row)
    return rows


def _table(rows: Sequence[dict[str, Any]], empty: str) -> str:
    if not rows:
        return f"<p>{escape(empty)}</p>"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f'<th class="l">{escape(c)}</th>' for c in cols)
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            cls = "" if isinstance(v, int) and not isinstance(v, bool) else ' class="l"'
            text = f"{v:,}" if cls == "" else str(v)
            cells.append(f"<td{cls}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _cash_series(books: AuditBooks) -> dict[str, list[tuple[int, int]]]:
    names = {a.address: a.name or a.address for a in books.accounts.values()}
    series: dict[str, list[tuple[int, int]]] = {}
    totals: dict[str, int] = {}
    for f in books.flows:
        if f.component in INTERNAL_MOVES or f.component == "withdrawal":
            continue
        totals[f.account] = totals.get(f.account, 0) + f.amount
        series.setdefault(names.get(f.account, f.account), []).append((f.block, totals[f.account]))
    return series


def role_rows(records: Sequence[Record], books: AuditBooks) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Who holds each role after the last record, and every grant and revocation (AccessChanged) in seq order."""
    holders = [
        {"role": role_name(role), "account": account}
        for role, members in sorted(books.roles.items(), key=lambda kv: role_name(kv[0]))
        for account in sorted(members)
    ]
    changes = [
        {
            "seq": r.seq,
            "block": r.block_number,
            "role": role_name(r.fields["role"]),
            "account": r.fields["account"],
            "change": "granted" if r.fields["granted"] else "revoked",
            "by": r.fields["by"],
        }
        for r in sorted(records, key=lambda r: r.seq)
        if r.kind == "AccessChanged"
    ]
    return holders, changes


def build_report(
    result: VerificationResult,
    records: Sequence[Record],
    books: AuditBooks,
    views: LedgerViews | None = None,
    title: str = "pylender audit report",
) -> str:
    """The report as one HTML document (inline CSS and SVG only)."""
    status = '<span class="ok">PASSED</span>' if result.ok else '<span class="bad">FAILED</span>'
    verification = _table(
        [
            {
                "check": f.check,
                "seq": "" if f.seq is None else str(f.seq),
                "subject": f.subject,
                "field": f.field,
                "expected": f.expected,
                "found": f.found,
                "detail": f.detail,
            }
            for f in result.findings
        ],
        "No findings: every check matched.",
    )
    facts = _table(
        [
            {
                "ledger": result.ledger or "(export)",
                "records": result.records,
                "last seq": result.last_seq,
                "computed head": result.computed_head,
                "on-chain head": result.onchain_head or "(not checked)",
                "replayed": str(result.replayed),
                "views compared": str(result.compared_views),
            }
        ],
        "",
    )
    counts = {s.name: 0 for s in Status if s != Status.NONE}
    for loan in books.loans.values():
        counts[loan.status.name] += 1
    loans = [
        {
            "loan": x.loan_id,
            "status": x.status.name,
            "principal": int(x.terms["principal"]),
            "outstanding": x.outstanding,
            "interest paid": x.book.interest_paid,
            "principal paid": x.book.principal_paid,
            "recovered": x.book.recovered,
            "written off": x.book.written_off,
            "lead": x.lenders[0],
        }
        for x in books.loans.values()
    ]
    accounts = [
        {
            "institution": a.name or "",
            "account": a.address,
            "withdrawable": a.withdrawable,
            "reserve": a.reserve,
            "loss": a.loss,
            "exposure": a.exposure,
            "withdrawn": books.withdrawn(a.address),
        }
        for a in books.accounts.values()
    ]
    holders, role_changes = role_rows(records, books)
    losses = {a.name or a.address: a.loss for a in books.accounts.values()}
    current = dict(views.call("policy")) if views is not None else None
    breaches = [b.model_dump() for b in policy_breaches(records, current)]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{CSS}</style></head><body>
<h1>{escape(title)}</h1><p>Generated {generated}. Verification: {status}</p>
<h2>Verification</h2>{facts}{verification}
<h2>Portfolio</h2>
{bar_chart("Loans by status", list(counts), list(counts.values()))}
{_table(loans, "No loans.")}
<h2>Institutions</h2>{_table(accounts, "No institutions.")}
<h2>Roles</h2><p>Who holds each role after the last record (LENDER_ROLE also by registration), and every
grant and revocation the trail holds; verify compares the holders with <code>hasRole</code>.</p>
{_table(holders, "No role holders in the trail.")}{_table(role_changes, "No role changes in the trail.")}
<h2>Cash flows per lender</h2>
{line_chart("Cumulative units credited per institution", _cash_series(books))}
<h2>Losses</h2>
{bar_chart("Unrecovered loss per institution", list(losses), list(losses.values()))}
<h2>Policy breaches</h2>{_table(breaches, "No loan breaches the policy in force at origination or the latest.")}
<h2>Overdue and defaulted loans</h2>{_table(overdue_rows(books, views), "No overdue or defaulted loan.")}
</body></html>
"""


def write_report(
    path: str | Path,
    result: VerificationResult,
    records: Sequence[Record],
    books: AuditBooks,
    views: LedgerViews | None = None,
) -> Path:
    path = Path(path)
    path.write_text(build_report(result, records, books, views))
    return path
