"""A local SQLite index of one ledger's audit records, so a second verify reads only new blocks.

Each fetched chunk is committed in one transaction together with the block it reaches and the
chain state after it, so an interrupted run resumes at the first uncommitted chunk.

The index also keeps the hash of every block it holds records of, and of the blocks it was synced to.
A chain that no longer has those blocks was reorganised: :meth:`AuditIndex.common_ancestor` finds the
newest block both agree on and :meth:`AuditIndex.rollback` forgets everything after it, so the records
are read and verified again from there (``pylender audit verify --follow``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from pylender.audit.findings import Finding
from pylender.audit.records import Record, format_head, parse_head
from pylender.errors import IndexUnusable

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
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
"""


class AuditIndex:
    """Records, the last fetched block and the verified chain state of one ledger on one chain."""

    def __init__(self, path: str | Path, ledger: str, chain_id: int) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise IndexUnusable(f"--index {self.path} is a directory, not an index file")
        try:
            self.db = sqlite3.connect(self.path)
        except sqlite3.Error as exc:
            raise IndexUnusable(f"cannot open the index {self.path}: {exc}") from exc
        try:
            self.db.executescript(SCHEMA)
            stored_ledger, stored_chain = self._get("ledger"), self._get("chain_id")
        except sqlite3.Error as exc:
            self.db.close()
            raise IndexUnusable(f"{self.path} is not a usable SQLite audit index: {exc}") from exc
        if stored_ledger is None:
            with self.db:
                self._set("ledger", ledger)
                self._set("chain_id", str(chain_id))
        elif stored_ledger.lower() != ledger.lower() or int(stored_chain or -1) != chain_id:
            self.db.close()
            raise IndexUnusable(
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
                self._set("start_block", str(block))

    def commit_chunk(
        self,
        end_block: int,
        records: Sequence[Record],
        head: int,
        findings: Sequence[Finding],
        block_hashes: Mapping[int, str] | None = None,
    ) -> None:
        """Store one chunk's records, the block reached, the chain head, new findings and the hashes of the
        blocks read (the records' blocks, the end block), atomically."""
        with self.db:
            if block_hashes:
                self.db.executemany(
                    "INSERT OR REPLACE INTO blocks VALUES (?, ?)", [(n, h.lower()) for n, h in block_hashes.items()]
                )
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

    def remember_blocks(self, block_hashes: Mapping[int, str]) -> None:
        """Keep the hashes of blocks read (the chain tip a sync reached)."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO blocks VALUES (?, ?)", [(n, h.lower()) for n, h in block_hashes.items()]
            )

    def block_hashes(self, limit: int = 256) -> list[tuple[int, str]]:
        """The stored block hashes, newest first (at most ``limit``)."""
        rows = self.db.execute("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT ?", (limit,))
        return [(int(n), str(h)) for n, h in rows]

    def common_ancestor(self, chain_hashes: Callable[[Sequence[int]], Mapping[int, str | None]]) -> int | None:
        """The newest stored block the chain still has with the same hash (None: the index stores no block
        hash, so it cannot tell); ``chain_hashes`` answers the chain's hash of each block number asked
        (None for a block the chain does not have). Returns -1 when no stored block is on the chain."""
        stored = self.block_hashes()
        if not stored:
            return None
        found = chain_hashes([n for n, _ in stored])
        for number, known in stored:
            now = found.get(number)
            if now is not None and now.lower() == known:
                return number
        return -1

    def rollback(self, block: int) -> list[Record]:
        """Forget every record, block hash and finding after ``block`` (a reorganised chain no longer has
        them); the index then ends at ``block`` with the chain head of its last record. Returns the records
        removed, in chain order."""
        removed = [r for r in self.records() if r.block_number > block]
        with self.db:
            self.db.execute("DELETE FROM records WHERE block_number > ?", (block,))
            self.db.execute("DELETE FROM blocks WHERE number > ?", (block,))
            last = self.db.execute(
                "SELECT seq, head FROM records ORDER BY block_number DESC, log_index DESC LIMIT 1"
            ).fetchone()
            last_seq = int(last[0]) if last else 0
            for row_id, text in list(self.db.execute("SELECT id, finding FROM findings")):
                finding = Finding.model_validate_json(text)
                if finding.seq is not None and finding.seq > last_seq:
                    self.db.execute("DELETE FROM findings WHERE id = ?", (row_id,))
            start = self._get("start_block")
            self._set("fetched_block", str(max(block, int(start) - 1 if start is not None else -1)))
            self._set("chain_head", last[1] if last else format_head(0))
        return removed
