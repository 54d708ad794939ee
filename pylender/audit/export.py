"""Export records to CSV, JSON or parquet, and read such exports back for offline verification.

One row per record: seq, kind, loan_id, head, block_number, tx_hash, log_index and the decoded
event arguments as a JSON object (``fields``). A JSON export also embeds the audit-event ABI, so
it can be verified without the package's artifacts.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from pylender.audit.events import EventCatalog
from pylender.audit.records import Record, format_head, parse_head
from pylender.errors import ExportFormatError

Format = Literal["csv", "json", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "json", "parquet")
JSON_FORMAT_TAG = "pylender-audit-export/1"
COLUMNS = ("seq", "kind", "loan_id", "head", "block_number", "tx_hash", "log_index", "fields")


class Export(BaseModel):
    """An export read back: the records and whatever metadata the file carried."""

    records: list[Record]
    ledger: str | None = None
    chain_id: int | None = None
    abi: list[dict[str, Any]] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    def catalog(self, fallback: EventCatalog | None = None) -> EventCatalog:
        """The catalogue to verify with: the embedded ABI, else ``fallback``, else the shipped artifact."""
        if self.abi:
            return EventCatalog.from_abi(self.abi)
        return fallback if fallback is not None else EventCatalog.default()


def record_row(record: Record) -> dict[str, Any]:
    """A record as one flat row (``fields`` as compact JSON text)."""
    return {
        "seq": record.seq,
        "kind": record.kind,
        "loan_id": "" if record.loan_id is None else record.loan_id,
        "head": format_head(record.head),
        "block_number": record.block_number,
        "tx_hash": record.tx_hash,
        "log_index": record.log_index,
        "fields": json.dumps(record.fields, separators=(",", ":")),
    }


def row_record(row: dict[str, Any]) -> Record:
    """The inverse of :func:`record_row` (accepts ``fields`` as text or an object)."""
    fields = row["fields"]
    loan = row.get("loan_id")
    try:
        return Record(
            seq=int(row["seq"]),
            kind=str(row["kind"]),
            loan_id=None if loan in ("", None) or (isinstance(loan, float) and loan != loan) else int(loan),
            fields=json.loads(fields) if isinstance(fields, str) else dict(fields),
            head=parse_head(row["head"]),
            block_number=int(row["block_number"]),
            tx_hash=str(row["tx_hash"]),
            log_index=int(row["log_index"]),
        )
    except (KeyError, ValueError, TypeError, ValidationError) as exc:
        raise ExportFormatError(f"unreadable export row {row.get('seq', '?')}: {exc}") from exc


def _need_pyarrow() -> None:
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise ExportFormatError(
            f"parquet needs pyarrow and pandas, which are not installed or do not load ({exc}): "
            "pip install 'pylender[frames]', or use csv/json"
        ) from exc


def write_export(
    records: Sequence[Record],
    path: str | Path,
    fmt: Format,
    *,
    catalog: EventCatalog | None = None,
    ledger: str | None = None,
    chain_id: int | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write ``records`` to ``path`` in ``fmt``; returns the path."""
    path = Path(path)
    if fmt == "json":
        doc = {
            "format": JSON_FORMAT_TAG,
            "ledger": ledger,
            "chain_id": chain_id,
            "meta": meta or {},
            "abi": catalog.abi() if catalog is not None else None,
            "records": [{**record_row(r), "fields": r.fields} for r in records],
        }
        path.write_text(json.dumps(doc, indent=1))
    elif fmt == "csv":
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(record_row(r) for r in records)
    elif fmt == "parquet":
        _need_pyarrow()
        import pandas as pd

        frame = pd.DataFrame([record_row(r) for r in records], columns=list(COLUMNS))
        frame["loan_id"] = frame["loan_id"].astype(str)
        frame.to_parquet(path, index=False)
    else:
        raise ExportFormatError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return path


def _rows_export(rows: Iterable[dict[str, Any]]) -> Export:
    return Export(records=[row_record(r) for r in rows])


def read_export(path: str | Path) -> Export:
    """Read an export written by :func:`write_export` (format from the file's suffix)."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if not path.exists():
        raise ExportFormatError(f"no such export file: {path}")
    if suffix == "json":
        try:
            doc = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ExportFormatError(f"{path}: not JSON: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT_TAG:
            raise ExportFormatError(f"{path}: not a {JSON_FORMAT_TAG} document")
        exp = _rows_export(doc["records"])
        return exp.model_copy(
            update={
                "ledger": doc.get("ledger"),
                "chain_id": doc.get("chain_id"),
                "abi": doc.get("abi"),
                "meta": doc.get("meta") or {},
            }
        )
    if suffix == "csv":
        with path.open(newline="") as fh:
            return _rows_export(csv.DictReader(fh))
    if suffix == "parquet":
        _need_pyarrow()
        import pandas as pd

        return _rows_export(pd.read_parquet(path).to_dict(orient="records"))
    raise ExportFormatError(f"{path}: unknown export suffix {suffix!r}; expected .csv, .json or .parquet")
