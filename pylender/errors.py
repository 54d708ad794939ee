"""Every error pylender raises, in one hierarchy. Each class also inherits the builtin it resembles, so
``except ValueError`` still catches bad input::

    PylenderError
    ├── ToolchainError (RuntimeError)           anvil or a compiler missing or broken
    │   └── ArtifactNotFound                    a shipped contract artifact is missing
    ├── MissingExtra (ImportError)              an optional dependency is not installed (names the extra)
    ├── NodeUnreachable (ConnectionError)       no JSON-RPC node answers at a URL
    ├── WrongChainId (ValueError)               the node's chain id is not the expected one
    ├── NotADevChain (ValueError)               dev accounts or time travel asked of a chain that is not a local one
    ├── ChainNotKept (ValueError)               a deployment asked of a chain that ends with the command
    ├── InvalidAmount (ValueError)              an amount that is negative, not a number, or finer than the token
    ├── SignerError (LookupError)               no usable signing key
    ├── DeploymentNotFound (FileNotFoundError)  no deployment file where the client looked
    ├── NotALedger (ValueError)                 no pylender ledger at an address (a deployment's, or --ledger)
    ├── NotAPool (ValueError)                   no loan pool at an address (``audit pool POOL``)
    ├── ScenarioError (ValueError)              a scenario file is malformed (with its line)
    ├── TransactionFailed (RuntimeError)        a transaction failed without a decodable reason
    ├── UnknownLoan (LookupError)               the ledger has no such loan
    ├── JournalError (RuntimeError)             a bulk-send journal cannot finish its run
    │   └── JournalMismatch (ValueError)        ... because it was written for other calls
    ├── MathOverflow (OverflowError)            schedule arithmetic beyond uint256 (Solidity: Panic 0x11)
    ├── BooksError (ValueError)                 an event sequence the reference books cannot apply
    ├── ConservationBroken (AssertionError)     the ledger holds other than what it owes
    ├── AuditError (RuntimeError)               the audit could not be carried out
    │   ├── FetchError (ConnectionError)        logs could not be fetched, even after retries
    │   │   └── RpcExhausted                    a request failed in transit on every allowed attempt
    │   ├── RpcError                            the node answered a request with a JSON-RPC error
    │   ├── ExportFormatError (ValueError)      an export file or format is invalid
    │   ├── HttpStatusError (OSError)           the node answered an HTTP error status
    │   ├── InvalidHead (ValueError)            --expected-head is not a ledger head
    │   ├── InvalidAddress (ValueError)         text given as an address is not one
    │   │   └── InstitutionNotInTrail           no institution in the trail answers to what was typed
    │   ├── InvalidRpcUrl (ValueError)          --rpc is not an http(s) URL
    │   ├── ExportMismatch (ValueError)         an export and the chain disagree on what they are
    │   ├── InvalidPath (ValueError)            a file to read is missing, or one to write is not writable
    │   ├── InvalidAbi (ValueError)             --abi is not an ABI
    │   ├── InvalidZone (ValueError)            --timezone names no timezone
    │   ├── NoSource (ValueError)               nothing says where the records are
    │   ├── NothingFinal (ValueError)           no block is final yet with the confirmations asked for
    │   ├── IndexUnusable (ValueError)          the SQLite index cannot be used where --index points
    │   ├── LoanNotInTrail (ValueError)         the trail holds no record of the loan asked for
    │   ├── InvalidPeriod (ValueError)          a statement's --from/--to are not dates, or --from is after --to
    │   ├── BooksFormatError (ValueError)       an institution's books file is malformed (names the line)
    │   └── CutoffNotFound (LookupError)        the node cannot say which block ends a day (no such blocks)
    └── ContractError                           a contract custom error: the ledger reverted, or would
        ├── PolicyViolation (ValueError)        RateAboveCap, ShareBelowMinimum, ExposureAboveCap, ...
        ├── InvalidRequest (ValueError)         ZeroAmount, SharesNotWhole, Overpayment, ...
        ├── LoanStateError (RuntimeError)       LoanNotInStatus, DeadlinePassed, EnforcedPause, ...
        ├── AccessDenied (PermissionError)      AccessControlUnauthorizedAccount, NotATrancheLender, ...
        ├── InsufficientFunds (ValueError)      ERC20InsufficientBalance, UnexpectedTransferAmount, ...
        ├── ContractPanic (ArithmeticError)     Panic(code)
        └── ContractRevert (RuntimeError)       Error(message), and data no ABI describes

The contract errors are one class family built from the ABIs: each ``error`` entry of the shipped artifacts
(``pylender/artifacts``) is a class named like it, with the ABI's argument names as its fields, placed under a
category by its name (:data:`CATEGORY_RULES`). The client decodes a revert into that class
(:class:`ErrorDecoder`) and the reference model raises the very same class for a call the contract would reject,
so one ``except ShareBelowMinimum`` catches both "would revert" and "did revert"::

    PolicyViolation: ShareBelowMinimum(loanId=1, platformShareBps=2000, minBps=3000)

A class is made once from its ABI entry and never changed. Adding or renaming an error in the contracts needs no
edit here: ``from pylender.errors import NewName`` works once the artifacts are rebuilt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, ClassVar, cast

from eth_utils import abi_to_signature, collapse_if_tuple, keccak, to_checksum_address

from pylender.values import LoanStatus, role_name


class PylenderError(Exception):
    """Root of all pylender errors."""


class ToolchainError(PylenderError, RuntimeError):
    """The compiler or the local chain binaries are missing or broken."""


class ArtifactNotFound(ToolchainError):
    """A compiled contract artifact (ABI + bytecode) is missing from ``pylender/artifacts``."""


class MissingExtra(PylenderError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install`` that adds it."""

    def __init__(self, module: str, extra: str, purpose: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"MissingExtra: {purpose} needs {module}, which is not installed: pip install 'pylender[{extra}]'"
        )


