"""A daily statement of one institution (对账单), as data: every movement of the period, daily subtotals, and the
opening and closing balances of every day at its cut-off block, with ``accountOf`` there where it was read; what
it may be relied on for (:attr:`DailyStatement.outcome`, as ``audit verify``'s); JSON and DataFrames of it.

Balances tie by construction: a day's closing balance is its opening balance plus its movements, each by its
component's coefficients (:func:`effect`, :mod:`.components`). :mod:`.draw` draws a statement from a trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pylender.audit.export import tool_version
from pylender.audit.findings import Finding, Outcome, VerificationResult
from pylender.statements.amounts import units_text
from pylender.statements.components import BALANCE_NAMES, STATEMENT_COMPONENTS
from pylender.statements.cutoff import parse_zone
from pylender.statements.movements import Institution, StatementRow

Balances = tuple[int, int, int, int]
"""(withdrawable, reserve, loss, exposure) in base units, the order of ``accountOf``."""


@dataclass
class StatementDay:
    """One day: its cut-off block, opening and closing balances, subtotals by component, and ``accountOf`` at the
    cut-off where it was read."""

    date: str
    cutoff_block: int
    cutoff_time: int | None
    complete: bool
    """The day had ended by the trail's final block (else the closing balance is as of that block)."""
    opening: Balances
    closing: Balances
    subtotals: dict[str, int]
    movements: int
    views: Balances | None = None

    @property
    def change(self) -> Balances:
        return _minus(self.closing, self.opening)


def _minus(a: Balances, b: Balances) -> Balances:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3])


def effect(subtotals: dict[str, int]) -> Balances:
    """What amounts by component do to the four balances."""
    w = r = loss = e = 0
    for name, amount in subtotals.items():
        c = STATEMENT_COMPONENTS[name]
        w += c.withdrawable * amount
        r += c.reserve * amount
        loss += c.loss * amount
        e += c.exposure * amount
    return (w, r, loss, e)


