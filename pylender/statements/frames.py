"""pandas views of a statement and a reconciliation: movements, days, breaks (:meth:`DailyStatement.frame`,
:meth:`DailyStatement.days_frame`, :attr:`Reconciliation.frame` call these).

pandas is the ``[frames]`` extra (``pip install 'pylender[frames]'``), imported only here and only when a frame is
asked for; without it each function raises :class:`~pylender.errors.MissingExtra`. Amounts are exact: token units
as :class:`~decimal.Decimal` (``amount``) beside integer base units (``amount_base_units``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pylender.errors import MissingExtra
from pylender.statements.amounts import units_decimal
from pylender.statements.components import BALANCE_NAMES, STATEMENT_COMPONENTS

if TYPE_CHECKING:
    import pandas as pd

MOVEMENT_COLUMNS = [
    "loan_id",
    "loan_ref",
    "date",
    "time",
    "block",
    "tx",
    "seq",
    "component",
    "amount",
    "amount_base_units",
    *(f"{name}_change" for name in BALANCE_NAMES),
    "record",
    "log_index",
]


def pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise MissingExtra("pandas", "frames", "pylender.statements' DataFrames") from exc
    return pandas


def movements_frame(statement: Any) -> pd.DataFrame:
    """One row per movement (the statement's rows), amounts exact; ``attrs`` carries the statement's header."""
    pd = pandas()
    d = statement.decimals
    rows = []
    for r in statement.rows:
        effects = STATEMENT_COMPONENTS[r.component].effects
        rows.append(
            [
                r.loan_id,
                r.loan_ref,
                r.date,
                r.time,
                r.block,
                r.tx,
                r.seq,
                r.component,
                units_decimal(r.amount, d),
                r.amount,
                *(units_decimal(c * r.amount, d) for c in effects),
                r.record,
                r.log_index,
            ]
        )
    frame = pd.DataFrame(rows, columns=MOVEMENT_COLUMNS)
    frame["loan_id"] = frame["loan_id"].astype("Int64")
    frame["amount_base_units"] = frame["amount_base_units"].astype(object)
    frame.attrs["statement"] = statement.header()
    return frame


def days_frame(statement: Any) -> pd.DataFrame:
    """One row per day: cut-off block, opening and closing balances, change, subtotals by component, and
    ``accountOf`` at the cut-off (``views_equal``: None where it was not read)."""
    pd = pandas()
    d = statement.decimals
    rows = []
    for day in statement.days:
        row: dict[str, Any] = {"date": day.date, "cutoff_block": day.cutoff_block, "complete": day.complete}
        for i, name in enumerate(BALANCE_NAMES):
            row[f"opening_{name}"] = units_decimal(day.opening[i], d)
            row[f"closing_{name}"] = units_decimal(day.closing[i], d)
        for name in STATEMENT_COMPONENTS:
            row[name] = units_decimal(day.subtotals.get(name, 0), d)
        row["movements"] = day.movements
        row["views_equal"] = None if day.views is None else day.views == day.closing
        rows.append(row)
    return pd.DataFrame(rows)


def breaks_frame(breaks: Sequence[Any], decimals: int | None) -> pd.DataFrame:
    """One row per break: kind, loan, component, the chain's and the books' dates and amounts, the difference."""
    pd = pandas()
    columns = [
        "kind",
        "loan_id",
        "loan_ref",
        "component",
        "chain_date",
        "books_date",
        "chain_amount",
        "books_amount",
        "difference",
        "seq",
        "tx",
        "books_line",
    ]
    rows = [
        [
            b.kind.value,
            b.loan_id,
            b.loan_ref,
            b.component,
            b.chain_date,
            b.books_date,
            None if b.chain_amount is None else units_decimal(b.chain_amount, decimals),
            None if b.books_amount is None else units_decimal(b.books_amount, decimals),
            units_decimal(b.difference, decimals),
            b.seq,
            b.tx,
            b.books_line,
        ]
        for b in breaks
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["loan_id"] = frame["loan_id"].astype("Int64")
    frame["seq"] = frame["seq"].astype("Int64")
    frame["books_line"] = frame["books_line"].astype("Int64")
    return frame