class NodeUnreachable(PylenderError, ConnectionError):
    """No JSON-RPC node answers at the given URL."""

    def __init__(self, url: str, reason: str = "") -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"NodeUnreachable: no JSON-RPC node answers at {url}" + (f" ({reason})" if reason else ""))


class WrongChainId(PylenderError, ValueError):
    """The node's chain id differs from the one the caller expects."""

    def __init__(self, expected: int, actual: int, url: str = "") -> None:
        self.expected = expected
        self.actual = actual
        self.url = url
        where = f" at {url}" if url else ""
        super().__init__(f"WrongChainId: expected chain id {expected}, the node{where} reports {actual}")


class NotADevChain(PylenderError, ValueError):
    """A dev account index, anvil's public dev keys or a move of the chain's clock, asked of a chain that pylender
    does not recognise as a local dev chain (chain id 31337 and a node that says it is anvil or hardhat, or the
    embedded anvil); or a dev account index the chain does not have."""


class ChainNotKept(PylenderError, ValueError):
    """A deployment (or time travel) asked of the embedded chain, which ends with the command: nothing would remain."""


class InvalidAmount(PylenderError, ValueError):
    """An amount that is not a number, is negative, or has more decimals than the token: never floored or clamped."""


class SignerError(PylenderError, LookupError):
    """No usable signing key (missing env variable, bad keystore password, ...)."""


class DeploymentNotFound(PylenderError, FileNotFoundError):
    """No deployment file (ledger and token addresses) where the client looked."""


class NotALedger(PylenderError, ValueError):
    """The address holds no pylender ledger on the node's chain (an account, a token, another contract): one error
    whether a deployment file names the address (the client) or an auditor does (``--ledger``)."""


class NotAPool(PylenderError, ValueError):
    """The address holds no loan pool on the node's chain (an account, a token, another contract)."""


class ScenarioError(PylenderError, ValueError):
    """A scenario file is malformed; the message carries the file and line."""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, loc: tuple[object, ...] = ()
    ) -> None:
        self.path = path
        self.line = line
        self.loc = loc  # where in the document, when the line is not known yet
        self.detail = message
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(f"{where}{message}")


class TransactionFailed(PylenderError, RuntimeError):
    """A transaction reverted without data the ABI can decode, or could not be sent."""


class UnknownLoan(PylenderError, LookupError):
    """The ledger has no loan with this id."""

    def __init__(self, loan_id: int) -> None:
        self.loan_id = loan_id
        super().__init__(f"UnknownLoan: the ledger has no loan {loan_id}")


class JournalError(PylenderError, RuntimeError):
    """A bulk-send journal cannot be used to finish its run (corrupt, or its transactions cannot land)."""


class JournalMismatch(JournalError, ValueError):
    """The journal was written for other calls (or another account / chain): it is never reused silently."""


class MathOverflow(PylenderError, OverflowError):
    """A uint256 result would not fit: the Solidity library panics with 0x11 here."""


class BooksError(PylenderError, ValueError):
    """An event sequence the books cannot apply (unknown loan, double funding, overdraft): a broken log."""


class ConservationBroken(PylenderError, AssertionError):
    """The ledger's token balance differs from what the books say it holds."""