@dataclass
class DailyStatement:
    """One institution's statement over ``date_from`` .. ``date_to`` in timezone ``zone``."""

    institution: Institution
    ledger: str | None
    chain_id: int | None
    token: str | None
    symbol: str | None
    decimals: int | None
    zone: str
    date_from: date
    date_to: date
    rows: list[StatementRow]
    days: list[StatementDay]
    opening_block: int
    opening: Balances
    verification: VerificationResult
    final_block: int | None
    final_time: int | None
    source: str
    opening_views: Balances | None = None
    findings: list[Finding] = field(default_factory=list)
    """Balances that differ from ``accountOf`` at a cut-off."""
    views_compared: int = 0
    """Cut-offs at which ``accountOf`` was read and compared."""
    cutoffs_exact: bool = True
    notes: list[str] = field(default_factory=list)
    loans: dict[int, str] = field(default_factory=dict)
    """Each loan of the trail and its reference (empty when it has none)."""

    @property
    def closing(self) -> Balances:
        return self.days[-1].closing if self.days else self.opening

    @property
    def closing_block(self) -> int:
        return self.days[-1].cutoff_block if self.days else self.opening_block

    @property
    def complete(self) -> bool:
        return all(day.complete for day in self.days)

    @property
    def outcome(self) -> Outcome:
        """``verified`` only when the trail is proven complete and verifies, and every balance compared equals
        the contract's; ``findings`` when anything differs; otherwise ``not proven complete``."""
        if self.verification.findings or self.findings:
            return Outcome.FINDINGS
        return Outcome.VERIFIED if self.verification.proven_complete else Outcome.NOT_PROVEN_COMPLETE

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    @property
    def marker(self) -> str:
        """What the statement may be relied on for, in one line."""
        if self.outcome is Outcome.VERIFIED:
            views = (
                f"; balances equal accountOf at {self.views_compared} cut-off block(s)"
                if self.views_compared
                else "; accountOf not compared"
            )
            return f"VERIFIED: drawn from a trail proven complete up to block {self.final_block}{views}"
        if self.outcome is Outcome.FINDINGS:
            count = len(self.verification.findings) + len(self.findings)
            return f"FINDINGS: {count} finding(s): the trail does not verify, or a balance differs from accountOf"
        return "NOT PROVEN COMPLETE: drawn from a trail no trusted head ends (records cut from its end would not show)"

    # -- as data

    def balances(self, values: Balances) -> dict[str, str]:
        """Four balances as token-unit text keyed by name."""
        return {name: units_text(v, self.decimals) for name, v in zip(BALANCE_NAMES, values, strict=True)}

    def iso(self, timestamp: int | None) -> str | None:
        """A unix time as ISO 8601 in the statement's timezone."""
        if timestamp is None:
            return None
        text = datetime.fromtimestamp(timestamp, parse_zone(self.zone)).isoformat(timespec="seconds")
        return text.replace("+00:00", "Z") if self.zone.upper() == "UTC" else text

    def header(self) -> dict[str, Any]:
        """What the statement is, where it is drawn from and what may be relied on (JSON values)."""
        inst = self.institution
        units = f"{self.symbol or 'tokens'}, {self.decimals} decimals" if self.decimals else "base units"
        return {
            "institution": {
                "index": inst.index,
                "name": inst.name,
                "address": inst.address,
                "addresses": list(inst.addresses),
                "is_platform": inst.is_platform,
            },
            "ledger": self.ledger,
            "chain_id": self.chain_id,
            "token": self.token,
            "token_symbol": self.symbol,
            "token_decimals": self.decimals,
            "amounts": f"token units ({units}), every decimal",
            "timezone": self.zone,
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "cutoff": "the last block whose timestamp is before midnight in the timezone",
            "cutoffs_exact": self.cutoffs_exact,
            "opening_block": self.opening_block,
            "closing_block": self.closing_block,
            "final_block": self.final_block,
            "final_time": self.iso(self.final_time),
            "complete": self.complete,
            "source": self.source,
            "outcome": self.outcome.value,
            "exit_code": self.exit_code,
            "marker": self.marker,
            "proven_complete": self.verification.proven_complete,
            "trusted_head": self.verification.trusted_head,
            "views_compared": self.views_compared,
            "opening": self.balances(self.opening),
            "closing": self.balances(self.closing),
            "movements": len(self.rows),
            "findings": [f.describe() for f in [*self.verification.findings, *self.findings]],
            "notes": list(self.notes),
            "tool": tool_version(),
        }

    def day_json(self, day: StatementDay) -> dict[str, Any]:
        d = self.decimals
        return {
            "date": day.date,
            "cutoff_block": day.cutoff_block,
            "cutoff_time": self.iso(day.cutoff_time),
            "complete": day.complete,
            "opening": self.balances(day.opening),
            "change": self.balances(day.change),
            "closing": self.balances(day.closing),
            "subtotals": {name: units_text(v, d) for name, v in day.subtotals.items()},
            "movements": day.movements,
            "views": None if day.views is None else self.balances(day.views),
            "views_equal": None if day.views is None else day.views == day.closing,
        }

    def row_json(self, row: StatementRow) -> dict[str, Any]:
        return {
            "loan_id": row.loan_id,
            "loan_ref": row.loan_ref,
            "date": row.date,
            "time": row.time,
            "block": row.block,
            "tx": row.tx,
            "seq": row.seq,
            "component": row.component,
            "amount": units_text(row.amount, self.decimals),
            "amount_base_units": row.amount,
            "record": row.record,
            "log_index": row.log_index,
        }

    def to_json_dict(self) -> dict[str, Any]:
        """The whole statement: header, days, movements."""
        return {
            "statement": self.header(),
            "days": [self.day_json(d) for d in self.days],
            "movements": [self.row_json(r) for r in self.rows],
        }

    def frame(self) -> Any:
        """The movements as a pandas DataFrame (the ``[frames]`` extra)."""
        from pylender.statements.frames import movements_frame

        return movements_frame(self)

    def days_frame(self) -> Any:
        """The days as a pandas DataFrame (the ``[frames]`` extra)."""
        from pylender.statements.frames import days_frame

        return days_frame(self)

    def balances_at(self, day: str) -> StatementDay:
        for d in self.days:
            if d.date == day:
                return d
        raise KeyError(day)

    def rows_on(self, first: date, last: date) -> list[StatementRow]:
        """The movements dated ``first`` .. ``last``."""
        a, b = first.isoformat(), last.isoformat()
        return [row for row in self.rows if a <= row.date <= b]
