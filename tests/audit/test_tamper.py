"""Tampering with an export is detected, with the seq named; an untouched export passes."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from audit_synthetic import BANK, synthetic_abi

from pylender.audit.events import EventCatalog
from pylender.audit.export import write_export
from pylender.audit.findings import Outcome
from pylender.audit.record import parse_trusted_head
from pylender.audit.records import Record, build_chain, format_head
from pylender.audit.verify import verify_file
from pylender.errors import InvalidHead


@pytest.fixture()
def abi_file(tmp_path: Path) -> Path:
    path = tmp_path / "abi.json"
    path.write_text(json.dumps(synthetic_abi()))
    return path


@pytest.fixture(params=["csv", "json"])
def export(request, tmp_path: Path, synthetic_records: list[Record], synthetic_catalog: EventCatalog) -> Path:
    return write_export(
        synthetic_records, tmp_path / f"trail.{request.param}", request.param, catalog=synthetic_catalog
    )


def _rows(path: Path) -> list[dict]:
    if path.suffix == ".json":
        return json.loads(path.read_text())["records"]
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _save(path: Path, rows: list[dict]) -> None:
    if path.suffix == ".json":
        doc = json.loads(path.read_text())
        doc["records"] = rows
        path.write_text(json.dumps(doc))
        return
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _fields(row: dict) -> dict:
    return json.loads(row["fields"]) if isinstance(row["fields"], str) else row["fields"]


def _set_fields(row: dict, fields: dict) -> None:
    row["fields"] = json.dumps(fields) if isinstance(row["fields"], str) else fields


def test_an_untouched_export_passes(export: Path, abi_file: Path, synthetic_records: list[Record]) -> None:
    result = verify_file(export, abi_path=abi_file, expected_head=synthetic_records[-1].head)
    assert result.ok, [f.describe() for f in result.findings]
    assert result.records == 20 and result.last_seq == 20
    assert result.computed_head == format_head(synthetic_records[-1].head)
    assert result.replayed and result.summary["loan_status"] == {"CLOSED": 1, "WRITTEN_OFF": 1}


def test_one_altered_amount_is_named_by_its_seq(export: Path, abi_file: Path) -> None:
    rows = _rows(export)
    fields = _fields(rows[8])  # seq 9: the second repayment of loan 1
    fields["breakdown"]["principalPaid"] += 1
    _set_fields(rows[8], fields)
    _save(export, rows)
    result = verify_file(export, abi_path=abi_file)
    chain = [f for f in result.findings if f.check == "chain"]
    assert [(f.seq, f.field) for f in chain] == [(9, "head")]
    assert result.first_bad_seq == 9
    assert not result.ok


def test_one_removed_record_is_named_by_the_missing_seq(export: Path, abi_file: Path) -> None:
    rows = _rows(export)
    del rows[13]  # seq 14
    _save(export, rows)
    result = verify_file(export, abi_path=abi_file)
    seq = [f for f in result.findings if f.check == "seq"]
    assert [(f.seq, f.expected, f.found) for f in seq] == [(14, "14", "15")]
    assert "14 missing" in seq[0].detail


def test_two_swapped_rows_are_out_of_order_at_the_first(export: Path, abi_file: Path) -> None:
    rows = _rows(export)
    rows[9], rows[10] = rows[10], rows[9]  # seq 10 and 11
    _save(export, rows)
    result = verify_file(export, abi_path=abi_file)
    assert result.first_bad_seq == 10
    assert [(f.check, f.seq) for f in result.findings if f.check == "seq"] == [("seq", 10), ("seq", 10)]


def test_two_swapped_records_renumbered_break_the_chain_at_the_first(export: Path, abi_file: Path) -> None:
    rows = _rows(export)
    a, b = rows[14], rows[15]  # seq 15 (paused) and 16 (unpaused): swap contents, keep seq and head
    for key in ("kind", "fields", "loan_id"):
        a[key], b[key] = b[key], a[key]
    _save(export, rows)
    result = verify_file(export, abi_path=abi_file)
    assert [(f.check, f.seq) for f in result.findings] == [("chain", 15), ("chain", 16)]


def test_a_forged_appended_record_is_named(export: Path, abi_file: Path, synthetic_records: list[Record]) -> None:
    rows = _rows(export)
    forged = {
        **rows[-1],
        "seq": 21,
        "kind": "Withdrawn",
        "loan_id": "" if export.suffix == ".csv" else None,
        "head": format_head((0xDEAD << 64) | 21),
    }
    _set_fields(forged, {"account": BANK, "to": BANK, "amount": 1_000})
    _save(export, [*rows, forged])
    result = verify_file(export, abi_path=abi_file)
    assert [(f.check, f.seq) for f in result.findings if f.check == "chain"] == [("chain", 21)]


def test_a_forged_record_with_a_recomputed_head_is_caught_by_the_trusted_head(
    export: Path, abi_file: Path, synthetic_records: list[Record], synthetic_catalog: EventCatalog
) -> None:
    fields = {"account": BANK, "to": BANK, "amount": 1_000}
    head = build_chain(synthetic_catalog, [("Withdrawn", fields)], start_head=synthetic_records[-1].head)[0]
    rows = _rows(export)
    forged = {
        **rows[-1],
        "seq": 21,
        "kind": "Withdrawn",
        "loan_id": "" if export.suffix == ".csv" else None,
        "head": format_head(head),
    }
    _set_fields(forged, fields)
    _save(export, [*rows, forged])
    result = verify_file(export, abi_path=abi_file, expected_head=synthetic_records[-1].head)
    heads = [f for f in result.findings if f.check == "head"]
    assert [(f.seq, f.expected, f.found) for f in heads] == [(21, "20", "21")]
    assert all(f.check != "chain" for f in result.findings)  # the forger rehashed correctly ...
    replayed = [(f.seq, f.field) for f in result.findings if f.check == "replay"]
    assert replayed == [(21, "withdrawn amount")]  # ... but withdraw() always pays the whole balance


def test_an_untouched_export_without_a_trusted_head_is_consistent_but_not_proven_complete(export: Path) -> None:
    result = verify_file(export)
    assert result.consistent and not result.ok and not result.proven_complete
    assert (result.outcome, result.exit_code) == (Outcome.NOT_PROVEN_COMPLETE, 3)
    assert result.to_json_dict()["outcome"] == "not proven complete" and result.to_json_dict()["ok"] is False


def test_a_truncated_export_is_not_proven_complete_offline_and_the_trusted_head_names_the_missing_seqs(
    export: Path, synthetic_records: list[Record]
) -> None:
    _save(export, _rows(export)[:-3])  # records 18, 19 and 20 cut from the end
    offline = verify_file(export)
    assert (offline.outcome, offline.exit_code, offline.last_seq) == (Outcome.NOT_PROVEN_COMPLETE, 3, 17)
    checked = verify_file(export, expected_head=synthetic_records[-1].head)
    assert (checked.outcome, checked.exit_code) == (Outcome.FINDINGS, 1)
    assert [(f.check, f.seq) for f in checked.findings] == [("head", 18)]
    assert "18..20 missing at the end" in checked.findings[0].detail


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0x1234", "32 bytes"),
        ("0x" + "zz" * 32, "not hexadecimal"),
        ("0x01" + "00" * 30 + "01", "first byte must be 00"),
        ("0x00" + "ab" * 24 + "00" * 7, "seq (the low 56 bits) is 0"),
        ("", "32 bytes"),
    ],
)
def test_an_expected_head_that_is_not_a_head_is_a_named_error(text: str, why: str) -> None:
    with pytest.raises(InvalidHead, match=re.escape(why)):
        parse_trusted_head(text)


def test_an_expected_head_of_the_right_form_is_read_with_or_without_0x(synthetic_records: list[Record]) -> None:
    head = synthetic_records[-1].head
    assert parse_trusted_head(format_head(head)) == parse_trusted_head(format_head(head)[2:]) == head
