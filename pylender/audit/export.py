"""Export records to CSV, JSON or Parquet, self-described, and read such exports back.

One row per record: seq, kind, loan_id, head, block_number, block_time (ISO 8601, UTC), tx_hash,
log_index and the decoded event arguments as a JSON object (``fields``).

Every format carries an :class:`ExportHeader`: the ledger address, the chain id, the block range
(``first_block`` to ``final_block``, the block the export is "as of"), the final head, the token, the
tool version and the audit events' ABI, so that ``pylender audit verify --file F --rpc URL`` needs
nothing else. Where it lives:

- JSON: the document's ``header`` object (beside ``records``);
- Parquet: the schema metadata key ``pylender.audit`` (JSON text);
- CSV: a sidecar file ``<name>.csv.meta.json`` next to it. The CSV itself stays a plain table that any
  CSV reader (pandas, a spreadsheet, ``csv.DictReader``) reads without options; a CSV without its
  sidecar still verifies, naming neither ledger nor final block.

A header is a claim by whoever wrote the file, not evidence: verification uses it to know what to
compare with (ledger, chain, block), never as the trusted head.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from pylender.audit.events import EventCatalog
from pylender.audit.records import Record, format_head, parse_head
from pylender.errors import ExportFormatError

Format = Literal["csv", "json", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "json", "parquet")
JSON_FORMAT_TAG = "pylender-audit-export/2"
OLD_JSON_TAGS = frozenset({"pylender-audit-export/1"})
SIDECAR_TAG = "pylender-audit-export-header/2"
SIDECAR_SUFFIX = ".meta.json"
PARQUET_KEY = b"pylender.audit"
COLUMNS = ("seq", "kind", "loan_id", "head", "block_number", "block_time", "tx_hash", "log_index", "fields")
COLUMN_NOTES = {
    "seq": "the record's sequence number (1, 2, ... without gaps)",
    "kind": "the audit event's name",
    "loan_id": "the loan it concerns (empty: none)",
    "head": "the audit head after the record: 192-bit chain hash, seq in the low 56 bits",
    "block_number": "the block that holds it",
    "block_time": "that block's timestamp, ISO 8601 in UTC (empty: not read)",
    "tx_hash": "the transaction that wrote it",
    "log_index": "its log index in the block",
    "fields": "the event's arguments as JSON (amounts in token base units)",
}


def tool_version() -> str:
    """``pylender <version>`` of the installed package."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"pylender {version('pylender')}"
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "pylender (not installed)"


