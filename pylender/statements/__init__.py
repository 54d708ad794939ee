"""Daily statements and reconciliation (对账): does an institution's own books agree with the ledger, day by day,
and if not, which entries differ?

    >>> from pylender.statements import draw_statement, reconcile, statement
    >>> s = draw_statement(w3, ledger, "Bank A", "2026-01-01", "2026-03-31", tz="Asia/Shanghai")
    >>> s.outcome, s.opening, s.closing, [(d.date, d.cutoff_block, d.closing) for d in s.days]
    >>> frame = statement(w3, ledger, "Bank A", "2026-01-01", "2026-03-31")   # a DataFrame ([frames])
    >>> rec = reconcile(w3, ledger, "Bank A", "books.csv", tz="Asia/Shanghai")
    >>> rec.exit_code, [b.kind for b in rec.breaks], rec.frame                  # typed breaks, a DataFrame

Modules, one job each: ``components`` (the statement's vocabulary and each component's effect on the four
balances), ``amounts`` (token units, exact both ways), ``trail`` (the audit pipeline: fetch, index, verify,
replay), ``movements`` (an institution's movements, read off the replay), ``cutoff`` (days and their cut-off
blocks, by binary search over block timestamps), ``statement`` (the statement as data), ``cutoff_views``
(``accountOf`` at every cut-off), ``draw`` (putting a statement together), ``writers`` (CSV, JSON, XLSX),
``frames`` (pandas), ``books`` (an institution's books file), ``matching`` (breaks), ``reconcile`` (statement +
books + matching), ``html`` (the reconciliation for people). The commands are :mod:`pylender.cli.statements`.
"""

from __future__ import annotations

from pylender.statements.books import BooksEntry, read_books
from pylender.statements.components import BALANCE_NAMES, STATEMENT_COMPONENTS, StatementComponent
from pylender.statements.draw import draw_statement, find_institution, statement, statement_of
from pylender.statements.matching import Break, BreakKind, MatchedTotals, Reconciliation, match_books
from pylender.statements.reconcile import reconcile, reconcile_trail
from pylender.statements.statement import DailyStatement, StatementDay, StatementRow
from pylender.statements.trail import DrawnTrail, trail_from_chain, trail_from_file

__all__ = [
    "BALANCE_NAMES",
    "STATEMENT_COMPONENTS",
    "BooksEntry",
    "Break",
    "BreakKind",
    "DailyStatement",
    "DrawnTrail",
    "MatchedTotals",
    "Reconciliation",
    "StatementComponent",
    "StatementDay",
    "StatementRow",
    "draw_statement",
    "find_institution",
    "match_books",
    "read_books",
    "reconcile",
    "reconcile_trail",
    "statement",
    "statement_of",
    "trail_from_chain",
    "trail_from_file",
]
