"""Exports: CSV and JSON round-trip exactly; parquet needs pyarrow and says so."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pylender.audit.events import EventCatalog
from pylender.audit.export import make_header, read_export, record_row, sidecar_path, write_export
from pylender.audit.records import Record, format_head
from pylender.errors import ExportFormatError


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_reads_back_as_the_same_records(
    fmt: str, synthetic_records: list[Record], synthetic_catalog: EventCatalog, tmp_path: Path
) -> None:
    path = write_export(
        synthetic_records,
        tmp_path / f"t.{fmt}",
        fmt,
        catalog=synthetic_catalog,
        ledger="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        chain_id=31337,
    )
    back = read_export(path)
    assert back.records == synthetic_records
    if fmt == "json":
        assert back.chain_id == 31337 and back.catalog().names == synthetic_catalog.names


def _pyarrow_loads() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _pyarrow_loads(), reason="pyarrow not installed or not loadable")
def test_parquet_reads_back_as_the_same_records(synthetic_records: list[Record], tmp_path: Path) -> None:
    path = write_export(synthetic_records, tmp_path / "t.parquet", "parquet")
    assert read_export(path).records == synthetic_records


def test_parquet_without_pyarrow_is_a_clear_error(synthetic_records, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    with pytest.raises(ExportFormatError, match="parquet needs pyarrow"):
        write_export(synthetic_records, tmp_path / "t.parquet", "parquet")


def test_an_unknown_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text('{"records": []}')
    with pytest.raises(ExportFormatError, match="not a pylender-audit-export/2"):
        read_export(tmp_path / "t.json")


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_the_header_and_block_times_read_back_from_every_format(
    fmt: str, synthetic_records: list[Record], synthetic_catalog: EventCatalog, tmp_path: Path
) -> None:
    header = make_header(
        synthetic_records,
        catalog=synthetic_catalog,
        ledger="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        chain_id=31337,
        first_block=1,
        final_block=synthetic_records[-1].block_number,
        final_block_time=1_900_000_000,
        token_symbol="TUSD",
        token_decimals=6,
    )
    times = {r.block_number: 1_900_000_000 + 12 * r.block_number for r in synthetic_records}
    back = read_export(write_export(synthetic_records, tmp_path / f"t.{fmt}", fmt, header=header, block_times=times))
    assert back.records == synthetic_records and back.header == header and back.block_times == times
    assert header.final_head == format_head(synthetic_records[-1].head) and header.last_seq == 20
    assert header.final_block_time == "2030-03-17T17:46:40Z" and back.header_notes() == []


def test_a_header_that_no_longer_describes_the_records_is_noted(
    synthetic_records: list[Record], synthetic_catalog: EventCatalog, tmp_path: Path
) -> None:
    header = make_header(synthetic_records, catalog=synthetic_catalog, final_block=synthetic_records[-1].block_number)
    back = read_export(write_export(synthetic_records[:-3], tmp_path / "t.json", "json", header=header))
    (note,) = back.header_notes()
    assert "says 20 record(s) ending in seq 20" in note and "holds 17 ending in seq 17" in note


def test_a_file_that_is_not_parquet_is_a_named_error(tmp_path: Path) -> None:
    (tmp_path / "t.parquet").write_text("seq,kind\n1,Withdrawn\n")
    with pytest.raises(ExportFormatError, match="not a Parquet file"):
        read_export(tmp_path / "t.parquet")


def test_a_csv_sidecar_given_as_the_export_names_the_csv(synthetic_records: list[Record], tmp_path: Path) -> None:
    write_export(synthetic_records, tmp_path / "t.csv", "csv")
    with pytest.raises(ExportFormatError, match=r"the header of a CSV export: verify 't\.csv'"):
        read_export(sidecar_path(tmp_path / "t.csv"))


def test_a_version_1_json_export_still_reads(synthetic_records: list[Record], tmp_path: Path) -> None:
    doc = {
        "format": "pylender-audit-export/1",
        "ledger": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "chain_id": 31337,
        "meta": {"final_block": 40},
        "abi": None,
        "records": [{**record_row(r), "fields": r.fields} for r in synthetic_records],
    }
    (tmp_path / "old.json").write_text(json.dumps(doc))
    back = read_export(tmp_path / "old.json")
    assert back.records == synthetic_records and back.header is not None
    assert (back.ledger, back.chain_id, back.header.final_block) == (doc["ledger"], 31337, 40)
