"""Every error pylender raises derives from :class:`PylenderError`.

Contract custom errors are decoded into named Python exceptions (see :mod:`pylender.revert`),
each grouped under a semantic base that also inherits the builtin it resembles::

    PolicyViolation: ShareBelowMinimum(loanId=1, platformShareBps=2000, minBps=3000)

The classes below are the errors the ledger specification names; an error found in an ABI but
not listed here gets a class created on the fly under the base its name suggests.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PylenderError(Exception):
    """Root of all pylender errors."""


class ToolchainError(PylenderError, RuntimeError):
    """The compiler or the local chain binaries are missing or broken."""


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


class SignerError(PylenderError, LookupError):
    """No usable signing key (missing env variable, bad keystore password, ...)."""


class DeploymentNotFound(PylenderError, FileNotFoundError):
    """No deployment file (ledger and token addresses) where the client looked."""


class ArtifactNotFound(ToolchainError):
    """A compiled contract artifact (ABI + bytecode) is missing from ``pylender/artifacts``."""


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


class JournalError(PylenderError, RuntimeError):
    """A bulk-send journal cannot be used to finish its run (corrupt, or its transactions cannot land)."""


class JournalMismatch(JournalError, ValueError):
    """The journal was written for other calls (or another account / chain): it is never reused silently."""


class UnknownLoan(PylenderError, LookupError):
    """The ledger has no loan with this id."""

    def __init__(self, loan_id: int) -> None:
        self.loan_id = loan_id
        super().__init__(f"UnknownLoan: the ledger has no loan {loan_id}")


# ---------------------------------------------------------------------------------------------
# Contract custom errors
# ---------------------------------------------------------------------------------------------


class ContractError(PylenderError):
    """A contract custom error, decoded with its named arguments.

    Instances can also be raised client-side (before sending) with the same arguments the
    contract would use, so callers catch one class whether the check ran locally or on chain.
    """

    error_name: ClassVar[str] = "ContractError"
    category: ClassVar[str] = "ContractError"
    field_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **fields: Any) -> None:
        if args:
            names = self.field_names or tuple(f"arg{i}" for i in range(len(args)))
            fields = {**dict(zip(names, args, strict=False)), **fields}
        self.fields: dict[str, Any] = fields
        super().__init__(self._message())

    def _message(self) -> str:
        inner = ", ".join(
            f"{k}={_fmt(v, role='role' in k.lower(), status=k == 'status')}" for k, v in self.fields.items()
        )
        return f"{self.category}: {self.error_name}({inner})"

    def __str__(self) -> str:
        return self._message()

    def __getattr__(self, name: str) -> Any:
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self).error_name, self.fields))


def _rebuild(name: str, fields: dict[str, Any]) -> ContractError:
    return error_class(name)(**fields)


def _fmt(value: Any, role: bool = False, status: bool = False) -> str:
    if status and isinstance(value, int):
        from pylender.reference.values import LoanStatus

        return f"{value} ({LoanStatus(value).name})" if value in LoanStatus._value2member_map_ else str(value)
    if isinstance(value, bytes):
        if role and len(value) == 32:
            from pylender.roles import role_name  # eth_utils only when a role is shown

            return role_name(value)
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
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
    """A token transfer failed: balance or allowance too small (OpenZeppelin ERC20 errors)."""

    category = "InsufficientFunds"


class ContractPanic(ContractError, ArithmeticError):
    """A Solidity panic (assert, overflow, division by zero, ...)."""

    category = "ContractPanic"


class ContractRevert(ContractError, RuntimeError):
    """A revert with a reason string or an error the ABI does not describe."""

    category = "ContractRevert"


# name -> (semantic base, argument names in declaration order)
_KNOWN: dict[str, tuple[type[ContractError], tuple[str, ...]]] = {
    # policy
    "RateAboveCap": (PolicyViolation, ("rate", "cap")),
    "PenaltyRateAboveCap": (PolicyViolation, ("rate", "cap")),
    "PrincipalAboveCap": (PolicyViolation, ("principal", "cap")),
    "ReserveBelowMinimum": (PolicyViolation, ("reserveBps", "minBps")),
    "ShareBelowMinimum": (PolicyViolation, ("loanId", "platformShareBps", "minBps")),
    "ExposureAboveCap": (PolicyViolation, ("lender", "exposure", "cap")),
    # malformed requests
    "ZeroAddress": (InvalidRequest, ()),
    "ZeroAmount": (InvalidRequest, ()),
    "InvalidTerms": (InvalidRequest, ("reason",)),
    "InvalidTrancheCount": (InvalidRequest, ("count",)),
    "SharesNotWhole": (InvalidRequest, ("sum",)),
    "DuplicateLender": (InvalidRequest, ("lender",)),
    "UnknownInstitution": (InvalidRequest, ("account",)),
    "InstitutionExists": (InvalidRequest, ("account",)),
    "LengthMismatch": (InvalidRequest, ("a", "b")),
    "Overpayment": (InvalidRequest, ("loanId", "amount", "maxPayable")),
    "InvalidPolicy": (InvalidRequest, ()),
    "SafeCastOverflowedUintDowncast": (InvalidRequest, ("bits", "value")),
    # state
    "LoanNotInStatus": (LoanStateError, ("loanId", "status")),
    "AlreadyFunded": (LoanStateError, ("loanId", "lender")),
    "DeadlinePassed": (LoanStateError, ("loanId", "deadline")),
    "NotOverdueLongEnough": (LoanStateError, ("loanId", "overdueSince", "defaultableAt")),
    "PrepaymentLeavesNoPeriod": (LoanStateError, ("loanId",)),
    "EnforcedPause": (LoanStateError, ()),
    "ExpectedPause": (LoanStateError, ()),
    "ReentrancyGuardReentrantCall": (LoanStateError, ()),
    # access
    "AccessControlUnauthorizedAccount": (AccessDenied, ("account", "neededRole")),
    "AccessControlBadConfirmation": (AccessDenied, ()),
    "NotATrancheLender": (AccessDenied, ("loanId", "caller")),
    "CancelNotAllowed": (AccessDenied, ("loanId", "caller")),
    "NotSelfCall": (AccessDenied, ("caller",)),
    # OpenZeppelin ERC20 / SafeERC20
    "ERC20InsufficientBalance": (InsufficientFunds, ("sender", "balance", "needed")),
    "ERC20InsufficientAllowance": (InsufficientFunds, ("spender", "allowance", "needed")),
    "ERC20InvalidSender": (InsufficientFunds, ("sender",)),
    "ERC20InvalidReceiver": (InsufficientFunds, ("receiver",)),
    "ERC20InvalidApprover": (InsufficientFunds, ("approver",)),
    "ERC20InvalidSpender": (InsufficientFunds, ("spender",)),
    "SafeERC20FailedOperation": (InsufficientFunds, ("token",)),
    "SafeERC20FailedDecreaseAllowance": (InsufficientFunds, ("spender", "currentAllowance", "requestedDecrease")),
    # the ledger refuses tokens that deliver less than was sent (fee-on-transfer)
    "UnexpectedTransferAmount": (InsufficientFunds, ("expected", "received")),
    # Solidity builtins
    "Panic": (ContractPanic, ("code",)),
    "Error": (ContractRevert, ("message",)),
}

_CLASSES: dict[str, type[ContractError]] = {}


def _guess_base(name: str) -> type[ContractError]:
    """The semantic base for an error the table above does not list, from its name."""
    lowered = name.lower()
    if name.startswith(("ERC20", "SafeERC20")) or "insufficient" in lowered or "transfer" in lowered:
        return InsufficientFunds
    if "unauthorized" in lowered or "access" in lowered or (lowered.startswith("not") and "lender" in lowered):
        return AccessDenied
    if "cap" in lowered or "minimum" in lowered or "policy" in lowered:
        return PolicyViolation
    if "status" in lowered or "paused" in lowered or "already" in lowered or "deadline" in lowered:
        return LoanStateError
    if lowered.startswith(("zero", "invalid", "unknown", "duplicate", "safecast")) or "mismatch" in lowered:
        return InvalidRequest
    return ContractRevert


def error_class(name: str, field_names: tuple[str, ...] | None = None) -> type[ContractError]:
    """The exception class for contract error ``name`` (created once, then reused).

    ``field_names`` (from the ABI) override the table's argument names when given.
    """
    cls = _CLASSES.get(name)
    if cls is not None:
        if field_names is not None and field_names and cls.field_names != field_names:
            cls.field_names = field_names
        return cls
    base, names = _KNOWN.get(name, (_guess_base(name), ()))
    cls = type(
        name,
        (base,),
        {
            "__doc__": f"Contract error ``{name}`` ({base.category}).",
            "__module__": __name__,
            "error_name": name,
            "field_names": field_names if field_names else names,
        },
    )
    _CLASSES[name] = cls
    if name not in globals():  # never shadow a base class (a token may name an error "InsufficientFunds")
        globals()[name] = cls
    return cls


for _name in _KNOWN:
    error_class(_name)

# Re-exported names for static use: ``from pylender.errors import ShareBelowMinimum``.
RateAboveCap = _CLASSES["RateAboveCap"]
PenaltyRateAboveCap = _CLASSES["PenaltyRateAboveCap"]
PrincipalAboveCap = _CLASSES["PrincipalAboveCap"]
ReserveBelowMinimum = _CLASSES["ReserveBelowMinimum"]
ShareBelowMinimum = _CLASSES["ShareBelowMinimum"]
ExposureAboveCap = _CLASSES["ExposureAboveCap"]
ZeroAddress = _CLASSES["ZeroAddress"]
ZeroAmount = _CLASSES["ZeroAmount"]
InvalidTerms = _CLASSES["InvalidTerms"]
InvalidTrancheCount = _CLASSES["InvalidTrancheCount"]
SharesNotWhole = _CLASSES["SharesNotWhole"]
DuplicateLender = _CLASSES["DuplicateLender"]
UnknownInstitution = _CLASSES["UnknownInstitution"]
InstitutionExists = _CLASSES["InstitutionExists"]
LengthMismatch = _CLASSES["LengthMismatch"]
Overpayment = _CLASSES["Overpayment"]
LoanNotInStatus = _CLASSES["LoanNotInStatus"]
AlreadyFunded = _CLASSES["AlreadyFunded"]
DeadlinePassed = _CLASSES["DeadlinePassed"]
NotOverdueLongEnough = _CLASSES["NotOverdueLongEnough"]
PrepaymentLeavesNoPeriod = _CLASSES["PrepaymentLeavesNoPeriod"]
EnforcedPause = _CLASSES["EnforcedPause"]
AccessControlUnauthorizedAccount = _CLASSES["AccessControlUnauthorizedAccount"]
NotATrancheLender = _CLASSES["NotATrancheLender"]
ERC20InsufficientBalance = _CLASSES["ERC20InsufficientBalance"]
ERC20InsufficientAllowance = _CLASSES["ERC20InsufficientAllowance"]
Panic = _CLASSES["Panic"]