def iso_time(timestamp: int | None) -> str | None:
    """A unix timestamp as ISO 8601 in UTC (``2030-03-17T08:00:00Z``)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> int | None:
    """The inverse of :func:`iso_time` (None for an empty cell)."""
    if text in (None, "") or (isinstance(text, float) and text != text):
        return None
    try:
        return int(datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
    except ValueError as exc:
        raise ExportFormatError(f"unreadable block_time {text!r}: expected ISO 8601 in UTC") from exc


class ExportHeader(BaseModel):
    """What an export is: which ledger on which chain, which blocks, how it ends, who wrote it."""

    format: str = JSON_FORMAT_TAG
    tool: str = Field(default_factory=tool_version)
    exported_at: str = Field(default_factory=lambda: iso_time(int(datetime.now(UTC).timestamp())) or "")
    ledger: str | None = None
    chain_id: int | None = None
    first_block: int | None = None
    """The first block read (the ledger's deployment block, or where the reader was told to start)."""
    final_block: int | None = None
    """The block the export is as of: every record up to this block, none after."""
    final_block_time: str | None = None
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    final_head: str | None = None
    """The head of the last record (what the trail ended in at ``final_block``, as the writer read it)."""
    onchain_head: str | None = None
    """The ledger's ``auditHead`` at ``final_block`` as the writer read it (None: not read)."""
    token: str | None = None
    token_symbol: str | None = None
    token_decimals: int | None = None
    timezone: str = "UTC"
    columns: dict[str, str] = Field(default_factory=lambda: dict(COLUMN_NOTES))
    abi: list[dict[str, Any]] | None = None
    """The audit events' ABI: the export verifies without the package's artifacts."""
    meta: dict[str, Any] = Field(default_factory=dict)


class Export(BaseModel):
    """An export read back: the records, their block times and the header the file carried (if any)."""

    records: list[Record]
    header: ExportHeader | None = None
    block_times: dict[int, int] = Field(default_factory=dict)

    @property
    def ledger(self) -> str | None:
        return self.header.ledger if self.header else None

    @property
    def chain_id(self) -> int | None:
        return self.header.chain_id if self.header else None

    @property
    def abi(self) -> list[dict[str, Any]] | None:
        return self.header.abi if self.header else None

    @property
    def meta(self) -> dict[str, Any]:
        return self.header.meta if self.header else {}

    def catalog(self, fallback: EventCatalog | None = None) -> EventCatalog:
        """The catalogue to verify with: the embedded ABI, else ``fallback``, else the shipped artifact."""
        if self.abi:
            return EventCatalog.from_abi(self.abi)
        return fallback if fallback is not None else EventCatalog.default()

    def header_notes(self) -> list[str]:
        """Where the header's description of the file differs from the records it holds (a file cut or
        edited after it was written, or a header written by hand)."""
        h = self.header
        if h is None:
            return []
        notes: list[str] = []
        last = self.records[-1] if self.records else None
        said = f"{h.records} record(s)" + (f" ending in seq {h.last_seq}, head {h.final_head}" if h.last_seq else "")
        holds = f"{len(self.records)}" + (f" ending in seq {last.seq}, head {format_head(last.head)}" if last else "")
        if h.records != len(self.records) or (
            last and (h.last_seq != last.seq or h.final_head != format_head(last.head))
        ):
            notes.append(
                f"the file's header says {said}; the file holds {holds}: records may have been removed or added "
                "after it was written (a header is the writer's claim, not a trusted head)"
            )
        beyond = [r.seq for r in self.records if h.final_block is not None and r.block_number > h.final_block]
        if beyond:
            notes.append(f"record(s) from seq {beyond[0]} lie beyond the header's final block {h.final_block}")
        return notes


def record_row(record: Record, block_time: int | None = None) -> dict[str, Any]:
    """A record as one flat row (``fields`` as compact JSON text)."""
    return {
        "seq": record.seq,
        "kind": record.kind,
        "loan_id": "" if record.loan_id is None else record.loan_id,
        "head": format_head(record.head),
        "block_number": record.block_number,
        "block_time": iso_time(block_time) or "",
        "tx_hash": record.tx_hash,
        "log_index": record.log_index,
        "fields": json.dumps(record.fields, separators=(",", ":")),
    }


def row_record(row: Mapping[str, Any]) -> Record:
    """The inverse of :func:`record_row` (accepts ``fields`` as text or an object)."""
    try:
        fields = row["fields"]
        loan = row.get("loan_id")
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
    except (KeyError, ValueError, TypeError, AttributeError, ValidationError) as exc:
        raise ExportFormatError(f"unreadable export row {row.get('seq', '?')}: {type(exc).__name__}: {exc}") from exc


def _need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise ExportFormatError(
            f"parquet needs pyarrow, which is not installed or does not load ({exc}): "
            "pip install 'pylender[frames]', or use csv/json"
        ) from exc


def sidecar_path(path: str | Path) -> Path:
    """Where a CSV export's header lives: ``trail.csv`` -> ``trail.csv.meta.json``."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def make_header(
    records: Sequence[Record],
    *,
    catalog: EventCatalog | None = None,
    ledger: str | None = None,
    chain_id: int | None = None,
    first_block: int | None = None,
    final_block: int | None = None,
    final_block_time: int | None = None,
    onchain_head: int | None = None,
    token: str | None = None,
    token_symbol: str | None = None,
    token_decimals: int | None = None,
    meta: Mapping[str, Any] | None = None,
) -> ExportHeader:
    """The header describing ``records`` and where they were read."""
    last = records[-1] if records else None
    return ExportHeader(
        ledger=ledger,
        chain_id=chain_id,
        first_block=first_block,
        final_block=final_block,
        final_block_time=iso_time(final_block_time),
        records=len(records),
        first_seq=records[0].seq if records else None,
        last_seq=last.seq if last else None,
        final_head=format_head(last.head) if last else None,
        onchain_head=None if onchain_head is None else format_head(onchain_head),
        token=token,
        token_symbol=token_symbol,
        token_decimals=token_decimals,
        abi=catalog.abi() if catalog is not None else None,
        meta=dict(meta or {}),
    )


def write_export(
    records: Sequence[Record],
    path: str | Path,
    fmt: Format | str,
    *,
    catalog: EventCatalog | None = None,
    ledger: str | None = None,
    chain_id: int | None = None,
    meta: dict[str, Any] | None = None,
    header: ExportHeader | None = None,
    block_times: Mapping[int, int] | None = None,
) -> Path:
    """Write ``records`` to ``path`` in ``fmt`` with a header (``header``, or one made from the other
    arguments); returns the path. A CSV export's header goes to :func:`sidecar_path`."""
    path = Path(path)
    if header is None:
        extra = dict(meta or {})
        header = make_header(
            records,
            catalog=catalog,
            ledger=ledger,
            chain_id=chain_id,
            first_block=extra.pop("first_block", None),
            final_block=extra.pop("final_block", None),
            meta=extra,
        )
    times = block_times or {}
    try:
        if fmt == "json":
            doc = {
                "format": JSON_FORMAT_TAG,
                "header": header.model_dump(mode="json"),
                "records": [{**record_row(r, times.get(r.block_number)), "fields": r.fields} for r in records],
            }
            path.write_text(json.dumps(doc, indent=1))
        elif fmt == "csv":
            with path.open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(record_row(r, times.get(r.block_number)) for r in records)
            sidecar = {"format": SIDECAR_TAG, "describes": path.name, "header": header.model_dump(mode="json")}
            sidecar_path(path).write_text(json.dumps(sidecar, indent=1))
        elif fmt == "parquet":
            _write_parquet(path, records, header, times)
        else:
            raise ExportFormatError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    except OSError as exc:
        raise ExportFormatError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _write_parquet(path: Path, records: Sequence[Record], header: ExportHeader, times: Mapping[int, int]) -> None:
    _need_pyarrow()
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [record_row(r, times.get(r.block_number)) for r in records]
    columns = {name: [row[name] for row in rows] for name in COLUMNS}
    columns["loan_id"] = [str(v) for v in columns["loan_id"]]
    table = pa.table(columns)
    table = table.replace_schema_metadata({PARQUET_KEY: header.model_dump_json().encode()})
    pq.write_table(table, path)


def _header(data: Any, where: str) -> ExportHeader | None:
    if data is None:
        return None
    try:
        return ExportHeader.model_validate(data)
    except ValidationError as exc:
        raise ExportFormatError(f"{where}: unreadable export header: {exc}") from exc


def _times(rows: Iterable[Mapping[str, Any]], records: Sequence[Record]) -> dict[int, int]:
    out: dict[int, int] = {}
    for row, record in zip(rows, records, strict=True):
        when = parse_time(row.get("block_time"))
        if when is not None:
            out[record.block_number] = when
    return out


def _from_rows(rows: Sequence[Mapping[str, Any]], header: ExportHeader | None) -> Export:
    records = [row_record(r) for r in rows]
    return Export(records=records, header=header, block_times=_times(rows, records))


def read_export(path: str | Path) -> Export:
    """Read an export written by :func:`write_export` (format from the file's suffix)."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if not path.exists():
        raise ExportFormatError(f"no such export file: {path}")
    if path.is_dir():
        raise ExportFormatError(f"{path} is a directory, not an export file")
    try:
        if suffix == "json":
            return _read_json(path)
        if suffix == "csv":
            return _read_csv(path)
        if suffix == "parquet":
            return _read_parquet(path)
    except OSError as exc:
        raise ExportFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    raise ExportFormatError(f"{path}: unknown export suffix {suffix!r}; expected .csv, .json or .parquet")


def _read_json(path: Path) -> Export:
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportFormatError(f"{path}: not JSON: {exc}") from exc
    tag = doc.get("format") if isinstance(doc, dict) else None
    if tag == SIDECAR_TAG:
        raise ExportFormatError(f"{path} is the header of a CSV export: verify {doc.get('describes')!r} itself")
    if tag not in OLD_JSON_TAGS | {JSON_FORMAT_TAG} or not isinstance(doc.get("records"), list):
        raise ExportFormatError(f"{path}: not a {JSON_FORMAT_TAG} document")
    if tag == JSON_FORMAT_TAG:
        header = _header(doc.get("header"), str(path))
    else:  # version 1: ledger, chain id, meta and the ABI at the top level
        meta = dict(doc.get("meta") or {})
        header = ExportHeader(
            format=tag,
            tool="pylender (export format 1)",
            ledger=doc.get("ledger"),
            chain_id=doc.get("chain_id"),
            final_block=meta.pop("final_block", None),
            abi=doc.get("abi"),
            meta=meta,
            records=len(doc["records"]),
        )
    return _from_rows(doc["records"], header)


def _read_csv(path: Path) -> Export:
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            missing = [
                c for c in ("seq", "kind", "head", "block_number", "fields") if c not in (reader.fieldnames or ())
            ]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ExportFormatError(f"{path}: not a CSV export: {exc}") from exc
    if missing:
        raise ExportFormatError(f"{path}: not a pylender audit export (no column {', '.join(missing)})")
    header = None
    sidecar = sidecar_path(path)
    if sidecar.exists():
        try:
            doc = json.loads(sidecar.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ExportFormatError(f"{sidecar}: not JSON: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != SIDECAR_TAG:
            raise ExportFormatError(f"{sidecar}: not a {SIDECAR_TAG} document")
        header = _header(doc.get("header"), str(sidecar))
    return _from_rows(rows, header)


def _read_parquet(path: Path) -> Export:
    _need_pyarrow()
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, ValueError) as exc:
        raise ExportFormatError(f"{path}: not a Parquet file: {exc}") from exc
    metadata = table.schema.metadata or {}
    header = None
    if PARQUET_KEY in metadata:
        try:
            header = _header(json.loads(metadata[PARQUET_KEY]), str(path))
        except json.JSONDecodeError as exc:
            raise ExportFormatError(f"{path}: unreadable {PARQUET_KEY.decode()} metadata: {exc}") from exc
    missing = [c for c in ("seq", "kind", "head", "block_number", "fields") if c not in table.column_names]
    if missing:
        raise ExportFormatError(f"{path}: not a pylender audit export (no column {', '.join(missing)})")
    return _from_rows(table.to_pylist(), header)
