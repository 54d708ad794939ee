"""pylender: a co-lending (联合贷款) ledger on an EVM chain - contracts, client, audit.

The names a script needs: ``from pylender import LoanTerms, Pylender, Tranche``. Each public name below is
imported on first use (``import pylender`` stays cheap), and is the real class to a type checker.

Where things are: :mod:`pylender.values` (enums, units, limits, value types; imports nothing from pylender),
:mod:`pylender.errors` (every exception), :mod:`pylender.schedule` (schedule arithmetic), :mod:`pylender.reference`
(the reference model), :mod:`pylender.client` (session, ledger, transactions, node), :mod:`pylender.audit`,
:mod:`pylender.scenarios` (scenario files, the demo), :mod:`pylender.cli` (the ``pylender`` command).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from pylender import native

native.install()  # before any compiled module is imported: a stale build must not run (see pylender.native)

try:
    __version__ = version("pylender")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    from pylender.client.ledger import Ledger
    from pylender.client.session import Pylender
    from pylender.errors import (
        AccessDenied,
        ContractError,
        InsufficientFunds,
        InvalidRequest,
        LoanStateError,
        PolicyViolation,
        PylenderError,
    )
    from pylender.values import (
        AccountBalance,
        AmountDue,
        AuditHead,
        CreditRecord,
        Deployment,
        InstallmentView,
        LoanStatus,
        LoanTerms,
        LoanView,
        PolicyParams,
        Position,
        RepaymentMethod,
        Role,
        Tranche,
        TrancheInfo,
        borrower_id,
    )

_HOMES = {
    "Pylender": "pylender.client.session",
    "Ledger": "pylender.client.ledger",
    **dict.fromkeys(
        (
            "AccessDenied",
            "ContractError",
            "InsufficientFunds",
            "InvalidRequest",
            "LoanStateError",
            "PolicyViolation",
            "PylenderError",
        ),
        "pylender.errors",
    ),
    **dict.fromkeys(
        (
            "AccountBalance",
            "AmountDue",
            "AuditHead",
            "CreditRecord",
            "Deployment",
            "InstallmentView",
            "LoanStatus",
            "LoanTerms",
            "LoanView",
            "PolicyParams",
            "Position",
            "RepaymentMethod",
            "Role",
            "Tranche",
            "TrancheInfo",
            "borrower_id",
        ),
        "pylender.values",
    ),
}

__all__ = [
    "AccessDenied",
    "AccountBalance",
    "AmountDue",
    "AuditHead",
    "ContractError",
    "CreditRecord",
    "Deployment",
    "InstallmentView",
    "InsufficientFunds",
    "InvalidRequest",
    "Ledger",
    "LoanStateError",
    "LoanStatus",
    "LoanTerms",
    "LoanView",
    "PolicyParams",
    "PolicyViolation",
    "Position",
    "Pylender",
    "PylenderError",
    "RepaymentMethod",
    "Role",
    "Tranche",
    "TrancheInfo",
    "__version__",
    "borrower_id",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pylender' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # the next access skips this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
