"""The write-ahead journal that makes :meth:`pylender.client.tx.TxSender.send_many` idempotent.

An append-only JSON-lines file: a header line naming the run (sender, chain id, number of calls),
then one line per signed transaction (index in the calls, label, nonce, gas, hash, raw bytes and a
digest of the call), written and fsynced *before* the transaction is broadcast. A crash can tear the
last line at most; such a line is dropped on the next open (its transaction was never sent). A
journal written for other calls, another account or another chain is refused
(:class:`~pylender.errors.JournalMismatch`), never reused silently.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from eth_utils import keccak

from pylender.errors import JournalError, JournalMismatch

log = logging.getLogger(__name__)


class JournaledCall(Protocol):
    """What the journal needs of a call (:class:`pylender.client.tx.Call` has it)."""

    @property
    def to(self) -> str: ...
    @property
    def data(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def value(self) -> int: ...


JOURNAL_KIND = "pylender.send_many.journal"
JOURNAL_VERSION = 1


def call_digest(call: JournaledCall) -> str:
    return "0x" + keccak(f"{call.to.lower()}|{call.data.lower()}|{call.value}".encode()).hex()


@dataclass(frozen=True)
class JournalEntry:
    """One journaled transaction: written and fsynced before the node sees it."""

    index: int
    label: str
    nonce: int
    gas: int
    tx_hash: str
    raw: str
    call: str  # digest of target, calldata and value


class WriteAheadJournal:
    """An append-only JSON-lines file: a header line, then one line per signed transaction."""

    def __init__(self, path: Path, entries: list[JournalEntry]) -> None:
        self.path = path
        self.entries = entries

    @classmethod
    def open(cls, path: Path, sender: str, chain_id: int, calls: Sequence[JournaledCall]) -> WriteAheadJournal:
        header = {
            "kind": JOURNAL_KIND,
            "version": JOURNAL_VERSION,
            "sender": sender,
            "chain_id": chain_id,
            "count": len(calls),
        }
        if not path.exists() or path.stat().st_size == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            cls._write(path, header, mode="w")
            return cls(path, [])
        lines = path.read_bytes().split(b"\n")
        if lines[-1] != b"":  # a line torn by a crash mid-write: its transaction was never broadcast
            log.warning("journal %s: dropping a torn last line", path)
            with path.open("r+b") as handle:
                handle.truncate(path.stat().st_size - len(lines[-1]))
                handle.flush()
                os.fsync(handle.fileno())
        lines = lines[:-1]
        try:
            found = json.loads(lines[0]) if lines else None
        except ValueError:
            found = None
        if found != header:
            raise JournalMismatch(f"journal {path} was written for another run: header {found}, expected {header}")
        entries: list[JournalEntry] = []
        for number, line in enumerate(lines[1:], start=2):
            try:
                entry = JournalEntry(**json.loads(line))
            except (ValueError, TypeError) as exc:
                raise JournalError(f"journal {path}:{number}: unreadable entry ({exc})") from None
            if not 0 <= entry.index < len(calls):
                raise JournalMismatch(f"journal {path}:{number}: index {entry.index} outside the {len(calls)} calls")
            call = calls[entry.index]
            if entry.label != call.label or entry.call != call_digest(call):
                raise JournalMismatch(
                    f"journal {path}:{number}: entry {entry.index} is {entry.label} {entry.call}, "
                    f"the call is {call.label} {call_digest(call)}"
                )
            entries.append(entry)
        return cls(path, entries)

    @staticmethod
    def _write(path: Path, record: dict[str, Any], *, mode: str = "a") -> None:
        with path.open(mode, encoding="utf-8") as handle:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def append(self, index: int, call: JournaledCall, nonce: int, gas: int, raw: bytes) -> None:
        entry = JournalEntry(
            index=index,
            label=call.label,
            nonce=nonce,
            gas=gas,
            tx_hash="0x" + keccak(raw).hex(),
            raw="0x" + raw.hex(),
            call=call_digest(call),
        )
        self._write(self.path, asdict(entry))
        self.entries.append(entry)

    def by_index(self) -> dict[int, list[JournalEntry]]:
        grouped: dict[int, list[JournalEntry]] = {}
        for entry in self.entries:
            grouped.setdefault(entry.index, []).append(entry)
        return grouped
