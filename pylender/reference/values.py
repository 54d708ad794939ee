"""Plain values of the reference model: limits, ``LoanStatus``, the loan terms and policy it is given, and the
results it returns (repayment breakdown, amount due, credit record)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from pylender.schedule import DAY, RepaymentMethod

ZERO_ADDRESS = "0x" + "00" * 20
MAX_PERIODS = 600
MAX_TRANCHES = 16


class LoanStatus(IntEnum):
    """``LoanStatus`` of the ledger."""

    NONE = 0
    ORIGINATED = 1
    FUNDED = 2
    ACTIVE = 3
    CLOSED = 4
    CANCELLED = 5
    DEFAULTED = 6
    WRITTEN_OFF = 7

    @property
    def label(self) -> str:
        """The Solidity enum member's name (``WrittenOff``)."""
        return self.name.replace("_", " ").title().replace(" ", "")


@dataclass(frozen=True)
class Tranche:
    """One funder's slice: lender address and share in bps. The first tranche is the lead."""

    lender: str
    share_bps: int


@dataclass(frozen=True)
class LoanTerms:
    """``LoanTerms`` (snake_case). Unvalidated on purpose: the model raises the contract's errors itself."""

    borrower: str
    borrower_id: bytes | str
    principal: int
    annual_rate_bps: int
    periods: int
    period_seconds: int
    method: int = RepaymentMethod.EQUAL_INSTALLMENT
    grace_period: int = 0
    penalty_rate_bps: int = 0
    prepayment_fee_bps: int = 0
    service_fee_bps: int = 0
    fee_recipient: str = ZERO_ADDRESS
    reserve_bps: int = 0
    funding_deadline: int = 0


@dataclass(frozen=True)
class PolicyParams:
    """``PolicyParams``; the defaults are the deploy script's, for a token with ``decimals`` = 6."""

    min_platform_share_bps: int = 3000
    max_annual_rate_bps: int = 2400
    max_penalty_rate_bps: int = 3600
    min_reserve_bps: int = 0
    max_principal: int = 200_000 * 10**6
    max_lender_exposure: int = 10_000_000 * 10**6
    default_after: int = 90 * DAY
    public_default_delay: int = 30 * DAY


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


@dataclass(frozen=True)
class Due:
    """What a loan owes at a time (``amountDue``)."""

    penalty: int
    interest: int
    principal: int
    total_due: int
    max_payable: int
    overdue_installments: int
    next_due_date: int


@dataclass(frozen=True)
class CreditRecord:
    """A borrower's credit record summed over its loans (``creditRecord``)."""

    loans_taken: int
    active: int
    closed: int
    defaulted: int
    on_time_installments: int
    late_installments: int
    max_days_late: int
    total_days_late: int
    amount_written_off: int
