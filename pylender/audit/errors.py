"""Errors of the audit tools (all derive from :class:`pylender.errors.PylenderError`)."""

from __future__ import annotations

from pylender.errors import PylenderError


class AuditError(PylenderError, RuntimeError):
    """The audit could not be carried out (missing ABI, unreadable export, RPC failure)."""


class FetchError(AuditError, ConnectionError):
    """Logs could not be fetched from the node even after shrinking the range and retrying."""


class ExportFormatError(AuditError, ValueError):
    """An export file or format is invalid or unsupported (e.g. parquet without pyarrow)."""


class HttpStatusError(AuditError, OSError):
    """The node answered with an HTTP status other than 200 (``status_code``, as requests names it)."""

    def __init__(self, status_code: int, body: bytes) -> None:
        super().__init__(f"HTTP {status_code}: {body[:200]!r}")
        self.status_code = status_code


class InvalidHead(AuditError, ValueError):
    """A head given by the auditor (``--expected-head``) is not a ledger head: 32 bytes of hex, the top byte
    zero (a head is 248 bits), a seq (the low 56 bits) of at least 1."""


class InvalidAddress(AuditError, ValueError):
    """Text given as an address is not one (``0x`` and 40 hex digits, with a valid checksum if mixed case)."""


class NotALedger(AuditError, ValueError):
    """The address holds no pylender ledger on the node's chain (an account, a token, another contract)."""


class ExportMismatch(AuditError, ValueError):
    """An export and the chain it is checked against disagree on what they are (ledger, chain id, blocks)."""


class InvalidPath(AuditError, ValueError):
    """A file the command must read is missing, or one it must write cannot be written there."""


class InvalidAbi(AuditError, ValueError):
    """``--abi`` is not an ABI: a JSON list of ABI entries, or an artifact object with an ``abi`` key."""


class NoSource(AuditError, ValueError):
    """Nothing says where the records are: no export file, no node, or no ledger."""


class NothingFinal(AuditError, ValueError):
    """No block is final yet with the confirmations asked for."""


class IndexUnusable(AuditError, ValueError):
    """The SQLite index cannot be opened or written where ``--index`` points, or belongs to another ledger."""
