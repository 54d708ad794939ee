"""Follow a live ledger: verify each new audit record as its block becomes final, through reorgs.

    >>> from pylender.audit import follow_ledger
    >>> for event in follow_ledger(w3, ledger, confirmations=2, index_path="audit.sqlite"):
    ...     print(event.line())          # or event.to_json(); a Finding event ends the iteration

:class:`Follower` does the work one poll at a time (:meth:`~Follower.catch_up`, then :meth:`~Follower.poll`),
so a program or a test drives it step by step; :func:`follow_ledger` is the loop around it.

The catch-up is a whole :func:`~pylender.audit.verify.audit_ledger` (proof, replay, reconciliation with the
views) that fills the SQLite index. Each poll then:

1. checks the index's blocks are still the chain's: after a reorganisation it rolls back to the newest block
   both agree on (:meth:`AuditIndex.common_ancestor`), rebuilds the replay from what is left and reports
   the records it dropped (:class:`Reorg`);
2. reads the records of the blocks that became final (``latest − confirmations``), reading the final block's
   hash before and after so that a reorganisation during the read is not mistaken for the chain;
3. checks each record's seq and hash chain, that the chain then ends in the ledger's ``auditHead`` at that
   block (nothing missing), replays them into the books and, unless ``compare_with_views`` is off, compares
   the books with the contract's views at that block;
4. only then reports each record (:class:`Verified`; one that replaces a record a reorganisation removed
   says which). The first finding is reported (:class:`FindingEvent`) and following stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from pylender.audit.chain import ChainChecker
from pylender.audit.events import EventCatalog
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.findings import Finding, VerificationResult
from pylender.audit.index import AuditIndex
from pylender.audit.ingest import chunk_block_hashes, load_ledger_abi, reorganised
from pylender.audit.probe import checksum_address, read_head
from pylender.audit.reconcile import compare_views
from pylender.audit.records import LogDecoder, Record, format_head
from pylender.audit.replay import Replayer
from pylender.audit.rpc import Rpc
from pylender.audit.trail import describe
from pylender.audit.verify import audit_ledger
from pylender.audit.views import LedgerViews


def _record_json(record: Record) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "kind": record.kind,
        "loan_id": record.loan_id,
        "block": record.block_number,
        "tx_hash": record.tx_hash,
        "log_index": record.log_index,
        "head": format_head(record.head),
        "fields": record.fields,
    }


@dataclass(frozen=True)
class CaughtUp:
    """The trail up to ``block`` is verified (the whole audit); following starts after it."""

    result: VerificationResult

    @property
    def block(self) -> int:
        return int(self.result.final_block or 0)

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "event": "caught-up",
            "block": self.block,
            "records": r.records,
            "last_seq": r.last_seq,
            "head": r.computed_head,
            "outcome": r.outcome.value,
            "compared_views": r.compared_views,
        }

    def line(self) -> str:
        r = self.result
        views = "reconciled with the views" if r.compared_views else "views not compared"
        return (
            f"caught up: {r.records} record(s) verified through block {self.block}, last seq {r.last_seq}, "
            f"head {r.computed_head}, {views}; following new blocks (Ctrl-C stops)"
        )


@dataclass(frozen=True)
class Verified:
    """One new record, verified: chained, the chain complete up to the ledger's head at ``block``, replayed
    (and the views reconciled at ``block``). ``replaces`` is the record of the same seq a reorganisation
    removed, when it differs; ``unchanged`` says a removed record came back as it was."""

    record: Record
    block: int
    text: str
    replaces: Record | None = None
    unchanged: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "verified",
            **_record_json(self.record),
            "final_block": self.block,
            "text": self.text,
            "replaces": _record_json(self.replaces) if self.replaces is not None else None,
            "unchanged_after_reorg": self.unchanged,
        }

    def line(self) -> str:
        r = self.record
        out = f"seq {r.seq} block {r.block_number} {r.kind}: {self.text} (head {format_head(r.head)}, tx {r.tx_hash})"
        if self.replaces is not None:
            old = self.replaces
            out += f" REPLACES the reorganised seq {old.seq} {old.kind} of block {old.block_number} tx {old.tx_hash}"
        elif self.unchanged:
            out += " (unchanged by the reorganisation)"
        return out


@dataclass(frozen=True)
class Reorg:
    """The chain no longer has blocks the index had read: rolled back to ``ancestor``; ``dropped`` are the
    records of the abandoned blocks (read and verified again from the chain as it is now)."""

    ancestor: int
    old_tip: int
    dropped: tuple[Record, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "reorg",
            "ancestor": self.ancestor,
            "old_tip": self.old_tip,
            "dropped": [_record_json(r) for r in self.dropped],
        }

    def line(self) -> str:
        seqs = [r.seq for r in self.dropped]
        what = f"seq {seqs[0]}..{seqs[-1]} dropped" if seqs else "no record dropped"
        return (
            f"reorg: the chain replaced blocks after {self.ancestor} (the index had read up to {self.old_tip}); "
            f"{what}; verifying the new branch"
        )


@dataclass(frozen=True)
class FindingEvent:
    """Something does not verify; following stops here."""

    finding: Finding
    block: int

    def to_json(self) -> dict[str, Any]:
        return {"event": "finding", "block": self.block, **self.finding.model_dump()}

    def line(self) -> str:
        return f"FINDING at block {self.block}: {self.finding.describe()}"


FollowEvent = CaughtUp | Verified | Reorg | FindingEvent


@dataclass
class Follower:
    """Follows one ledger: :meth:`catch_up` once, then :meth:`poll` as often as wanted."""

    w3: Web3
    ledger: str
    abi: list[dict[str, Any]] | None = None
    confirmations: int = 0
    index_path: str | Path | None = None
    from_block: int = 0
    compare_with_views: bool = True
    positions: bool = True
    fetch_config: FetchConfig | None = None
    verified: int = 0
    """Records reported as verified since the catch-up."""
    stopped: bool = False
    """A finding was reported: the trail does not verify, nothing more is read."""
    _rpc: Rpc = field(init=False, repr=False)
    _index: AuditIndex | None = field(default=None, init=False, repr=False)
    _checker: ChainChecker = field(init=False, repr=False)
    _replayer: Replayer = field(init=False, repr=False)
    _dropped: dict[int, Record] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.ledger = checksum_address(self.ledger, "ledger address")
        self.abi = self.abi if self.abi is not None else load_ledger_abi()
        self.catalog = EventCatalog.from_abi(self.abi)
        self._rpc = Rpc(self.w3)
        self._decoder = LogDecoder(self.catalog)
        self._config = self.fetch_config or FetchConfig()
        self._config.confirmations = self.confirmations
        self._config.block_hashes = True  # the index keeps them to notice a reorganisation

    # ------------------------------------------------------------------ life cycle

    def catch_up(self) -> list[FollowEvent]:
        """Verify the whole trail up to the final block (the index filled on the way): a :class:`CaughtUp`, or
        the findings of a trail that does not verify."""
        path = self.index_path if self.index_path is not None else ":memory:"
        if path == ":memory:":  # the index lives as long as the follower: one connection, held open
            self._index = AuditIndex(path, self.ledger, self._rpc.chain_id())
        run = audit_ledger(
            self.w3,
            self.ledger,
            abi=self.abi,
            from_block=self.from_block,
            confirmations=self.confirmations,
            index_path=None if path == ":memory:" else path,
            compare_with_views=self.compare_with_views,
            positions=self.positions,
        )
        result = run.result
        final = int(result.final_block or 0)
        if self._index is None:
            self._index = AuditIndex(path, self.ledger, int(result.chain_id or 0))
        else:  # the in-memory index starts from the audit's records
            self._index.set_start_block(self.from_block)
            self._index.commit_chunk(final, run.records, self._head(run.records), [], chunk_block_hashes([]))
        tip = self._rpc.block(final)
        if tip is not None:
            self._index.remember_blocks({final: str(tip["hash"])})
        self._checker = ChainChecker(self.catalog, self._index.chain_head)
        self._replayer = Replayer()
        self._replayer.state = run.books
        self._replayer.findings = []
        if result.findings:
            self.stopped = True
            return [FindingEvent(f, final) for f in result.findings[:1]]
        return [CaughtUp(result)]

    @staticmethod
    def _head(records: Sequence[Record]) -> int:
        return records[-1].head if records else 0

    def close(self) -> None:
        self._rpc.close()
        if self._index is not None:
            self._index.close()
            self._index = None

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def index(self) -> AuditIndex:
        if self._index is None:
            raise RuntimeError("catch_up() first")
        return self._index

    # ------------------------------------------------------------------ one poll

    def _reorg(self) -> list[FollowEvent]:
        old_tip = self.index.fetched_block
        removed = reorganised(self.index, self._rpc, quiet=True)
        if self.index.fetched_block >= old_tip:
            return []
        self._dropped.update({r.seq: r for r in removed})
        records = self.index.records()
        self._checker = ChainChecker(self.catalog, self.index.chain_head)
        self._replayer = Replayer()
        self._replayer.apply_all(records)
        self._replayer.findings = []  # earlier findings were reported before
        return [Reorg(self.index.fetched_block, old_tip, tuple(removed))]

    def poll(self) -> list[FollowEvent]:
        """One round: reorg check, then every record of the blocks that became final since the last round."""
        if self.stopped:
            return []
        events: list[FollowEvent] = self._reorg()
        start = self.index.fetched_block + 1
        final = self._rpc.block_number() - self.confirmations
        if final < start:
            return events
        before = self._rpc.block(final)
        fetcher = LogFetcher(self.w3, self.ledger, self.catalog.topics, self._config)
        try:
            logs = fetcher.fetch(start, final)
        finally:
            fetcher.close()
        after = self._rpc.block(final)
        if before is None or after is None or before["hash"] != after["hash"]:
            return events  # the chain moved under the read: read again next round
        new, bodies = self._decoder.decode_all_chained(logs)
        found = self._verify(new, bodies, final)
        if found:
            self.stopped = True
            return [*events, *(FindingEvent(f, final) for f in found[:1])]
        hashes = chunk_block_hashes(logs)
        hashes[final] = str(after["hash"])
        self.index.commit_chunk(final, new, self._checker.head, [], hashes)
        for record in new:
            old = self._dropped.pop(record.seq, None)
            same = old is not None and (old.head, old.tx_hash) == (record.head, record.tx_hash)
            text = describe(record)
            events.append(Verified(record, final, text, None if same else old, same))
        self.verified += len(new)
        return events

    def _verify(self, new: list[Record], bodies: Sequence[bytes | None], final: int) -> list[Finding]:
        """Chain, completeness at ``final``, replay and (optionally) the views; the findings, first first."""
        checker = self._checker
        checker.findings = []
        checker.feed_all(new, bodies)
        checker.check_final(read_head(self._rpc, self.ledger, final), f"the ledger's auditHead at block {final}")
        if checker.findings:
            return list(checker.findings)
        replayer = self._replayer
        replayer.findings = []
        replayer.apply_all(new)
        if replayer.findings:
            return list(replayer.findings)
        if self.compare_with_views and new:
            views = LedgerViews(self.w3, self.ledger, self.abi or [], final)
            try:
                return compare_views(views, replayer.state, positions=self.positions)
            finally:
                views.close()
        return []


def follow_ledger(
    w3: Web3,
    ledger: str,
    *,
    poll_interval: float = 1.0,
    stop: threading.Event | None = None,
    follower: Follower | None = None,
    **options: Any,
) -> Iterator[FollowEvent]:
    """Catch up, then poll every ``poll_interval`` seconds until ``stop`` is set (or the caller stops
    iterating); every event in order. A :class:`FindingEvent` is the last event."""
    own = follower is None
    follower = follower or Follower(w3, ledger, **options)
    try:
        events = follower.catch_up()
        while True:
            yield from events
            if follower.stopped or (stop is not None and stop.is_set()):
                return
            if stop is not None:
                if stop.wait(poll_interval):
                    return
            else:
                time.sleep(poll_interval)
            events = follower.poll()
    finally:
        if own:
            follower.close()
