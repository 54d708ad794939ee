"""Decode audit logs into :class:`Record` values and recompute the hash chain.

Decoding is compiled per event type from the ABI (:mod:`pylender.audit.layout`): static words are read with
``int.from_bytes``, no eth-abi and no web3 formatting on the hot path. The chain rule (docs/ledger-spec.md,
"Audit trail"): ``head_n = (keccak256(abi.encode(head_{n-1}, topic0, args...)) & (2**248 - 2**56)) | n``: a
192-bit chain hash in bits 56-247, the seq in bits 0-55. For events whose arguments are all static with the
indexed ones first, that pre-image is the raw log itself (``prev ‖ topic0 ‖ topic1..n ‖ data`` minus the
trailing head word), so the decoder hands the checker those bytes and nothing is re-encoded; other events go
through eth-abi.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address
from hexbytes import HexBytes

from pylender.audit.events import EventCatalog, EventSpec
from pylender.audit.layout import EventLayout, keccak256, layout_of
from pylender.audit.record import Record as Record
from pylender.audit.record import format_head as format_head  # re-exported: where callers import it from
from pylender.errors import AuditError
from pylender.values import AUDIT_SEQ_BITS

_checksum = lru_cache(maxsize=1 << 16)(to_checksum_address)  # addresses repeat; keccak per call is costly

SEQ_BITS = AUDIT_SEQ_BITS
SEQ_MASK = (1 << SEQ_BITS) - 1
HASH_MASK = ((1 << 248) - 1) ^ SEQ_MASK


def parse_head(value: str | int) -> int:
    """A head from hex text or an integer."""
    if isinstance(value, int):
        return value
    text = value.strip()
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def seq_of(head: int) -> int:
    """The sequence number packed into a head's low bits."""
    return head & SEQ_MASK


# ---------------------------------------------------------------- value conversion (ABI <-> JSON)


def _split_array(typ: str) -> tuple[str, bool]:
    """``T[]``/``T[3]`` -> (``T``, True); other types -> (type, False)."""
    if typ.endswith("]"):
        return typ[: typ.rindex("[")], True
    return typ, False


def to_json(param: Mapping[str, Any], value: Any) -> Any:
    """An eth-abi decoded value as a JSON value, following the ABI entry ``param``."""
    base, is_array = _split_array(str(param["type"]))
    if is_array:
        inner = {**param, "type": base}
        return [to_json(inner, v) for v in value]
    if base == "tuple":
        return {str(c["name"]): to_json(c, v) for c, v in zip(param["components"], value, strict=True)}
    if base == "address":
        return _checksum(value)
    if base.startswith("bytes"):
        return "0x" + bytes(value).hex()
    if base == "bool":
        return bool(value)
    if base == "string":
        return str(value)
    if base.startswith(("uint", "int")):
        return int(value)
    raise AuditError(f"unsupported ABI type {base!r}")


def from_json(param: Mapping[str, Any], value: Any) -> Any:
    """A JSON value back into what eth-abi encodes, following the ABI entry ``param``."""
    base, is_array = _split_array(str(param["type"]))
    if is_array:
        inner = {**param, "type": base}
        return [from_json(inner, v) for v in value]
    if base == "tuple":
        return tuple(from_json(c, value[str(c["name"])]) for c in param["components"])
    if base == "address":
        return _checksum(value)
    if base.startswith("bytes"):
        return bytes(HexBytes(value))
    if base == "bool":
        if isinstance(value, str):
            return value.lower() == "true"
        return bool(value)
    if base == "string":
        return str(value)
    if base.startswith(("uint", "int")):
        return int(value, 0) if isinstance(value, str) else int(value)
    raise AuditError(f"unsupported ABI type {base!r}")


# ---------------------------------------------------------------- the chain


def chain_head(prev_head: int, seq: int, spec: EventSpec, fields: Mapping[str, Any]) -> int:
    """The head after appending one record with ``fields`` (JSON values) as number ``seq``."""
    types = ["uint256", "bytes32", *(p.type for p in spec.args)]
    try:
        values = [prev_head, spec.topic0, *(from_json(p.abi, fields[p.name]) for p in spec.args)]
    except KeyError as exc:
        raise AuditError(f"{spec.name} record lacks field {exc.args[0]!r}") from None
    digest = int.from_bytes(keccak256(abi_encode(types, values)), "big")
    return (digest & HASH_MASK) | (seq & SEQ_MASK)


def build_chain(
    catalog: EventCatalog, events: Sequence[tuple[str, Mapping[str, Any]]], start_head: int = 0
) -> list[int]:
    """The heads of a sequence of (event name, fields) appended after ``start_head`` (for tests, forgeries)."""
    heads: list[int] = []
    head = start_head
    for kind, fields in events:
        head = chain_head(head, seq_of(head) + 1, catalog.by_name(kind), fields)
        heads.append(head)
    return heads


# ---------------------------------------------------------------- decoding logs


def as_bytes(value: Any) -> bytes:
    """A log's bytes field (``0x`` hex as a node sends it, or bytes / HexBytes from a formatting provider)."""
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value[:2] in ("0x", "0X") else value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes(HexBytes(value))


def as_int(value: Any) -> int:
    """A JSON-RPC quantity (``0x`` hex as a node sends it, or an integer from a formatting provider)."""
    if isinstance(value, int):
        return value
    return int(value, 16) if isinstance(value, str) else int(value)


def _as_hash(value: Any) -> str:
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()


