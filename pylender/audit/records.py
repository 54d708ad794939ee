"""Decode audit logs into :class:`Record` values and recompute the hash chain.

Decoding goes straight through eth-abi (data) and by hand (topics): web3's per-event processing
is an order of magnitude slower on 100k logs. The chain rule (docs/ledger-spec.md, "Audit trail"):
``head_n = (keccak256(abi.encode(head_{n-1}, topic0, args...)) & ~(2**64 - 1)) | n``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from pydantic import BaseModel, ConfigDict

from pylender.audit.errors import AuditError
from pylender.audit.events import EventCatalog, EventSpec

_checksum = lru_cache(maxsize=1 << 16)(to_checksum_address)  # addresses repeat; keccak per call is costly

SEQ_BITS = 64
SEQ_MASK = (1 << SEQ_BITS) - 1
HASH_MASK = ((1 << 256) - 1) ^ SEQ_MASK


class Record(BaseModel):
    """One audit record: a decoded audit event and where it sits on chain.

    ``fields`` holds every event argument except ``head``, in declaration order, as JSON values
    (addresses checksummed, bytes as ``0x`` hex, tuples as objects keyed by component name).
    """

    model_config = ConfigDict(frozen=True)

    seq: int
    kind: str
    loan_id: int | None
    fields: dict[str, Any]
    head: int
    block_number: int
    tx_hash: str
    log_index: int

    @property
    def head_hex(self) -> str:
        return format_head(self.head)


def format_head(head: int) -> str:
    """A head as a 0x-prefixed 64-digit hex string."""
    return f"0x{head:064x}"


def parse_head(value: str | int) -> int:
    """A head from hex text or an integer."""
    if isinstance(value, int):
        return value
    text = value.strip()
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def seq_of(head: int) -> int:
    """The sequence number packed into a head's low 64 bits."""
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
    digest = int.from_bytes(keccak(abi_encode(types, values)), "big")
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


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes(HexBytes(value))


def _as_int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(value, 16) if isinstance(value, str) else int(value)


def _decode_topic(typ: str, topic: bytes) -> Any:
    """One indexed static argument from its topic word, by hand for the common types."""
    if typ.startswith("uint"):
        return int.from_bytes(topic, "big")
    if typ == "address":
        return "0x" + topic[12:].hex()
    if typ == "bytes32":
        return topic
    if typ == "bool":
        return topic[-1] != 0
    return abi_decode([typ], topic)[0]


class LogDecoder:
    """Decodes raw ``eth_getLogs`` entries (hex JSON or web3 AttributeDicts) of one catalogue."""

    def __init__(self, catalog: EventCatalog) -> None:
        self.catalog = catalog
        self._plans: dict[bytes, tuple[EventSpec, list[str]]] = {}
        for topic in catalog.topics:
            spec = catalog.by_topic(topic)
            assert spec is not None
            self._plans[topic] = (spec, [p.type for p in spec.unindexed])

    def decode(self, log: Mapping[str, Any]) -> Record | None:
        """The record of one log, or None when the log is not an audit event of the catalogue."""
        topics = [_as_bytes(t) for t in log["topics"]]
        if not topics:
            return None
        plan = self._plans.get(topics[0])
        if plan is None:
            return None
        spec, data_types = plan
        data_values = list(abi_decode(data_types, _as_bytes(log["data"]))) if data_types else []
        fields: dict[str, Any] = {}
        head = 0
        topic_i = 1
        data_i = 0
        for param in spec.inputs:
            if param.indexed:
                if param.type in ("string", "bytes") or param.type.endswith("]") or param.type.startswith("("):
                    raise AuditError(f"{spec.name}.{param.name}: an indexed dynamic type cannot be replayed")
                raw = _decode_topic(param.type, topics[topic_i])
                topic_i += 1
            else:
                raw = data_values[data_i]
                data_i += 1
            if param is spec.inputs[-1]:
                head = int.from_bytes(raw, "big") if isinstance(raw, bytes) else int(raw)
            else:
                fields[param.name] = to_json(param.abi, raw)
        loan_id = fields.get("loanId")
        return Record(
            seq=seq_of(head),
            kind=spec.name,
            loan_id=int(loan_id) if loan_id is not None else None,
            fields=fields,
            head=head,
            block_number=_as_int(log["blockNumber"]),
            tx_hash="0x" + _as_bytes(log["transactionHash"]).hex(),
            log_index=_as_int(log["logIndex"]),
        )

    def decode_all(self, logs: Iterable[Mapping[str, Any]]) -> list[Record]:
        out: list[Record] = []
        for log in logs:
            if log.get("removed"):
                continue
            rec = self.decode(log)
            if rec is not None:
                out.append(rec)
        return out


def encode_log(catalog: EventCatalog, record: Record, address: str) -> dict[str, Any]:
    """The raw ``eth_getLogs`` entry a ledger would emit for ``record`` (tests and fakes use it)."""
    spec = catalog.by_name(record.kind)
    topics = [spec.topic0]
    data_types: list[str] = []
    data_values: list[Any] = []
    for param in spec.inputs:
        if param is spec.inputs[-1]:
            value = record.head.to_bytes(32, "big") if param.type == "bytes32" else record.head
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
