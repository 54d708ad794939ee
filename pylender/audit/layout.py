"""Per-event decoding plans compiled once from the ABI: raw log bytes -> JSON fields and chain pre-image.

A log's ``data`` is ``abi.encode(non-indexed args..., head)`` and its topics are ``topic0`` and the
indexed arguments' words. Static words are read with ``int.from_bytes``; dynamic values (strings,
arrays) follow their offsets. The chain pre-image ``abi.encode(prevHead, topic0, args...)`` (spec,
"Audit trail") is built from the same raw bytes when the indexed arguments are value types that
come first in declaration order and ``head`` is the last input: it is then
``prev ‖ topic0 ‖ topic1..n ‖ data-head-without-the-head-word ‖ data-tail``, with each dynamic
argument's offset moved by the size of the words in front of it (zero words for all-static events,
where it is simply the log minus its last 32 bytes). Every such event is checked at start-up
against eth-abi on sample values (:meth:`EventLayout.self_check`); an event that fails, or has
another argument order, gets ``fast_chain = False`` and its chain goes through eth-abi.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final

from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address
from sha3 import keccak_256  # safe-pysha3: keccak in C, about 4x faster per call than eth_utils.keccak

from pylender.audit.events import EventSpec
from pylender.errors import AuditError


def keccak256(data: bytes) -> bytes:
    """keccak-256 of ``data``."""
    return keccak_256(data).digest()


Reader = Callable[[bytes, int, int], Any]  # (buffer, head position, base of the enclosing tuple) -> JSON value
WORD: Final = 32


@lru_cache(maxsize=1 << 16)
def checksum_hex(hex40: str) -> str:
    """The checksummed address of 40 lowercase hex digits (addresses repeat; keccak per call is costly)."""
    return to_checksum_address("0x" + hex40)


def split_array(typ: str) -> tuple[str, str | None]:
    """``T[]`` -> (``T``, ``""``), ``T[3]`` -> (``T``, ``"3"``), other types -> (type, None)."""
    if typ.endswith("]"):
        i = typ.rindex("[")
        return typ[:i], typ[i + 1 : -1]
    return typ, None


def is_static(param: Mapping[str, Any]) -> bool:
    base, dim = split_array(str(param["type"]))
    if dim is not None:
        return dim != "" and is_static({**param, "type": base})
    if base == "tuple":
        return all(is_static(c) for c in param["components"])
    return base not in ("string", "bytes")


def head_size(param: Mapping[str, Any]) -> int:
    """Bytes the parameter takes in its tuple's head (32 for any dynamic one)."""
    if not is_static(param):
        return WORD
    base, dim = split_array(str(param["type"]))
    if dim is not None:
        return int(dim) * head_size({**param, "type": base})
    if base == "tuple":
        return sum(head_size(c) for c in param["components"])
    return WORD


def _word(b: bytes, p: int) -> int:
    if p + WORD > len(b):
        raise AuditError(f"log data too short: word at byte {p} of {len(b)}")
    return int.from_bytes(b[p : p + WORD], "big")


def _elementary(base: str) -> Reader:
    if base.startswith("uint"):
        return lambda b, p, _o: int.from_bytes(b[p : p + WORD], "big")
    if base.startswith("int"):
        return lambda b, p, _o: int.from_bytes(b[p : p + WORD], "big", signed=True)
    if base == "address":
        return lambda b, p, _o: checksum_hex(b[p + 12 : p + WORD].hex())
    if base == "bool":
        return lambda b, p, _o: b[p + WORD - 1] != 0
    if base.startswith("bytes") and base != "bytes":
        n = int(base[5:])
        return lambda b, p, _o: "0x" + b[p : p + n].hex()
    raise AuditError(f"unsupported ABI type {base!r}")


def _tuple_reader(components: Sequence[Mapping[str, Any]]) -> Reader:
    """Reads a tuple laid out at ``p`` (its own base) into a dict keyed by component name."""
    plan: list[tuple[str, Reader, int]] = []
    offset = 0
    for c in components:
        plan.append((str(c["name"]), compile_reader(c), offset))
        offset += head_size(c)
    if all(str(c["type"]).startswith("uint") and not str(c["type"]).endswith("]") for c in components):
        # all unsigned words (RepaymentBreakdown, PolicyParams): no reader call per field
        words = [(name, off, off + WORD) for name, _, off in plan]
        from_bytes = int.from_bytes
        return lambda b, p, _o: {name: from_bytes(b[p + lo : p + hi], "big") for name, lo, hi in words}
    return lambda b, p, _o: {name: read(b, p + off, p) for name, read, off in plan}


