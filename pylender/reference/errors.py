"""The errors of the reference model: :class:`LedgerRevert` subclasses named like the contract's custom errors (with
the same arguments, in order), and the bookkeeping errors :class:`BooksError` / :class:`ConservationBroken`."""

from __future__ import annotations

from typing import Any

from pylender.errors import PylenderError

# ------------------------------------------------------------------------------------------------------- errors


class LedgerRevert(PylenderError, ValueError):
    """A call the ledger contract would revert. ``error_args`` are the custom error's arguments, in order."""

    fields: tuple[str, ...] = ()

    def __init__(self, *args: Any) -> None:
        if len(args) != len(self.fields):
            raise TypeError(f"{type(self).__name__} takes {self.fields}, got {args!r}")
        super().__init__(*args)
        for name, value in zip(self.fields, args, strict=True):
            setattr(self, name, value)

    @property
    def error_args(self) -> tuple[Any, ...]:
        return tuple(self.args)

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in zip(self.fields, self.args, strict=True))
        return f"{type(self).__name__}({shown})"


def _revert(name: str, *fields: str) -> type[LedgerRevert]:
    return type(name, (LedgerRevert,), {"fields": fields, "__doc__": f"Mirrors the contract error `{name}`."})


ZeroAddress = _revert("ZeroAddress")
ZeroAmount = _revert("ZeroAmount")
InstitutionExists = _revert("InstitutionExists", "account")
UnknownInstitution = _revert("UnknownInstitution", "account")
RateAboveCap = _revert("RateAboveCap", "rate_bps", "cap_bps")
PenaltyRateAboveCap = _revert("PenaltyRateAboveCap", "rate_bps", "cap_bps")
PrincipalAboveCap = _revert("PrincipalAboveCap", "principal", "cap")
ReserveBelowMinimum = _revert("ReserveBelowMinimum", "reserve_bps", "min_bps")
ShareBelowMinimum = _revert("ShareBelowMinimum", "loan_id", "platform_share_bps", "min_bps")
ExposureAboveCap = _revert("ExposureAboveCap", "lender", "exposure", "cap")
PeriodsOutOfRange = _revert("PeriodsOutOfRange", "periods", "max_periods")
ZeroPeriodSeconds = _revert("ZeroPeriodSeconds")
FeeRecipientMismatch = _revert("FeeRecipientMismatch", "fee_recipient", "service_fee_bps")
ServiceFeeAboveWhole = _revert("ServiceFeeAboveWhole", "service_fee_bps")
PrepaymentFeeAboveWhole = _revert("PrepaymentFeeAboveWhole", "prepayment_fee_bps")
ReserveAboveWhole = _revert("ReserveAboveWhole", "reserve_bps")
InstallmentAboveLimit = _revert("InstallmentAboveLimit", "installment_amount", "limit")
NothingDue = _revert("NothingDue", "loan_id")
InvalidTrancheCount = _revert("InvalidTrancheCount", "count")
SharesNotWhole = _revert("SharesNotWhole", "sum")
DuplicateLender = _revert("DuplicateLender", "lender")
DeadlinePassed = _revert("DeadlinePassed", "loan_id", "deadline")
NotATrancheLender = _revert("NotATrancheLender", "loan_id", "caller")
AlreadyFunded = _revert("AlreadyFunded", "loan_id", "lender")
LoanNotInStatus = _revert("LoanNotInStatus", "loan_id", "status")
Overpayment = _revert("Overpayment", "loan_id", "amount", "max_payable")
LengthMismatch = _revert("LengthMismatch", "a", "b")
PrepaymentLeavesNoPeriod = _revert("PrepaymentLeavesNoPeriod", "loan_id")
NotOverdueLongEnough = _revert("NotOverdueLongEnough", "loan_id", "overdue_since", "defaultable_at")
CancelNotAllowed = _revert("CancelNotAllowed", "loan_id", "caller")
AccessControlUnauthorizedAccount = _revert("AccessControlUnauthorizedAccount", "account", "role")  # OpenZeppelin
EnforcedPause = _revert("EnforcedPause")  # OpenZeppelin Pausable
ExpectedPause = _revert("ExpectedPause")  # OpenZeppelin Pausable


class BooksError(PylenderError, ValueError):
    """An event sequence the books cannot apply (unknown loan, double funding, overdraft): a broken log."""


class ConservationBroken(PylenderError, AssertionError):
    """The ledger's token balance differs from what the books say it holds."""


# ------------------------------------------------------------------------------------------------------- values
