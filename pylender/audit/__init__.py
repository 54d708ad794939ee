"""Audit tooling: prove the ledger's event log complete and untampered, replay it, reconcile, export.

    >>> from pylender.audit import verify_ledger
    >>> result = verify_ledger(w3, ledger_address, confirmations=12, index_path="audit.sqlite")
    >>> result.ok, result.first_bad_seq, [f.describe() for f in result.findings]

Modules, one job each: ``events`` (audit events from the ABI), ``fetch`` (eth_getLogs with adaptive
ranges, retries, confirmations), ``layout`` (per-event decoders and chain pre-images compiled from the
ABI), ``records`` (records from raw logs, the hash chain rule), ``chain`` (seq and chain checks),
``replay`` (rebuild loans and accounts with :class:`pylender.reference.Books`), ``views`` (batched
view calls, compare with the contract), ``verify`` (the whole check), ``export``, ``index`` (SQLite,
incremental), ``frames`` (pandas), ``trail`` (timelines), ``report`` + ``svg`` (HTML), ``cli``
(the click group mounted as ``pylender audit``).
"""

from __future__ import annotations

from pylender.audit.events import EventCatalog
from pylender.audit.export import read_export, write_export
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.findings import Finding, VerificationResult
from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks, replay
from pylender.audit.verify import audit_ledger, verify_file, verify_ledger, verify_records
from pylender.errors import AuditError, ExportFormatError, FetchError

__all__ = [
    "AuditBooks",
    "AuditError",
    "EventCatalog",
    "ExportFormatError",
    "FetchConfig",
    "FetchError",
    "Finding",
    "LogFetcher",
    "Record",
    "VerificationResult",
    "audit_ledger",
    "read_export",
    "replay",
    "verify_file",
    "verify_ledger",
    "verify_records",
    "write_export",
]
