"""The audit record: one decoded audit event and where it sits on chain.

Its own module, outside the compiled ones (:mod:`pylender.native`): pydantic models (exports, the
index) read its field annotations, which a compiled NamedTuple does not keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from pylender.errors import InvalidHead
from pylender.values import AUDIT_SEQ_BITS

__all__ = ["Record", "format_head", "parse_trusted_head"]


class Record(NamedTuple):
    """One audit record: a decoded audit event and where it sits on chain.

    ``fields`` holds every event argument except ``head``, in declaration order, as JSON values
    (addresses checksummed, bytes as ``0x`` hex, tuples as objects keyed by component name).
    An immutable tuple: 100k of them are built per verification, so no per-record validation.
    """

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

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Record:
        """A copy with ``update`` applied (the pydantic-style spelling the tools and tests use)."""
        return self._replace(**(update or {}))


def format_head(head: int) -> str:
    """A head as a 0x-prefixed 64-digit hex string."""
    return f"0x{head:064x}"


def parse_trusted_head(text: str, what: str = "--expected-head") -> int:
    """A head an auditor brings (``0x`` + 64 hex digits), validated; :class:`InvalidHead` names what is wrong."""
    raw = text.strip()
    digits = raw[2:] if raw[:2].lower() == "0x" else raw
    if len(digits) != 64:
        raise InvalidHead(
            f"{what} {text!r} is not a head: a head is 32 bytes, written 0x and 64 hex digits "
            f"(this has {len(digits)} digits)"
        )
    try:
        head = int(digits, 16)
    except ValueError:
        raise InvalidHead(f"{what} {text!r} is not a head: not hexadecimal") from None
    if head >> 248:
        raise InvalidHead(f"{what} {text!r} is not a head: a head is 248 bits, its first byte must be 00")
    if head & ((1 << AUDIT_SEQ_BITS) - 1) == 0:
        raise InvalidHead(f"{what} {text!r} is not a head: its seq (the low 56 bits) is 0, which names no record")
    return head
