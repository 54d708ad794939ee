"""The SQLite index: a second run reads only new blocks; an interrupted run resumes where it stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_fake_node import FakeLogNode, fake_web3
from audit_synthetic import LEDGER

from pylender.audit.events import EventCatalog
from pylender.audit.fetch import FetchConfig
from pylender.audit.index import AuditIndex
from pylender.audit.ingest import fetch_records
from pylender.audit.records import Record, encode_log
from pylender.errors import AuditError


@pytest.fixture()
def spread(synthetic_records: list[Record]) -> list[Record]:
    return [r.model_copy(update={"block_number": 250 * i, "log_index": 0}) for i, r in enumerate(synthetic_records)]


def _run(catalog: EventCatalog, node: FakeLogNode, path: Path, final: int):
    with AuditIndex(path, LEDGER, 31337) as index:
        return fetch_records(fake_web3(node), LEDGER, catalog, final, index, 0, FetchConfig(chunk_size=500), False)


def test_a_second_run_reads_only_new_blocks(
    synthetic_catalog: EventCatalog, spread: list[Record], tmp_path: Path
) -> None:
    logs = [encode_log(synthetic_catalog, r, LEDGER) for r in spread]
    first = FakeLogNode(logs, 2_000)
    records, checker, _ = _run(synthetic_catalog, first, tmp_path / "audit.sqlite", 2_000)
    assert [r.seq for r in records] == list(range(1, 10)) and checker.findings == []
    second = FakeLogNode(logs, 4_999)
    records, checker, old = _run(synthetic_catalog, second, tmp_path / "audit.sqlite", 4_999)
    assert second.served[0][0] == 2_001
    assert records == spread and checker.head == spread[-1].head and checker.findings == old == []


def test_an_interrupted_run_resumes_at_the_first_uncommitted_chunk(
    synthetic_catalog: EventCatalog, spread: list[Record], tmp_path: Path
) -> None:
    logs = [encode_log(synthetic_catalog, r, LEDGER) for r in spread]
    path = tmp_path / "audit.sqlite"
    with pytest.raises(KeyboardInterrupt):
        _run(synthetic_catalog, FakeLogNode(logs, 4_999, interrupt_after=3), path, 4_999)
    with AuditIndex(path, LEDGER, 31337) as index:
        assert index.fetched_block == 1_499 and index.count() == 6  # three chunks of 500 blocks committed
        assert index.chain_head == spread[5].head
    resumed = FakeLogNode(logs, 4_999)
    records, checker, _ = _run(synthetic_catalog, resumed, path, 4_999)
    assert resumed.served[0][0] == 1_500
    assert records == spread and checker.head == spread[-1].head and checker.findings == []


def test_chain_findings_are_remembered_by_the_index(
    synthetic_catalog: EventCatalog, spread: list[Record], tmp_path: Path
) -> None:
    altered = list(spread)
    altered[1] = spread[1].model_copy(update={"fields": {**spread[1].fields, "name": "Forged"}})
    logs = [encode_log(synthetic_catalog, r, LEDGER) for r in altered]
    path = tmp_path / "audit.sqlite"
    _, checker, _ = _run(synthetic_catalog, FakeLogNode(logs, 2_000), path, 2_000)
    assert [(f.check, f.seq) for f in checker.findings] == [("chain", 2)]
    _, checker, old = _run(synthetic_catalog, FakeLogNode(logs, 4_999), path, 4_999)
    assert [(f.check, f.seq) for f in old] == [("chain", 2)] and checker.findings == []


def test_an_index_of_another_ledger_is_refused(tmp_path: Path) -> None:
    AuditIndex(tmp_path / "a.sqlite", LEDGER, 31337).close()
    with pytest.raises(AuditError, match="belongs to ledger"):
        AuditIndex(tmp_path / "a.sqlite", "0x" + "22" * 20, 31337)


def test_a_reorganised_chain_rolls_the_index_back_to_the_common_ancestor_and_reads_again(
    synthetic_catalog: EventCatalog, spread: list[Record], tmp_path: Path
) -> None:
    path = tmp_path / "audit.sqlite"
    logs = [encode_log(synthetic_catalog, r, LEDGER) for r in spread]
    _run(synthetic_catalog, FakeLogNode(logs, 2_000), path, 2_000)  # records 1..9, up to block 2,000
    # the other branch from block 1,001 on: records 6..9 (blocks 1,250..2,000 before) land one block later
    moved = [r.model_copy(update={"block_number": r.block_number + 1}) if r.block_number > 1_000 else r for r in spread]
    node = FakeLogNode([encode_log(synthetic_catalog, r, LEDGER) for r in moved], 4_999, fork_after=1_000)
    records, checker, old = _run(synthetic_catalog, node, path, 4_999)
    assert node.served[0][0] == 1_000  # read again after block 999, the last block both branches share
    assert records == moved and checker.head == moved[-1].head and checker.findings == old == []
    with AuditIndex(path, LEDGER, 31337) as index:
        assert index.records() == moved and index.fetched_block == 4_999
