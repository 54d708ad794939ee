"""The reports of ``pylender run`` and ``pylender demo`` (and ``ape run demo``) for people: every amount in tokens
with all its decimals, in tables that fit the terminal or fall back to one block per row."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from pylender.cli.render import amount, print_pairs, print_table, say


def print_run(result: Any, tz: tzinfo | None = None) -> None:
    """A scenario's final state: each institution's balances, each loan's state, the audit head."""
    d = result.decimals
    rows = []
    for key, s in result.lenders.items():
        amounts = (s.withdrawable, s.reserve, s.loss, s.withdrawn)
        rows.append([f"{key} ({s.name})", *(amount(v, d) for v in amounts)])
    columns = ["institution", "withdrawable", "reserve", "loss", "withdrawn"]
    print_table(f"{result.scenario}: institutions", columns, rows, right=columns[1:])
    loans = []
    for key, s in result.loans.items():
        amounts = (s.outstanding, s.interest_paid, s.principal_paid, s.written_off)
        loans.append([key, str(s.id), s.status, *(amount(v, d) for v in amounts)])
    columns = ["loan", "id", "status", "outstanding", "interest paid", "principal paid", "written off"]
    print_table("loans", columns, loans, right=["id", *columns[3:]])
    for name, p in getattr(result, "pools", {}).items():
        pairs = [
            ("address", p.address),
            ("senior balance", amount(p.senior_balance, d)),
            ("junior balance", amount(p.junior_balance, d)),
            ("senior written down", amount(p.senior_written_down, d)),
            ("junior written down", amount(p.junior_written_down, d)),
            ("senior coupon owed", amount(p.senior_interest_owed, d)),
            ("collected", amount(p.collected, d)),
            ("unclaimed", amount(p.unclaimed, d)),
        ]
        for investor, by in p.claimed.items():
            pairs += [(f"{investor} claimed {cls}", amount(v, d)) for cls, v in by.items() if v]
        print_pairs(f"pool {name}", pairs)
    say(f"audit: seq {result.audit_seq}, head {result.audit_head}")


def print_demo(report: Any) -> None:
    """The demo's portfolio after its year: one column per lender, so three lenders fit 80 columns."""
    d = report.decimals
    lenders = report.lenders
    fields = ("loans", "funded", "withdrawn", "withdrawable", "reserve", "loss", "exposure")
    rows = []
    for name in fields:
        values = [getattr(lender, name) for lender in lenders]
        rows.append([name, *(f"{v:,}" if name == "loans" else amount(v, d) for v in values)])
    print_table(
        f"portfolio after twelve months ({report.loans} loans)",
        ["", *(lender.name for lender in lenders)],
        rows,
        right=[lender.name for lender in lenders],
    )
    say(f"ledger {report.ledger}")
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(report.by_status.items()))
    say(f"loans by status: {statuses}")
    say(f"late payments: {report.late_payments}; defaulted and written off: loan {report.defaulted_loan}")
    say(f"{report.transactions:,} transactions in {report.seconds} s")
    say(f"audit: seq {report.audit_seq}, head {report.audit_head}")
    mark = {True: ("OK", "green"), False: ("FAILED", "red"), None: ("not run", "yellow")}[report.audit_verified]
    say("audit verification: ", mark, f" - {report.audit_message}")


__all__ = ["print_demo", "print_run"]
