"""The compiled decoders and the raw-bytes chain pre-image agree with eth-abi, event by event."""

from __future__ import annotations

from typing import Any

import pytest
from audit_synthetic import LEDGER
from eth_abi import decode, encode
from eth_utils import keccak

from pylender.audit.chain import ChainChecker
from pylender.audit.events import EventCatalog, EventSpec
from pylender.audit.layout import EventLayout, keccak256, layout_of, sample_value
from pylender.audit.records import HASH_MASK, LogDecoder, Record, chain_head, encode_log, to_json


def _log_of(spec: EventSpec, values: list[Any], head: bytes) -> tuple[list[bytes], bytes]:
    topics = [spec.topic0] + [encode([p.type], [v]) for p, v in zip(spec.args, values, strict=True) if p.indexed]
    data_params = [p for p in spec.args if not p.indexed]
    data_values = [v for p, v in zip(spec.args, values, strict=True) if not p.indexed]
    return topics, encode([p.type for p in data_params] + ["bytes32"], [*data_values, head])


def test_keccak256_is_keccak() -> None:
    assert keccak256(b"") == keccak(b"")
    assert keccak256(b"pylender" * 99) == keccak(b"pylender" * 99)


def test_every_synthetic_event_takes_the_fast_chain(synthetic_catalog: EventCatalog) -> None:
    # all indexed arguments come first; LoanOriginated and InstitutionRegistered have dynamic data (offset shift)
    fast = {name: layout_of(synthetic_catalog.by_name(name)).fast_chain for name in synthetic_catalog.names}
    assert fast == dict.fromkeys(synthetic_catalog.names, True)
    assert layout_of(synthetic_catalog.by_name("LoanOriginated")).dynamic_offsets == [15 * 32]
    assert layout_of(synthetic_catalog.by_name("Withdrawn")).dynamic_offsets == []


@pytest.mark.parametrize("salt", [1, 2, 5])
def test_fields_and_chain_body_equal_eth_abi_on_sample_values(synthetic_catalog: EventCatalog, salt: int) -> None:
    prev = (0xC0FFEE << 64) | 77
    for name in synthetic_catalog.names:
        spec = synthetic_catalog.by_name(name)
        values = [sample_value(p.abi, salt + i) for i, p in enumerate(spec.args)]
        head = bytes(range(32))
        topics, data = _log_of(spec, values, head)
        fields, got_head, body = layout_of(spec).read(topics, data)
        assert fields == {p.name: to_json(p.abi, v) for p, v in zip(spec.args, values, strict=True)}, name
        assert got_head == int.from_bytes(head, "big")
        slow = encode(["uint256", "bytes32", *(p.type for p in spec.args)], [prev, spec.topic0, *values])
        assert body is not None and prev.to_bytes(32, "big") + body == slow, name
        # the same fields through the eth-abi slow path give the same head
        fast_head = (int.from_bytes(keccak(slow), "big") & HASH_MASK) | 78
        assert chain_head(prev, 78, spec, fields) == fast_head, name


def test_fast_chain_equals_slow_chain_on_the_synthetic_trail(
    synthetic_catalog: EventCatalog, synthetic_records: list[Record]
) -> None:
    logs = [encode_log(synthetic_catalog, r, LEDGER) for r in synthetic_records]
    records, bodies = LogDecoder(synthetic_catalog).decode_all_chained(logs)
    assert records == synthetic_records and all(b is not None for b in bodies)
    fast, slow = ChainChecker(synthetic_catalog), ChainChecker(synthetic_catalog)
    fast.feed_all(records, bodies)
    slow.feed_all(records)
    assert fast.findings == slow.findings == []
    assert fast.head == slow.head == synthetic_records[-1].head


def test_a_flipped_data_byte_breaks_the_fast_chain_at_that_seq(
    synthetic_catalog: EventCatalog, synthetic_records: list[Record]
) -> None:
    logs = [encode_log(synthetic_catalog, r, LEDGER) for r in synthetic_records]
    target = next(i for i, r in enumerate(synthetic_records) if r.kind == "RepaymentApplied")
    data = bytearray(bytes.fromhex(logs[target]["data"][2:]))
    data[5 * 32 - 1] ^= 1  # breakdown.principalPaid, last byte
    logs[target] = {**logs[target], "data": "0x" + data.hex()}
    records, bodies = LogDecoder(synthetic_catalog).decode_all_chained(logs)
    checker = ChainChecker(synthetic_catalog)
    checker.feed_all(records, bodies)
    assert [(f.check, f.seq, f.field) for f in checker.findings] == [("chain", target + 1, "head")]
    assert checker.head == synthetic_records[-1].head  # resynchronised: the records after it still verify


def test_an_event_with_an_indexed_argument_after_data_falls_back_to_eth_abi() -> None:
    entry = {
        "type": "event",
        "name": "Odd",
        "anonymous": False,
        "inputs": [
            {"name": "amount", "type": "uint256", "indexed": False},
            {"name": "loanId", "type": "uint256", "indexed": True},
            {"name": "note", "type": "string", "indexed": False},
            {"name": "head", "type": "bytes32", "indexed": False},
        ],
    }
    spec = EventSpec.from_abi(entry)
    layout = EventLayout(spec)
    assert not layout.fast_chain
    values = [123, 9, "late"]
    topics, data = _log_of(spec, values, b"\x01" * 32)
    fields, head, body = layout.read(topics, data)
    assert (fields, head, body) == ({"amount": 123, "loanId": 9, "note": "late"}, int.from_bytes(b"\x01" * 32), None)
    assert list(fields) == ["amount", "loanId", "note"]  # declaration order
    assert decode(["uint256", "string", "bytes32"], data)[1] == "late"


def test_a_log_shorter_than_its_abi_is_refused(
    synthetic_catalog: EventCatalog, synthetic_records: list[Record]
) -> None:
    log = encode_log(synthetic_catalog, synthetic_records[-1], LEDGER)
    short = {**log, "data": log["data"][:-64]}
    with pytest.raises(Exception, match="data bytes"):
        LogDecoder(synthetic_catalog).decode(short)