class LogDecoder:
    """Decodes raw ``eth_getLogs`` entries (hex JSON or web3 AttributeDicts) of one catalogue.

    Each event type's layout is compiled once (:func:`pylender.audit.layout.layout_of`); a record
    costs a few slices and ``int.from_bytes`` calls. ``decode_chained`` also returns each record's
    chain body (see :mod:`pylender.audit.layout`) so the checker hashes the log's own bytes.
    """

    def __init__(self, catalog: EventCatalog) -> None:
        self.catalog = catalog
        self._layouts: dict[bytes, EventLayout] = {}
        for topic in catalog.topics:
            spec = catalog.by_topic(topic)
            assert spec is not None
            self._layouts[topic] = layout_of(spec)
        self._by_hex = {"0x" + t.hex(): layout for t, layout in self._layouts.items()}

    def decode_chained(self, log: Mapping[str, Any]) -> tuple[Record, bytes | None] | None:
        """The record of one log and its chain body (None for events on the eth-abi path);
        None when the log is not an audit event of the catalogue."""
        raw_topics = log["topics"]
        if not raw_topics:
            return None
        data = log["data"]
        topic0 = raw_topics[0]
        if isinstance(topic0, str) and isinstance(data, str):  # raw JSON: one hex decode for the whole log
            layout = self._by_hex.get(topic0) or self._by_hex.get(topic0.lower())
            if layout is None:
                return None
            buf = bytes.fromhex("".join([t[2:] for t in raw_topics]) + data[2:])
            fields, head, body = layout.read_joined(buf, len(raw_topics))
        else:
            topics = [as_bytes(t) for t in raw_topics]
            found = self._layouts.get(topics[0])
            if found is None:
                return None
            layout = found
            fields, head, body = layout.read(topics, as_bytes(data))
        loan_id = fields.get("loanId")
        record = Record(
            head & SEQ_MASK,
            layout.spec.name,
            loan_id if loan_id is None or isinstance(loan_id, int) else int(loan_id),
            fields,
            head,
            as_int(log["blockNumber"]),
            _as_hash(log["transactionHash"]),
            as_int(log["logIndex"]),
        )
        return record, body

    def decode(self, log: Mapping[str, Any]) -> Record | None:
        """The record of one log, or None when the log is not an audit event of the catalogue."""
        out = self.decode_chained(log)
        return None if out is None else out[0]

    def decode_all_chained(self, logs: Iterable[Mapping[str, Any]]) -> tuple[list[Record], list[bytes | None]]:
        """Records and their chain bodies, skipping removed logs and other events."""
        records: list[Record] = []
        bodies: list[bytes | None] = []
        decode, by_hex, fromhex, join = self.decode_chained, self._by_hex, bytes.fromhex, b"".join
        new_record = tuple.__new__
        blocks: dict[str, int] = {}
        for log in logs:
            if log.get("removed"):
                continue
            # the hot path, raw JSON as eth_getLogs returns it: decode_chained inlined
            raw_topics = log["topics"]
            data = log["data"]
            topic0 = raw_topics[0] if raw_topics else None
            if type(topic0) is not str or type(data) is not str:
                out = decode(log)
                if out is not None:
                    records.append(out[0])
                    bodies.append(out[1])
                continue
            layout = by_hex.get(topic0) or by_hex.get(topic0.lower())
            if layout is None:
                continue
            fields, head, body = layout.read_joined(
                join([fromhex(t[2:]) for t in raw_topics]) + fromhex(data[2:]), len(raw_topics)
            )
            loan_id = fields.get("loanId")
            number, tx_hash, index = log["blockNumber"], log["transactionHash"], log["logIndex"]
            if type(number) is str:
                block = blocks.get(number)  # a block's logs share its number: parse it once
                if block is None:
                    block = blocks[number] = int(number, 16)
            else:
                block = as_int(number)
            records.append(
                new_record(  # the NamedTuple's own __new__ without its Python-level argument handling
                    Record,
                    (
                        head & SEQ_MASK,
                        layout.spec.name,
                        loan_id if loan_id is None or type(loan_id) is int else int(loan_id),
                        fields,
                        head,
                        block,
                        tx_hash.lower() if type(tx_hash) is str else _as_hash(tx_hash),
                        int(index, 16) if type(index) is str else as_int(index),
                    ),
                )
            )
            bodies.append(body)
        return records, bodies

    def decode_all(self, logs: Iterable[Mapping[str, Any]]) -> list[Record]:
        return self.decode_all_chained(logs)[0]


def encode_log(catalog: EventCatalog, record: Record, address: str) -> dict[str, Any]:
    """The raw ``eth_getLogs`` entry a ledger would emit for ``record`` (tests and fakes use it)."""
    spec = catalog.by_name(record.kind)
    topics = [spec.topic0]
    data_types: list[str] = []
    data_values: list[Any] = []
    for param in spec.inputs:
        if param is spec.inputs[-1]:
            value: Any = record.head.to_bytes(32, "big") if param.type == "bytes32" else record.head
        else:
            value = from_json(param.abi, record.fields[param.name])
        if param.indexed:
            topics.append(abi_encode([param.type], [value]))
        else:
            data_types.append(param.type)
            data_values.append(value)
    return {
        "address": address,
        "topics": ["0x" + t.hex() for t in topics],
        "data": "0x" + abi_encode(data_types, data_values).hex(),
        "blockNumber": hex(record.block_number),
        "transactionHash": record.tx_hash,
        "logIndex": hex(record.log_index),
        "removed": False,
    }
