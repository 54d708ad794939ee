"""Exports: CSV and JSON round-trip exactly; parquet needs pyarrow and says so."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pylender.audit.events import EventCatalog
from pylender.audit.export import read_export, write_export
from pylender.audit.records import Record
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
    with pytest.raises(ExportFormatError, match="not a pylender-audit-export/1"):
        read_export(tmp_path / "t.json")
