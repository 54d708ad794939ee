"""The HTML audit report, for people: the verdict and what it proved first, then the portfolio in tokens.

One self-contained file (inline CSS and SVG, no script, nothing fetched): the verdict and each check as
proved or not; the ledger, chain, token and block range with ISO 8601 times in a stated timezone; totals
per institution and for the portfolio (funded, outstanding, collected by component, reserves, losses,
recoveries); overdue loans in buckets of days past due; cash flows over time; the loan list in pages;
institutions, roles and policy breaches. Charts come from :mod:`pylender.audit.charts` (matplotlib).
Figures come from :mod:`pylender.audit.portfolio`; the times of blocks from :class:`ReportFacts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from pylender.audit import report_sections as section
from pylender.audit.breaches import Breach, policy_breaches
from pylender.audit.findings import VerificationResult
from pylender.audit.portfolio import institution_totals
from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks
from pylender.audit.report_facts import (
    ReportFacts,
    check_zone,
    facts_from_chain,
    facts_from_export,
)
from pylender.audit.views import LedgerViews
from pylender.errors import InvalidPath, InvalidZone

__all__ = [
    "Breach",
    "InvalidZone",
    "ReportFacts",
    "build_report",
    "check_zone",
    "facts_from_chain",
    "facts_from_export",
    "policy_breaches",
    "write_report",
]


def build_report(
    result: VerificationResult,
    records: Sequence[Record],
    books: AuditBooks,
    views: LedgerViews | None = None,
    facts: ReportFacts | None = None,
    title: str = "pylender audit report",
) -> str:
    """The report as one HTML document (inline CSS and SVG only)."""
    facts = facts or ReportFacts(ledger=result.ledger, chain_id=result.chain_id, final_block=result.final_block)
    check_zone(facts.zone_name)  # an unknown timezone is said before anything is drawn
    units = facts.units
    institutions = institution_totals(books)
    body = "".join(
        [
            f"<h1>{escape(title)}</h1>",
            f"<p class='note'>Generated {escape(facts.iso(facts.generated))}. All times are ISO 8601 in "
            f"{escape(facts.zone_name)}; all amounts in {escape(units.label)}.</p>",
            "<h2>Verdict</h2>",
            section.verdict(result, facts),
            section.facts(result, facts),
            section.findings(result),
            section.portfolio(books, units),
            section.institutions(institutions, units),
            section.statuses(books, units),
            section.overdue(books, records, facts),
            section.cash_flows(books, facts),
            section.losses(institutions, units),
            section.loan_pages(books, records, facts),
            section.registry(books, records, views),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{section.CSS}</style></head><body><main>{body}</main></body></html>\n"
    )


def write_report(
    path: str | Path,
    result: VerificationResult,
    records: Sequence[Record],
    books: AuditBooks,
    views: LedgerViews | None = None,
    facts: ReportFacts | None = None,
) -> Path:
    path = Path(path)
    text = build_report(result, records, books, views, facts)
    try:
        path.write_text(text)
    except OSError as exc:
        raise InvalidPath(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
