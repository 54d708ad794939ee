"""Verify an audit trail: seq continuity, the hash chain, the on-chain head, replay and reconciliation.

``verify_ledger`` works against a node (optionally through a local SQLite index so a second run
reads only new blocks); ``verify_records`` / ``verify_file`` check records or an export offline.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from web3 import Web3

from pylender.audit.chain import ChainChecker
from pylender.audit.events import EventCatalog
from pylender.audit.export import read_export
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.findings import Finding, VerificationResult
from pylender.audit.index import AuditIndex
from pylender.audit.ingest import PIPELINE_LOGS, fetch_records, load_ledger_abi
from pylender.audit.prefetch import ViewPrefetch
from pylender.audit.probe import checksum_address, require_ledger
from pylender.audit.provenance import Method, prove_prefix
from pylender.audit.reconcile import compare_views
from pylender.audit.records import Record, format_head, seq_of
from pylender.audit.replay import AuditBooks, Replayer, replay
from pylender.audit.rpc import Rpc
from pylender.audit.views import LedgerViews
from pylender.errors import NothingFinal

log = logging.getLogger(__name__)


def _summary(books: AuditBooks, expected: int, conserved: int) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for loan in books.loans.values():
        statuses[loan.status.name] = statuses.get(loan.status.name, 0) + 1
    accounts = books.accounts.values()
    return {
        "loans": len(books.loans),
        "loan_status": statuses,
        "institutions": len(books.accounts),
        "expected_token_balance": expected,
        "conserved_balance": conserved,
        "withdrawable": sum(a.withdrawable for a in accounts),
        "reserve": sum(a.reserve for a in accounts),
        "loss": sum(a.loss for a in accounts),
    }


def _replay_into(result: VerificationResult, records: Sequence[Record]) -> AuditBooks:
    books, findings = replay(sorted(records, key=lambda r: r.seq))
    return _record_replay(result, books, findings)


def _record_replay(result: VerificationResult, books: AuditBooks, findings: Sequence[Finding]) -> AuditBooks:
    result.findings.extend(findings)
    expected = books.expected_balance
    conserved = books.conserved_balance
    if expected != conserved:
        result.findings.append(
            Finding(
                check="balance",
                subject="replay",
                field="conservation",
                expected=str(expected),
                found=str(conserved),
                detail="token flows in the records ≠ Σ withdrawable + reserve + pooled + leftovers",
            )
        )
    result.replayed = True
    result.loans_checked = len(books.loans)
    result.institutions_checked = len(books.accounts)
    result.summary = _summary(books, expected, conserved)
    return books


class StreamReplay:
    """Replays records as the fetch delivers them, while the node serves the next range.

    The replay must see the records in seq order. As long as every record arrives with the seq after the
    previous one (an untampered log always does), arrival order is that order and the records are applied at
    once; after the first record that breaks the run (removed, swapped, forged), nothing more is applied and
    :meth:`finish` replays all of them sorted, as :func:`replay` would.
    """

    def __init__(self) -> None:
        self._replayer = Replayer()
        self._last: int | None = None
        self.in_order = True

    def feed(self, records: Sequence[Record]) -> None:
        if not self.in_order:
            return
        last = self._last
        for record in records:
            if last is not None and record.seq != last + 1:
                self.in_order = False
                return
            last = record.seq
        self._last = last
        self._replayer.apply_all(records)

    def finish(self, result: VerificationResult, records: Sequence[Record]) -> AuditBooks:
        if not self.in_order:
            return _replay_into(result, records)
        return _record_replay(result, self._replayer.state, self._replayer.findings)


def verify_records(
    records: Sequence[Record],
    catalog: EventCatalog,
    *,
    trusted_head: int | None = None,
    trusted_source: str = "the trusted head",
    do_replay: bool = True,
    result: VerificationResult | None = None,
) -> tuple[VerificationResult, AuditBooks | None]:
    """Check ``records`` offline (in the given order): seq, chain, an optional trusted head, replay."""
    result = result or VerificationResult()
    checker = ChainChecker(catalog)
    checker.feed_all(records)
    if trusted_head is not None:
        checker.check_final(trusted_head, trusted_source)
        result.proven_complete = True
        result.trusted_head, result.trusted_source = format_head(trusted_head), trusted_source
    result.findings.extend(checker.findings)
    result.records, result.last_seq, result.computed_head = len(records), checker.seq, format_head(checker.head)
    books = _replay_into(result, records) if do_replay else None
    return result, books


def verify_file(
    path: str | Path,
    *,
    abi_path: str | Path | None = None,
    w3: Web3 | None = None,
    ledger: str | None = None,
    expected_head: int | None = None,
    confirmations: int = 0,
    method: Method = "auto",
    fetch_config: FetchConfig | None = None,
) -> VerificationResult:
    """Verify an export: its seq, hash chain and replay offline; with ``expected_head`` against a head the
    auditor trusts; with ``w3`` (a node) that it is the chain's trail as of its final block
    (:func:`pylender.audit.provenance.prove_prefix`; the ledger comes from the export's header unless
    ``ledger`` is given). Without either the result is at best "not proven complete"."""
    exp = read_export(path)
    fallback = EventCatalog.from_abi(load_ledger_abi(abi_path)) if abi_path is not None else None
    catalog = fallback if fallback is not None else exp.catalog()
    header = exp.header
    result = VerificationResult(
        source="export",
        ledger=ledger or exp.ledger,
        chain_id=exp.chain_id,
        first_block=header.first_block if header else None,
        final_block=header.final_block if header else None,
    )
    result.notes.extend(exp.header_notes())
    if header is None:
        result.notes.append("the file carries no header: it names neither its ledger, its chain nor its final block")
    checker = ChainChecker(catalog)
    checker.feed_all(exp.records)
    if expected_head is not None:
        source = "the --expected-head"
        checker.check_final(expected_head, source)
        result.trusted_head, result.trusted_source, result.proven_complete = format_head(expected_head), source, True
    if w3 is not None:
        prove_prefix(
            w3,
            exp,
            checker,
            result,
            ledger=ledger,
            confirmations=confirmations,
            method=method,
            fetch_config=fetch_config,
        )
    result.findings.extend(checker.findings)
    result.records, result.last_seq, result.computed_head = len(exp.records), checker.seq, format_head(checker.head)
    _replay_into(result, exp.records)
    return result


def _without_gc(fn: Any) -> Any:
    """Run ``fn`` with the cyclic garbage collector paused: the audit allocates 100k+ acyclic
    records and journal entries, and the collector's repeated passes over them took about a third
    of decode + chain + replay on 100k records (nothing here makes reference cycles)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return run