class AuditError(PylenderError, RuntimeError):
    """The audit could not be carried out (missing ABI, unreadable export, RPC failure)."""


class FetchError(AuditError, ConnectionError):
    """Logs could not be fetched from the node even after shrinking the range and retrying."""


class RpcExhausted(FetchError):
    """A request failed in transit on every attempt the retry policy allows (:mod:`pylender.audit.rpc`)."""

    def __init__(self, what: str, attempts: int, seconds: float, last: BaseException | str) -> None:
        reason = last if isinstance(last, str) else f"{type(last).__name__}: {last}"
        super().__init__(f"{what}: no answer after {attempts} attempts over {seconds:.1f} s (last: {reason})")
        self.attempts = attempts


class RpcError(AuditError):
    """The node answered a request with a JSON-RPC error (``code``, ``message``, ``data`` as it sent them)."""

    def __init__(self, method: str, error: Any) -> None:
        self.error = error
        self.code = error.get("code") if isinstance(error, Mapping) else None
        self.message = str(error.get("message", "")) if isinstance(error, Mapping) else str(error)
        super().__init__(
            f"{method} failed: {self.code}: {self.message}" if self.code is not None else f"{method}: {error}"
        )


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


class InstitutionNotInTrail(InvalidAddress):
    """No institution in the audit trail answers to what was typed (an index, a name or an address)."""


class InvalidRpcUrl(AuditError, ValueError):
    """``--rpc`` is not an http(s) URL."""


class ExportMismatch(AuditError, ValueError):
    """An export and the chain it is checked against disagree on what they are (ledger, chain id, blocks)."""


class InvalidPath(AuditError, ValueError):
    """A file the command must read is missing, or one it must write cannot be written there."""


class InvalidAbi(AuditError, ValueError):
    """``--abi`` is not an ABI: a JSON list of ABI entries, or an artifact object with an ``abi`` key."""


class InvalidZone(AuditError, ValueError):
    """``--timezone`` names no timezone."""


class NoSource(AuditError, ValueError):
    """Nothing says where the records are: no export file, no node, or no ledger."""


class NothingFinal(AuditError, ValueError):
    """No block is final yet with the confirmations asked for."""


class IndexUnusable(AuditError, ValueError):
    """The SQLite index cannot be opened or written where ``--index`` points, or belongs to another ledger."""


class LoanNotInTrail(AuditError, ValueError):
    """The audit trail holds no record of the loan asked for (the client's :class:`UnknownLoan` asks the ledger)."""


class InvalidPeriod(AuditError, ValueError):
    """A statement's period is not one: ``--from``/``--to`` are not ISO dates (``2026-03-31``), or ``--from`` is
    after ``--to``."""


class BooksFormatError(AuditError, ValueError):
    """An institution's own books file (``reconcile --books``) is malformed: the header, a component, a date or an
    amount; the message names the file and the line."""

    def __init__(self, detail: str, path: str | None = None, line: int | None = None) -> None:
        self.detail = detail
        self.path = path
        self.line = line
        where = ":".join(str(p) for p in (path, line) if p is not None)
        super().__init__(f"{where}: {detail}" if where else detail)


class CutoffNotFound(AuditError, LookupError):
    """The node cannot say which block ends a day: it lacks a block (or its timestamp) the search needs."""


# ---------------------------------------------------------------------------------------------------------------
# Contract custom errors
# ---------------------------------------------------------------------------------------------------------------