def _content_reader(param: Mapping[str, Any]) -> Callable[[bytes, int], Any]:
    """Reads a dynamic value whose content starts at byte ``start``."""
    base, dim = split_array(str(param["type"]))
    if dim is None and base == "string":

        def read_string(b: bytes, start: int) -> str:
            n = _word(b, start)
            if start + WORD + n > len(b):
                raise AuditError("log data too short for a string")
            return b[start + WORD : start + WORD + n].decode("utf-8")

        return read_string
    if dim is None and base == "bytes":

        def read_bytes(b: bytes, start: int) -> str:
            n = _word(b, start)
            if start + WORD + n > len(b):
                raise AuditError("log data too short for bytes")
            return "0x" + b[start + WORD : start + WORD + n].hex()

        return read_bytes
    if dim is None:  # a dynamic tuple: its components at ``start``, offsets relative to it
        read_tuple = _tuple_reader(param["components"])
        return lambda b, start: read_tuple(b, start, start)
    inner = {**param, "type": base}
    read_item, size = compile_reader(inner), head_size(inner)
    if dim == "":

        def read_list(b: bytes, start: int) -> list[Any]:
            n = _word(b, start)
            first = start + WORD
            if first + n * size > len(b):
                raise AuditError("log data too short for an array")
            return [read_item(b, first + i * size, first) for i in range(n)]

        return read_list
    k = int(dim)  # a fixed-size array of dynamic items
    return lambda b, start: [read_item(b, start + i * size, start) for i in range(k)]


def compile_reader(param: Mapping[str, Any]) -> Reader:
    """A reader of one ABI parameter as its head sits at ``p`` inside a tuple based at ``base``."""
    if not is_static(param):
        content = _content_reader(param)
        return lambda b, p, base: content(b, base + _word(b, p))
    base_type, dim = split_array(str(param["type"]))
    if dim is not None:
        inner = {**param, "type": base_type}
        read_item, size, k = compile_reader(inner), head_size(inner), int(dim)
        return lambda b, p, base: [read_item(b, p + i * size, base) for i in range(k)]
    if base_type == "tuple":
        return _tuple_reader(param["components"])
    return _elementary(base_type)


def _inline(param: Mapping[str, Any], pos: int, base: int, readers: dict[str, Reader]) -> str:
    """A Python expression reading ``param`` from the buffer ``b`` at the constant position ``pos``
    (in a tuple based at ``base``); dynamic values call their compiled reader, named in ``readers``."""
    if not is_static(param):
        name = f"r{len(readers)}"
        readers[name] = compile_reader(param)
        return f"{name}(b, {pos}, {base})"
    typ, dim = split_array(str(param["type"]))
    if dim is not None:
        inner = {**param, "type": typ}
        size = head_size(inner)
        return "[" + ", ".join(_inline(inner, pos + i * size, base, readers) for i in range(int(dim))) + "]"
    if typ == "tuple":
        items, offset = [], 0
        for c in param["components"]:
            items.append(f"{str(c['name'])!r}: {_inline(c, pos + offset, pos, readers)}")
            offset += head_size(c)
        return "{" + ", ".join(items) + "}"
    end = pos + WORD
    if typ.startswith("uint"):
        return f"fb(b[{pos}:{end}], 'big')"
    if typ.startswith("int"):
        return f"fb(b[{pos}:{end}], 'big', signed=True)"
    if typ == "address":
        return f"cs(b[{pos + 12}:{end}].hex())"
    if typ == "bool":
        return f"b[{end - 1}] != 0"
    if typ.startswith("bytes"):
        return f"'0x' + b[{pos}:{pos + int(typ[5:])}].hex()"
    raise AuditError(f"unsupported ABI type {typ!r}")


def _compiled(expression: str, readers: Mapping[str, Reader]) -> Callable[[bytes], Any]:
    source = f"def read(b):\n    return {expression}\n"
    namespace: dict[str, Any] = {"fb": int.from_bytes, "cs": checksum_hex, **readers}
    exec(compile(source, "<pylender.audit.layout>", "exec"), namespace)
    return namespace["read"]


def compile_fields(plan: Sequence[tuple[str, Mapping[str, Any], int, int]]) -> Callable[[bytes], dict[str, Any]]:
    """One function reading every ``(name, param, position, base)`` of ``plan`` from a buffer into a dict.

    The hot path of decoding: the positions are constants, so the plan is turned into the source of one
    dict display (``{"loanId": fb(b[32:64], 'big'), ...}``) and compiled once per event type; only
    dynamic values (strings, arrays) call a reader. Names appear only as ``repr`` literals. The reads are
    the compiled readers' own operations, so a short or malformed buffer fails (or not) as they do.
    """
    readers: dict[str, Reader] = {}
    return _compiled(_fields_expression(plan, readers), readers)