def checkpoint_findings(records: Sequence[Record], expected_head: int) -> list[Finding]:
    """A head noted earlier (``--expected-head`` against a live ledger) must be the head of the chain's record
    of that seq: the trail up to it was not rewritten since."""
    seq = seq_of(expected_head)
    found = next((r for r in records if r.seq == seq), None)
    if found is None:
        last = max((r.seq for r in records), default=0)
        return [
            Finding(
                check="head",
                seq=seq,
                subject="the --expected-head",
                field="seq",
                expected=str(seq),
                found=str(last),
                detail=f"the --expected-head is seq {seq}; the chain's trail ends at seq {last}",
            )
        ]
    if found.head != expected_head:
        return [
            Finding(
                check="head",
                seq=seq,
                subject="the --expected-head",
                field="head",
                expected=format_head(expected_head),
                found=format_head(found.head),
                detail=f"the chain's record {seq} does not carry the --expected-head (rewritten, or another ledger)",
            )
        ]
    return []


class LedgerAudit(NamedTuple):
    """Everything one audit of a live ledger produced."""

    result: VerificationResult
    records: list[Record]
    books: AuditBooks
    views: LedgerViews


@_without_gc
def audit_ledger(
    w3: Web3,
    ledger_address: str,
    *,
    abi: list[dict[str, Any]] | None = None,
    from_block: int = 0,
    confirmations: int = 0,
    index_path: str | Path | None = None,
    fetch_config: FetchConfig | None = None,
    progress: bool = False,
    compare_with_views: bool = True,
    positions: bool = True,
    expected_head: int | None = None,
) -> LedgerAudit:
    """:func:`verify_ledger`, also returning the records, the replayed books and the views used."""
    abi = abi if abi is not None else load_ledger_abi()
    catalog = EventCatalog.from_abi(abi)
    address = checksum_address(ledger_address, "ledger address")
    config = fetch_config or FetchConfig(target_logs=PIPELINE_LOGS)
    config.confirmations = confirmations
    rpc = Rpc(w3)
    try:
        chain_id = rpc.chain_id()
        require_ledger(rpc, address, chain_id)
    finally:
        rpc.close()
    probe = LogFetcher(w3, address, catalog.topics, config)
    try:
        final = probe.final_block()
    finally:
        probe.close()
    result = VerificationResult(ledger=address, chain_id=chain_id, final_block=final)
    if final < 0:
        raise NothingFinal(f"no block is final yet with {confirmations} confirmations")
    index = AuditIndex(index_path, address, chain_id) if index_path is not None else None
    if index is not None and index.fetched_block > final:
        final = index.fetched_block  # already accepted as final by an earlier run (with fewer confirmations)
        result.final_block = final
    views = LedgerViews(w3, address, abi, final)
    # The node answers the view calls (a few snapshot and lens calls, see pylender.audit.prefetch) while the
    # logs are fetched, decoded and replayed here: the ledger's own lists from the start (every loan with its
    # positions, through auditSnapshot), the roles the records name as each range of them arrives. An older
    # ledger, without auditSnapshot, has its positions read as the records name them.
    prefetch = ViewPrefetch(views, positions=positions and not views.has_snapshot()) if compare_with_views else None
    stream = StreamReplay()

    def on_records(records: Sequence[Record]) -> None:
        stream.feed(records)
        if prefetch is not None:
            prefetch.feed(records)

    try:
        try:
            records, checker, old = fetch_records(
                w3, address, catalog, final, index, from_block, config, progress, on_records
            )
        finally:
            if index is not None:
                index.close()
        onchain = prefetch.head() if prefetch is not None else views.audit_head()
        trusted_source = f"the ledger's auditHead at block {final}"
        checker.check_final(onchain, trusted_source)
        result.onchain_head = result.trusted_head = format_head(onchain)
        result.trusted_source, result.proven_complete = trusted_source, True
        result.first_block = from_block
        if expected_head is not None:
            result.findings.extend(checkpoint_findings(records, expected_head))
        result.findings.extend(old + checker.findings)
        result.records, result.last_seq, result.computed_head = len(records), checker.seq, format_head(checker.head)
        books = stream.finish(result, records)
        if prefetch is None:
            views.close()
            return LedgerAudit(result, records, books, views)
        cache = prefetch.cache()
    finally:
        if prefetch is not None:
            prefetch.close()
    try:
        result.findings.extend(compare_views(views, books, positions=positions, cache=cache))
    finally:
        views.close()
    result.compared_views = True
    return LedgerAudit(result, records, books, views)


def verify_ledger(
    w3: Web3,
    ledger_address: str,
    *,
    abi: list[dict[str, Any]] | None = None,
    from_block: int = 0,
    confirmations: int = 0,
    index_path: str | Path | None = None,
    fetch_config: FetchConfig | None = None,
    progress: bool = False,
    compare_with_views: bool = True,
    positions: bool = True,
    expected_head: int | None = None,
) -> VerificationResult:
    """Prove the ledger's audit log complete and untampered, replay it, and reconcile with the contract.

    Everything is read at block ``latest − confirmations``: logs, the audit head, views and balances.
    With ``index_path`` the records are kept in a SQLite index and a later call reads only new blocks.
    ``expected_head`` is a head the auditor noted earlier: the chain's record of that seq must carry it.
    """
    return audit_ledger(
        w3,
        ledger_address,
        abi=abi,
        from_block=from_block,
        confirmations=confirmations,
        index_path=index_path,
        fetch_config=fetch_config,
        progress=progress,
        compare_with_views=compare_with_views,
        positions=positions,
        expected_head=expected_head,
    ).result
