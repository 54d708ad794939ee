"""Decoding raw logs with eth-abi and recomputing the hash chain, on synthetic records."""

from __future__ import annotations

from audit_synthetic import BANK, LEDGER, PLATFORM
from eth_abi import encode
from eth_utils import keccak

from pylender.audit.events import EventCatalog
from pylender.audit.records import HASH_MASK, LogDecoder, Record, chain_head, encode_log, seq_of


def test_catalog_keeps_only_events_whose_last_input_is_head(synthetic_catalog: EventCatalog) -> None:
    assert "Transfer" not in synthetic_catalog.names
    assert len(synthetic_catalog.names) == 16
    spec = synthetic_catalog.by_name("LoanOriginated")
    assert spec.signature == (
        "LoanOriginated(uint256,address,bytes32,(address,bytes32,uint128,uint16,uint16,uint32,uint8,uint32,uint16,"
        "uint16,uint16,address,uint16,uint40,bytes32),(address,uint16)[],bytes32)"
    )
    assert spec.topic0 == keccak(text=spec.signature)


def test_every_record_survives_encode_then_decode(synthetic_catalog: EventCatalog, synthetic_records) -> None:
    decoder = LogDecoder(synthetic_catalog)
    logs = [encode_log(synthetic_catalog, r, LEDGER) for r in synthetic_records]
    assert decoder.decode_all(logs) == synthetic_records


def test_indexed_arguments_are_read_from_topics(synthetic_catalog: EventCatalog, synthetic_records) -> None:
    funded = synthetic_records[4]
    log = encode_log(synthetic_catalog, funded, LEDGER)
    assert log["topics"][1] == "0x" + "00" * 31 + "01"  # loanId 1
    assert log["topics"][2] == "0x" + "00" * 12 + BANK[2:].lower()
    decoded = LogDecoder(synthetic_catalog).decode(log)
    assert decoded is not None
    assert decoded.fields == {"loanId": 1, "lender": BANK, "amount": 700_003, "exposure": 700_003, "fullyFunded": False}
    assert decoded.loan_id == 1 and decoded.seq == 5


def test_logs_of_other_events_and_removed_logs_are_skipped(synthetic_catalog: EventCatalog, synthetic_records) -> None:
    transfer = {
        "topics": ["0x" + keccak(text="Transfer(address,address,uint256)").hex()],
        "data": "0x",
        "blockNumber": "0x1",
        "transactionHash": "0x" + "00" * 32,
        "logIndex": "0x0",
    }
    removed = {**encode_log(synthetic_catalog, synthetic_records[0], LEDGER), "removed": True}
    assert LogDecoder(synthetic_catalog).decode_all([transfer, removed]) == []


def test_chain_head_is_keccak_of_previous_head_topic_and_args_with_seq_in_low_bits(
    synthetic_catalog: EventCatalog,
) -> None:
    spec = synthetic_catalog.by_name("Withdrawn")
    prev = (0xABC << 64) | 41
    # all arguments static: abi.encode is the 32-byte words side by side, built here by hand
    address = bytes(12) + bytes.fromhex(PLATFORM[2:])
    words = prev.to_bytes(32, "big") + spec.topic0 + address + address + (77).to_bytes(32, "big")
    expected = (int.from_bytes(keccak(words), "big") & HASH_MASK) | 42
    assert chain_head(prev, 42, spec, {"account": PLATFORM, "to": PLATFORM, "amount": 77}) == expected
    assert seq_of(expected) == 42


def test_dynamic_arguments_hash_as_abi_encode_does(synthetic_catalog: EventCatalog) -> None:
    spec = synthetic_catalog.by_name("InstitutionRegistered")
    fields = {"index": 3, "account": BANK, "name": "银行 Bank", "isPlatform": False}
    packed = encode(
        ["uint256", "bytes32", "uint16", "address", "string", "bool"], [5, spec.topic0, 3, BANK, "银行 Bank", False]
    )
    assert chain_head(5, 6, spec, fields) == (int.from_bytes(keccak(packed), "big") & HASH_MASK) | 6


def test_record_seq_matches_its_position(synthetic_records: list[Record]) -> None:
    assert [r.seq for r in synthetic_records] == list(range(1, len(synthetic_records) + 1))
    assert all(seq_of(r.head) == r.seq for r in synthetic_records)