class ContractError(PylenderError):
    """A contract custom error with its arguments, named as in the ABI (``exc.loanId``, ``exc.fields``).

    Raised by the client for a revert it decoded, and by the reference model (and the client's own checks before
    sending) with the arguments the contract would give, positionally or by name.
    """

    error_name: ClassVar[str] = "ContractError"
    category: ClassVar[str] = "ContractError"
    signature: ClassVar[str] = ""
    """``Name(type,...)``, as the selector hashes it (empty where no ABI entry describes the error)."""
    field_names: ClassVar[tuple[str, ...] | None] = None
    """The ABI's argument names in order; None where no ABI entry describes the error (any fields then)."""

    def __init__(self, *args: Any, **fields: Any) -> None:
        names = self.field_names
        if names is None:
            values = {f"arg{i}": value for i, value in enumerate(args)}
        else:
            if len(args) > len(names):
                raise TypeError(f"{self.error_name} takes {len(names)} arguments {names}, got {len(args)}")
            values = dict(zip(names, args, strict=False))
            clash = values.keys() & fields.keys()
            unknown = fields.keys() - set(names)
            if clash or unknown:
                raise TypeError(f"{self.error_name} takes {names}, got {sorted(clash | unknown)} by name")
        values.update(fields)
        if names is not None and len(values) != len(names):
            raise TypeError(f"{self.error_name} takes {names}, missing {[n for n in names if n not in values]}")
        self.fields: dict[str, Any] = {n: values[n] for n in names} if names is not None else values
        super().__init__(*self.fields.values())

    @property
    def error_args(self) -> tuple[Any, ...]:
        """The arguments in the ABI's order."""
        return tuple(self.fields.values())

    def _message(self) -> str:
        inner = ", ".join(f"{k}={_fmt(k, v)}" for k, v in self.fields.items())
        return f"{self.category}: {self.error_name}({inner})"

    def __str__(self) -> str:
        return self._message()

    def __getattr__(self, name: str) -> Any:
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(f"{type(self).__name__} has no field {name!r} (it has {tuple(fields)})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.error_name, self.signature, self.fields))


def _rebuild(name: str, signature: str, fields: dict[str, Any]) -> ContractError:
    cls = _BY_SIGNATURE.get(signature) if signature else None
    return (cls or error_class(name))(**fields)


def _fmt(key: str, value: Any) -> str:
    if key == "status" and isinstance(value, int) and value in LoanStatus._value2member_map_:
        return f"{int(value)} ({LoanStatus(value).name})"
    if isinstance(value, bytes):
        if "role" in key.lower() and len(value) == 32:
            return role_name(value)
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt("", v) for v in value) + "]"
    return str(value)


class PolicyViolation(ContractError, ValueError):
    """The request breaches the lending policy (rate cap, size cap, minimum platform share, ...)."""

    category = "PolicyViolation"


class InvalidRequest(ContractError, ValueError):
    """The request is malformed (zero amount, shares not whole, unknown institution, ...)."""

    category = "InvalidRequest"


class LoanStateError(ContractError, RuntimeError):
    """The loan (or the ledger) is not in a state that allows this action."""

    category = "LoanStateError"


class AccessDenied(ContractError, PermissionError):
    """The caller lacks the role (or is not the party) this action needs."""

    category = "AccessDenied"


class InsufficientFunds(ContractError, ValueError):
    """A token transfer failed: balance or allowance too small, or a token that delivers less than it was sent."""

    category = "InsufficientFunds"


class ContractPanic(ContractError, ArithmeticError):
    """A Solidity panic (assert, overflow, division by zero, ...); ``reason`` says which."""

    category = "ContractPanic"

    @property
    def reason(self) -> str:
        return PANIC_CODES.get(int(self.fields.get("code", -1)), "unknown panic")

    def _message(self) -> str:
        return f"{self.category}: {self.error_name}(code={hex(int(self.fields['code']))}, reason={self.reason})"


class ContractRevert(ContractError, RuntimeError):
    """A revert with a reason string, or data that no ABI describes."""

    category = "ContractRevert"


PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}

CATEGORY_RULES: tuple[tuple[type[ContractError], str], ...] = (
    (ContractPanic, r"^Panic$"),
    (ContractRevert, r"^Error$"),
    (AccessDenied, r"^AccessControl|Unauthorized|NotAllowed|^NotSelf|^NotAn?[A-Z]|^NotOffer|^Only[A-Z]"),
    (InsufficientFunds, r"^(Safe)?ERC20|Insufficient|Transfer"),
    (PolicyViolation, r"AboveCap$|BelowMinimum$"),
    (
        LoanStateError,
        r"Status|Pause|^Already|Deadline|Reentran|Overdue|LeavesNo|^LoanNot|^LoanIs|^Offer(NotOpen|Expired)$",
    ),
)
"""The category of a contract error, by its name: the first rule whose pattern the name matches; an error no rule
matches is an :class:`InvalidRequest` (the caller asked for something malformed)."""


def category_of(name: str) -> type[ContractError]:
    """The category class an error named ``name`` goes under (see :data:`CATEGORY_RULES`)."""
    for base, pattern in CATEGORY_RULES:
        if re.search(pattern, name):
            return base
    return InvalidRequest


BUILTIN_ERRORS: tuple[dict[str, Any], ...] = (
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
)
"""Solidity's own revert payloads: ``revert("reason")`` / ``require`` and panics."""

_BY_SIGNATURE: dict[str, type[ContractError]] = {}
_UNDESCRIBED: dict[str, type[ContractError]] = {}


