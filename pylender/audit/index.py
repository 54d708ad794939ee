"""A local SQLite index of one ledger's audit records, so a second verify reads only new blocks.

Each fetched chunk is committed in one transaction together with the block it reaches and the
chain state after it, so an interrupted run resumes at the first uncommitted chunk.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from pylender.audit.findings import Finding
from pylender.audit.records import Record, format_head, parse_head
from pylender.errors import AuditError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    loan_id INTEGER,
    head TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX IF NOT EXISTS records_loan ON records (loan_id);
CREATE TABLE IF NOT EXISTS findings (id INTEGER PRIMARY KEY AUTOINCREMENT, finding TEXT NOT NULL);
"""


class AuditIndex:
    """Records, the last fetched block and the verified chain state of one ledger on one chain."""

    def __init__(self, path: str | Path, ledger: str, chain_id: int) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path)
        self.db.executescript(SCHEMA)
        stored_ledger, stored_chain = self._get("ledger"), self._get("chain_id")
        if stored_ledger is None:
            with self.db:
                self._set("ledger", ledger)
                self._set("chain_id", str(chain_id))
        elif stored_ledger.lower() != ledger.lower() or int(stored_chain or -1) != chain_id:
            self.db.close()
            raise AuditError(
                f"index {self.path} belongs to ledger {stored_ledger} on chain {stored_chain}, "
                f"not {ledger} on chain {chain_id}"
            )

    def __enter__(self) -> AuditIndex:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def fetched_block(self) -> int:
        """The last block whose logs are all stored (−1 before the first chunk)."""
        value = self._get("fetched_block")
        return -1 if value is None else int(value)

    @property
    def chain_head(self) -> int:
        """The chain checker's head after the stored records (0 before any)."""
        value = self._get("chain_head")
        return 0 if value is None else parse_head(value)

    def set_start_block(self, block: int) -> None:
        """Start fetching at ``block`` (the ledger's deployment block); only before the first chunk."""
        if self._get("fetched_block") is None:
            with self.db:
                self._set("fetched_block", str(block - 1))

    def commit_chunk(self, end_block: int, records: Sequence[Record], head: int, findings: Sequence[Finding]) -> None:
        """Store one chunk's records, the block reached, the chain head and new findings, atomically."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.block_number,
                        r.log_index,
                        r.seq,
                        r.kind,
                        r.loan_id,
                        format_head(r.head),
                        r.tx_hash,
                        json.dumps(r.fields, separators=(",", ":")),
                    )
                    for r in records
                ],
            )
            self.db.executemany("INSERT INTO findings (finding) VALUES (?)", [(f.model_dump_json(),) for f in findings])
            self._set("fetched_block", str(end_block))
            self._set("chain_head", format_head(head))

    def records(self, loan_id: int | None = None) -> list[Record]:
        """Stored records in chain order (optionally only one loan's)."""
        sql = "SELECT seq, kind, loan_id, head, block_number, tx_hash, log_index, fields FROM records"
        args: tuple[int, ...] = ()
        if loan_id is not None:
            sql += " WHERE loan_id = ?"
            args = (loan_id,)
        sql += " ORDER BY block_number, log_index"
        return [
            Record(
                seq=s,
                kind=k,
                loan_id=lid,
                head=parse_head(h),
                block_number=b,
                tx_hash=tx,
                log_index=li,
                fields=json.loads(f),
            )
            for s, k, lid, h, b, tx, li, f in self.db.execute(sql, args)
        ]

    def findings(self) -> list[Finding]:
        """Chain findings of earlier runs (they stay until the index is rebuilt)."""
        rows = self.db.execute("SELECT finding FROM findings ORDER BY id")
        return [Finding.model_validate_json(row[0]) for row in rows]

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM records").fetchone()[0])
