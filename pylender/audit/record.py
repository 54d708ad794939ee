"""The audit record: one decoded audit event and where it sits on chain.

Its own module, outside the compiled ones (:mod:`pylender.native`): pydantic models (exports, the
index) read its field annotations, which a compiled NamedTuple does not keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["Record", "format_head"]


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