def _fields_expression(plan: Sequence[tuple[str, Mapping[str, Any], int, int]], readers: dict[str, Reader]) -> str:
    return "{" + ", ".join(f"{name!r}: {_inline(param, pos, base, readers)}" for name, param, pos, base in plan) + "}"


def compile_value(param: Mapping[str, Any]) -> Callable[[bytes], Any]:
    """:func:`compile_reader` of a parameter at the start of its buffer, as one compiled expression."""
    readers: dict[str, Reader] = {}
    return _compiled(_inline(param, 0, 0, readers), readers)


def sample_value(param: Mapping[str, Any], salt: int = 1) -> Any:
    """A value of the parameter's type for eth-abi (the start-up self check and tests)."""
    base, dim = split_array(str(param["type"]))
    if dim is not None:
        inner = {**param, "type": base}
        return [sample_value(inner, salt + i) for i in range(2 if dim == "" else int(dim))]
    if base == "tuple":
        return tuple(sample_value(c, salt + i) for i, c in enumerate(param["components"]))
    if base.startswith("uint"):
        return salt + 3
    if base.startswith("int"):
        return -salt - 3
    if base == "address":
        return bytes([salt % 256]) * 20
    if base == "bool":
        return salt % 2 == 1
    if base == "string":
        return "sample é" * (salt % 3 + 1)
    if base == "bytes":
        return bytes([salt % 256]) * (salt % 40 + 1)
    if base.startswith("bytes"):
        return bytes([salt % 256]) * int(base[5:])
    raise AuditError(f"unsupported ABI type {base!r}")


