"""pandas views of an audit trail: records, lender cash flows, loans.

Each function takes the records (replayed on the fly) or already replayed :class:`AuditBooks`. pandas is the
``[frames]`` extra (``pip install 'pylender[frames]'``); without it each function raises
:class:`~pylender.errors.MissingExtra` saying so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pylender.audit.records import Record, format_head
from pylender.audit.replay import AuditBooks, replay
from pylender.errors import MissingExtra

if TYPE_CHECKING:
    import pandas as pd

FLOW_COLUMNS = ["seq", "block", "loan_id", "account", "component", "amount"]


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise MissingExtra("pandas", "frames", "pylender.audit.frames") from exc
    return pandas


def _books(source: Sequence[Record] | AuditBooks) -> AuditBooks:
    return source if isinstance(source, AuditBooks) else replay(sorted(source, key=lambda r: r.seq))[0]


def _flatten(prefix: str, value: Mapping[str, Any], out: dict[str, Any]) -> None:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            _flatten(f"{name}.", item, out)
        else:
            out[name] = item


def records_frame(records: Sequence[Record]) -> pd.DataFrame:
    """One row per record: position, kind, loan id and every decoded field (structs flattened as ``a.b``)."""
    rows = []
    for r in records:
        row: dict[str, Any] = {
            "seq": r.seq,
            "kind": r.kind,
            "loan_id": r.loan_id,
            "block_number": r.block_number,
            "tx_hash": r.tx_hash,
            "log_index": r.log_index,
            "head": format_head(r.head),
        }
        _flatten("", r.fields, row)
        rows.append(row)
    frame = _pandas().DataFrame(rows)
    if not frame.empty:
        frame["loan_id"] = frame["loan_id"].astype("Int64")
    return frame


def lender_flows_frame(source: Sequence[Record] | AuditBooks, account: str | None = None) -> pd.DataFrame:
    """Every unit credited to (or withdrawn/lost by) an institution: seq, block, loan, component, amount."""
    books = _books(source)
    rows = [dataclasses.asdict(f) for f in books.flows if account is None or f.account.lower() == account.lower()]
    frame = _pandas().DataFrame(rows, columns=FLOW_COLUMNS)
    frame["loan_id"] = frame["loan_id"].astype("Int64")
    frame["amount"] = frame["amount"].astype(object)  # exact integers, token base units
    return frame


def loans_frame(source: Sequence[Record] | AuditBooks) -> pd.DataFrame:
    """One row per loan as replayed: status, terms, cumulative totals, credit record."""
    books = _books(source)
    rows = []
    for loan in books.loans.values():
        t = loan.terms
        rows.append(
            {
                "loan_id": loan.loan_id,
                "status": loan.status.name,
                "borrower": t["borrower"],
                "borrower_id": t["borrowerId"],
                "principal": int(t["principal"]),
                "annual_rate_bps": int(t["annualRateBps"]),
                "periods": int(t["periods"]),
                "method": int(t["method"]),
                "lead": loan.lenders[0],
                "tranches": len(loan.lenders),
                "installment": loan.installment,
                "outstanding": loan.outstanding,
                "interest_paid": loan.book.interest_paid,
                "fee_paid": loan.book.fee_paid,
                "penalty_paid": loan.book.penalty_paid,
                "prepayment_fee_paid": loan.book.prepayment_fee_paid,
                "principal_paid": loan.book.principal_paid,
                "recovered": loan.book.recovered,
                "owed_at_default": loan.owed_at_default,
                "written_off": loan.book.written_off,
                "on_time_installments": loan.on_time,
                "late_installments": loan.late,
                "max_days_late": loan.max_days_late,
                "last_seq": loan.last_seq,
            }
        )
    return _pandas().DataFrame(rows)


def accounts_frame(source: Sequence[Record] | AuditBooks) -> pd.DataFrame:
    """One row per institution as replayed: withdrawable, reserve, loss, exposure, withdrawn."""
    books = _books(source)
    return _pandas().DataFrame(
        [{**dataclasses.asdict(a), "withdrawn": books.withdrawn(a.address)} for a in books.accounts.values()]
    )