def error_class_for(entry: Mapping[str, Any]) -> type[ContractError]:
    """The class of ABI ``error`` entry ``entry``: made on first use, then the same class for every ABI that
    declares this error (same name and argument types); its fields are the entry's argument names."""
    signature = abi_to_signature(cast(Any, entry))
    cls = _BY_SIGNATURE.get(signature)
    if cls is None:
        name = str(entry["name"])
        base = category_of(name)
        names = tuple(str(p.get("name") or f"arg{i}") for i, p in enumerate(entry.get("inputs", [])))
        namespace = {
            "__doc__": f"Contract error ``{signature}`` ({base.category}).",
            "__module__": __name__,
            "__qualname__": name,
            "error_name": name,
            "signature": signature,
            "field_names": names,
        }
        cls = _BY_SIGNATURE[signature] = type(name, (base,), namespace)
    return cls


@cache
def shipped_errors() -> dict[str, type[ContractError]]:
    """Every error of the shipped artifacts (and Solidity's ``Error``/``Panic``), by name: the classes
    ``from pylender.errors import <Name>`` gives. Where two contracts declare one name with different arguments,
    the first artifact in name order wins the name; the other is still decoded by its own class."""
    out: dict[str, type[ContractError]] = {}
    for entry in (*BUILTIN_ERRORS, *_artifact_errors()):
        out.setdefault(str(entry["name"]), error_class_for(entry))
    return out


def _artifact_errors() -> list[dict[str, Any]]:
    folder = resources.files(__package__ or "pylender").joinpath("artifacts")
    entries: list[dict[str, Any]] = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            abi = json.loads(item.read_text()).get("abi", [])
            entries += [e for e in abi if e.get("type") == "error"]
    return entries


def error_class(name: str) -> type[ContractError]:
    """The class of the contract error ``name``: the shipped ABIs' (:func:`shipped_errors`), else a class with
    no declared fields (an error no shipped ABI describes), made once."""
    cls = shipped_errors().get(name)
    if cls is None:
        cls = _UNDESCRIBED.get(name)
        if cls is None:
            base = category_of(name)
            namespace = {"__module__": __name__, "__qualname__": name, "error_name": name}
            cls = _UNDESCRIBED[name] = type(name, (base,), namespace)
    return cls


def __getattr__(name: str) -> type[ContractError]:
    """``pylender.errors.<ErrorName>`` for every error in the shipped ABIs."""
    if name[:1].isupper():
        cls = shipped_errors().get(name)
        if cls is not None:
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ErrorDecoder:
    """Revert data -> the named exception, from the ``error`` entries of one or more ABIs."""

    def __init__(self, *abis: Sequence[Mapping[str, Any]]) -> None:
        self._by_selector: dict[bytes, tuple[type[ContractError], tuple[Mapping[str, Any], ...]]] = {}
        for entry in BUILTIN_ERRORS:
            self._add(entry)
        for abi in abis:
            self.add_abi(abi)

    def add_abi(self, abi: Sequence[Mapping[str, Any]]) -> None:
        for entry in abi:
            if entry.get("type") == "error":
                self._add(entry)

    def _add(self, entry: Mapping[str, Any]) -> None:
        selector = keccak(text=abi_to_signature(cast(Any, entry)))[:4]
        self._by_selector[selector] = (error_class_for(entry), tuple(entry.get("inputs", [])))

    @property
    def names(self) -> list[str]:
        return sorted(cls.error_name for cls, _ in self._by_selector.values())

    def decode(self, data: bytes | str | None) -> ContractError:
        """The exception for revert ``data`` (``0x``-hex or bytes); never a bare hex revert."""
        from eth_abi import decode as abi_decode

        revert = shipped_errors()["Error"]
        raw = _to_bytes(data)
        if len(raw) < 4:
            return revert("reverted without a reason")
        found = self._by_selector.get(raw[:4])
        if found is None:
            return revert(f"unknown custom error 0x{raw[:4].hex()} (not in the ledger or token ABI)")
        cls, inputs = found
        try:
            values = abi_decode([collapse_if_tuple(dict(p)) for p in inputs], raw[4:])
        except Exception:
            return revert(f"{cls.error_name} with undecodable arguments 0x{raw[4:].hex()}")
        return cls(*(_normalise(v, p) for v, p in zip(values, inputs, strict=True)))


def _normalise(value: Any, param: Mapping[str, Any]) -> Any:
    kind = str(param["type"])
    if kind == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if kind.endswith("]") and isinstance(value, (list, tuple)):
        inner = {**param, "type": kind[: kind.rindex("[")]}
        return [_normalise(v, inner) for v in value]
    return value


def _to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    text = data.strip()
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""