class EventLayout:
    """How one audit event's raw log maps to fields, head and (when possible) the chain pre-image."""

    def __init__(self, spec: EventSpec) -> None:
        self.spec = spec
        inputs = spec.inputs
        data_params = [p for p in inputs if not p.indexed]
        self.data_types = [p.type for p in data_params]
        self.indexed_error: str | None = None
        for p in inputs:
            if p.indexed and (not is_static(p.abi) or p.type.startswith("(") or p.type.endswith("]")):
                self.indexed_error = f"{spec.name}.{p.name}: an indexed dynamic type cannot be replayed"
        # Where each input comes from: ("t", topic index) or ("d", byte offset in the data head).
        self.plan: list[tuple[str, Reader, bool, int]] = []
        offset, topic_i = 0, 1
        self.dynamic_offsets: list[int] = []
        self.head_offset = -1
        for p in inputs:
            if p.indexed:
                if self.indexed_error is None:
                    self.plan.append((p.name, compile_reader(p.abi), True, topic_i))
                topic_i += 1
                continue
            if p is inputs[-1]:
                self.head_offset = offset
            else:
                self.plan.append((p.name, compile_reader(p.abi), False, offset))
                if not is_static(p.abi):
                    self.dynamic_offsets.append(offset)
            offset += head_size(p.abi)
        self.topic_count = topic_i
        self.data_head = offset
        self.all_static = all(is_static(p.abi) for p in data_params)
        indexed_first = all(p.indexed for p in inputs[: topic_i - 1]) and not inputs[-1].indexed
        # abi.encode(prev, topic0, indexed..., data args...) puts the tails (topic_i + 1) words further
        # from the start than the log data does (which has the head word instead of prev, topic0, indexed).
        self.offset_shift = topic_i * WORD
        self.fast_chain = (
            self.indexed_error is None and indexed_first and self.head_offset == self.data_head - WORD
        ) and self.self_check()
        # The same plan over one buffer ``topic0 ‖ topic1..n ‖ data`` (one hex decode per log).
        self.data_start = topic_i * WORD
        self.joined_plan = [
            (name, read, i * WORD, 0) if in_topic else (name, read, self.data_start + i, self.data_start)
            for name, read, in_topic, i in self.plan
        ]
        self.joined_size = self.data_start + self.data_head if self.all_static else -1
        params = {p.name: p.abi for p in inputs}
        fields_plan = [(name, params[name], pos, base) for name, _, pos, base in self.joined_plan]
        self.read_fields = compile_fields(fields_plan)
        # All-static events (the hot ones): fields, head and chain body in one compiled call; the buffer's
        # size is checked first, so the head word is always there and the body is the buffer before it.
        self.read_static: Callable[[bytes], tuple[dict[str, Any], int, bytes | None]] | None = None
        if self.joined_size >= 0:
            readers: dict[str, Reader] = {}
            at = self.data_start + self.head_offset
            body = f"b[:{at}]" if self.fast_chain and not self.dynamic_offsets else "None"
            expression = f"({_fields_expression(fields_plan, readers)}, fb(b[{at}:{at + WORD}], 'big'), {body})"
            self.read_static = _compiled(expression, readers)

    def read_joined(self, buf: bytes, topic_count: int) -> tuple[dict[str, Any], int, bytes | None]:
        """:meth:`read` over ``topic0 ‖ topic1..n ‖ data`` as one buffer."""
        if self.indexed_error is not None:
            raise AuditError(self.indexed_error)
        if topic_count != self.topic_count:
            raise AuditError(f"{self.spec.name}: {topic_count} topics, the ABI says {self.topic_count}")
        start = self.data_start
        if self.joined_size >= 0 and len(buf) != self.joined_size:
            raise AuditError(f"{self.spec.name}: {len(buf) - start} data bytes, the ABI says {self.data_head}")
        if self.read_static is not None:
            return self.read_static(buf)
        fields = self.read_fields(buf)
        head = _word(buf, start + self.head_offset)
        if not self.fast_chain:
            return fields, head, None
        if not self.dynamic_offsets:
            return fields, head, buf[: start + self.head_offset] + buf[start + self.data_head :]
        heads = bytearray(buf[: start + self.head_offset])
        for off in self.dynamic_offsets:
            at = start + off
            heads[at : at + WORD] = (_word(buf, at) + self.offset_shift).to_bytes(WORD, "big")
        return fields, head, bytes(heads) + buf[start + self.data_head :]

    def read(self, topics: Sequence[bytes], data: bytes) -> tuple[dict[str, Any], int, bytes | None]:
        """Fields (JSON values, declaration order), head and the chain body (pre-image after prevHead) or None."""
        if self.indexed_error is not None:
            raise AuditError(self.indexed_error)
        if len(topics) != self.topic_count:
            raise AuditError(f"{self.spec.name}: {len(topics)} topics, the ABI says {self.topic_count}")
        if self.all_static and len(data) != self.data_head:
            raise AuditError(f"{self.spec.name}: {len(data)} data bytes, the ABI says {self.data_head}")
        fields = {
            name: read(topics[i], 0, 0) if in_topic else read(data, i, 0) for name, read, in_topic, i in self.plan
        }
        head = _word(data, self.head_offset)
        body = self.body(topics, data) if self.fast_chain else None
        return fields, head, body

    def body(self, topics: Sequence[bytes], data: bytes) -> bytes:
        """``topic0 ‖ topic1..n ‖ data`` rearranged into abi.encode(topic0, args...) (no trailing head word)."""
        if not self.dynamic_offsets:
            return b"".join(topics) + data[: self.head_offset] + data[self.data_head :]
        heads = bytearray(data[: self.head_offset])
        for off in self.dynamic_offsets:
            heads[off : off + WORD] = (_word(data, off) + self.offset_shift).to_bytes(WORD, "big")
        return b"".join(topics) + bytes(heads) + data[self.data_head :]

    def self_check(self) -> bool:
        """The fast pre-image equals eth-abi's abi.encode(prev, topic0, args...) on sample values."""
        spec = self.spec
        values = [sample_value(p.abi, i + 1) for i, p in enumerate(spec.args)]
        prev, head = (0xAB << 64) | 41, b"\x5a" * 32
        try:
            slow = abi_encode(["uint256", "bytes32", *(p.type for p in spec.args)], [prev, spec.topic0, *values])
            topics = [spec.topic0] + [
                abi_encode([p.type], [v]) for p, v in zip(spec.args, values, strict=True) if p.indexed
            ]
            data_values = [v for p, v in zip(spec.args, values, strict=True) if not p.indexed]
            data = abi_encode(self.data_types, [*data_values, head])
            fast = prev.to_bytes(WORD, "big") + self.body(topics, data)
        except Exception:  # an ABI eth-abi cannot encode: use the slow path, which reports it per record
            return False
        return fast == slow


_LAYOUTS: dict[tuple[str, tuple[tuple[str, bool], ...]], EventLayout] = {}


def layout_of(spec: EventSpec) -> EventLayout:
    """The compiled layout of one event (cached: the self check runs once per event type)."""
    key = (spec.signature, tuple((p.name, p.indexed) for p in spec.inputs))
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = _LAYOUTS[key] = EventLayout(spec)
    return layout
