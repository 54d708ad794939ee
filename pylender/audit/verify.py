"""Verify an audit trail: seq continuity, the hash chain, the on-chain head, replay and reconciliation.

``verify_ledger`` works against a node (optionally through a local SQLite index so a second run
reads only new blocks); ``verify_records`` / ``verify_file`` check records or an export offline.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from web3 import Web3

from pylender.audit.chain import ChainChecker
from pylender.audit.events import EventCatalog
from pylender.audit.export import read_export
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.findings import Finding, VerificationResult
from pylender.audit.index import AuditIndex
from pylender.audit.prefetch import ViewPrefetch
from pylender.audit.records import LogDecoder, Record, format_head
from pylender.audit.replay import AuditBooks, Replayer, replay
from pylender.audit.views import LedgerViews, compare_views
from pylender.errors import AuditError

log = logging.getLogger(__name__)

PIPELINE_LOGS = 2_000  # logs per eth_getLogs by default: small enough that decoding starts early


def load_ledger_abi(abi_path: str | Path | None = None) -> list[dict[str, Any]]:
    """The ledger's full ABI: from ``abi_path`` (ABI list or artifact), else the shipped artifact."""
    if abi_path is not None:
        data = json.loads(Path(abi_path).read_text())
        return list(data["abi"] if isinstance(data, dict) else data)
    from pylender.artifacts import LEDGER, load

    try:
        return list(load(LEDGER).abi)
    except Exception as exc:  # ArtifactNotFound carries the fix in its message
        raise AuditError(str(exc)) from exc


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
    trusted_source: str = "trusted head",
    do_replay: bool = True,
    result: VerificationResult | None = None,
) -> tuple[VerificationResult, AuditBooks | None]:
    """Check ``records`` offline (in the given order): seq, chain, an optional trusted head, replay."""
    result = result or VerificationResult()
    checker = ChainChecker(catalog)
    checker.feed_all(records)
    if trusted_head is not None:
        checker.check_final(trusted_head, trusted_source)
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
    block: int | str = "latest",
) -> VerificationResult:
    """Verify an export offline; with ``w3`` (and the ledger address) also against the on-chain head."""
    exp = read_export(path)
    fallback = EventCatalog.from_abi(load_ledger_abi(abi_path)) if abi_path is not None else None
    catalog = fallback if fallback is not None else exp.catalog()
    result = VerificationResult(ledger=ledger or exp.ledger, chain_id=exp.chain_id)
    trusted, source = expected_head, "expected head"
    if w3 is not None:
        address = ledger or exp.ledger
        if address is None:
            raise AuditError("the export names no ledger: pass the ledger address to check it against the chain")
        views = LedgerViews(w3, address, load_ledger_abi(abi_path), block)
        try:
            trusted, source = views.audit_head(), "ledger"
        finally:
            views.close()
        result.onchain_head = format_head(trusted)
    verify_records(exp.records, catalog, trusted_head=trusted, trusted_source=source, result=result)
    return result


def fetch_records(
    w3: Web3,
    address: str,
    catalog: EventCatalog,
    final: int,
    index: AuditIndex | None,
    from_block: int,
    config: FetchConfig,
    progress: bool,
    on_records: Callable[[Sequence[Record]], None] | None = None,
) -> tuple[list[Record], ChainChecker, list[Finding]]:
    """Fetch and chain-check the records up to ``final``, committing each chunk to ``index``.

    ``on_records`` is handed the records already in the index, then each chunk's, in order, while the
    next chunk is fetched."""
    decoder = LogDecoder(catalog)
    fetcher = LogFetcher(w3, address, catalog.topics, config, progress=progress)
    if index is not None:
        index.set_start_block(from_block)
        start, checker, old = index.fetched_block + 1, ChainChecker(catalog, index.chain_head), index.findings()
        records = index.records()
    else:
        start, checker, old, records = from_block, ChainChecker(catalog), [], []
    if on_records is not None and records:
        on_records(records)
    try:
        # the next range is fetched in a thread while this one is decoded, chained and committed
        for chunk in fetcher.iter_chunks_ahead(start, final):
            new, bodies = decoder.decode_all_chained(chunk.logs)
            before = len(checker.findings)
            checker.feed_all(new, bodies)
            if index is not None:
                index.commit_chunk(chunk.end, new, checker.head, checker.findings[before:])
            records.extend(new)
            if on_records is not None:
                on_records(new)
    finally:
        fetcher.close()
    log.info(
        "fetched through block %d: %d records (%d requests, %d refusals)",
        final,
        len(records),
        fetcher.requests,
        fetcher.refusals,
    )
    return records, checker, old


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
) -> LedgerAudit:
    """:func:`verify_ledger`, also returning the records, the replayed books and the views used."""
    abi = abi if abi is not None else load_ledger_abi()
    catalog = EventCatalog.from_abi(abi)
    address = Web3.to_checksum_address(ledger_address)
    config = fetch_config or FetchConfig(target_logs=PIPELINE_LOGS)
    config.confirmations = confirmations
    chain_id = int(w3.eth.chain_id)
    probe = LogFetcher(w3, address, catalog.topics, config)
    try:
        final = probe.final_block()
    finally:
        probe.close()
    result = VerificationResult(ledger=address, chain_id=chain_id, final_block=final)
    if final < 0:
        raise AuditError(f"no block is final yet with {confirmations} confirmations")
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
        checker.check_final(onchain, "ledger")
        result.onchain_head = format_head(onchain)
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
) -> VerificationResult:
    """Prove the ledger's audit log complete and untampered, replay it, and reconcile with the contract.

    Everything is read at block ``latest − confirmations``: logs, the audit head, views and balances.
    With ``index_path`` the records are kept in a SQLite index and a later call reads only new blocks.
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
    ).result
