"""Plain values of the reference model. The domain's values (limits, ``LoanStatus``, the terms, tranches and policy
it is given, ``AmountDue`` and ``CreditRecord``) are :mod:`pylender.values`', shared with the client and the audit;
this module adds the result only the model returns (:class:`RepaymentBreakdown`) and :func:`is_zero`."""

from __future__ import annotations

from dataclasses import dataclass

from pylender.values import (
    MAX_PERIODS,
    MAX_TRANCHES,
    ZERO_ADDRESS,
    AmountDue,
    CreditRecord,
    LoanStatus,
    LoanTerms,
    PolicyParams,
    Tranche,
)

__all__ = [
    "MAX_PERIODS",
    "MAX_TRANCHES",
    "ZERO_ADDRESS",
    "AmountDue",
    "CreditRecord",
    "LoanStatus",
    "LoanTerms",
    "PolicyParams",
    "RepaymentBreakdown",
    "Tranche",
    "is_zero",
]


def is_zero(address: str | None) -> bool:
    return not address or int(address, 16) == 0


@dataclass(frozen=True)
class RepaymentBreakdown:
    """What one repayment or prepayment did (the event's ``RepaymentBreakdown``)."""

    amount: int
    penalty_paid: int
    interest_paid: int
    fee_paid: int
    principal_paid: int
    installment: int
    outstanding: int
    status: LoanStatus
    on_time_completed: int
    late_completed: int
    days_late: int
    max_days_late: int
    penalty_accrued: int
    prepayment_fee: int = 0
