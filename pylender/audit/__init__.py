"""Audit tooling: prove the ledger's event log complete and untampered, replay it, reconcile, export.

    >>> from pylender.audit import verify_ledger
    >>> result = verify_ledger(w3, ledger_address, confirmations=12, index_path="audit.sqlite")
    >>> result.ok, result.outcome, result.first_bad_seq, [f.describe() for f in result.findings]
    >>> for event in follow_ledger(w3, ledger_address, confirmations=2):  # a live ledger, record by record
    ...     print(event.line())

Modules, one job each: ``events`` (audit events from the ABI), ``rpc`` (JSON-RPC with retries, backoff and
a bound), ``fetch`` (eth_getLogs with adaptive ranges, retries, confirmations), ``layout`` (per-event
decoders and chain pre-images compiled from the ABI), ``records`` (records from raw logs, the hash chain
rule), ``chain`` (seq and chain checks), ``ingest`` (a ledger's records read from a node range by range,
chain-checked, into the index), ``replay`` (rebuild loans and accounts with
:class:`pylender.reference.Books`), ``views`` (reading the contract's views in batches), ``reconcile``
(comparing them with the replay), ``verify`` (the whole check), ``verdict`` (what it proved, in words),
``probe`` (is this a ledger?), ``export`` (self-describing files), ``provenance`` (an export against the
chain as of its final block), ``index`` (SQLite, incremental, reorg-aware), ``follow`` (a live ledger,
record by record), ``frames`` (pandas), ``trail`` (timelines), ``portfolio`` (the figures a supervisor
reads), ``breaches`` (policy), ``charts`` (matplotlib), ``report`` with ``report_facts`` and
``report_sections`` (HTML), ``cli`` (the click group mounted as ``pylender audit``). Their errors are in
:mod:`pylender.errors`, under ``AuditError``.
"""

from __future__ import annotations

from pylender.audit.events import EventCatalog
from pylender.audit.export import read_export, write_export
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.findings import Finding, Outcome, VerificationResult
from pylender.audit.follow import CaughtUp, FindingEvent, Follower, FollowEvent, Reorg, Verified, follow_ledger
from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks, replay
from pylender.audit.verify import audit_ledger, verify_file, verify_ledger, verify_records
from pylender.errors import AuditError, ExportFormatError, FetchError

__all__ = [
    "AuditBooks",
    "AuditError",
    "CaughtUp",
    "EventCatalog",
    "ExportFormatError",
    "FetchConfig",
    "FetchError",
    "Finding",
    "FindingEvent",
    "FollowEvent",
    "Follower",
    "LogFetcher",
    "Outcome",
    "Record",
    "Reorg",
    "VerificationResult",
    "Verified",
    "audit_ledger",
    "follow_ledger",
    "read_export",
    "replay",
    "verify_file",
    "verify_ledger",
    "verify_records",
    "write_export",
]
