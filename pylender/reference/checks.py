"""Origination checks of the reference model, in the contract's order (each raises the contract's error)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pylender.errors import (
    DeadlinePassed,
    DuplicateLender,
    InvalidTerms,
    InvalidTrancheCount,
    PenaltyRateAboveCap,
    PrincipalAboveCap,
    RateAboveCap,
    ReserveBelowMinimum,
    ShareBelowMinimum,
    SharesNotWhole,
    UnknownInstitution,
    ZeroAddress,
    ZeroAmount,
)
from pylender.reference.books import Account
from pylender.reference.values import MAX_PERIODS, MAX_TRANCHES, LoanTerms, PolicyParams, Tranche, is_zero
from pylender.values import BPS

#: InvalidTerms reason codes (as in ICoLendingLedger).
PERIODS_OUT_OF_RANGE, ZERO_PERIOD_SECONDS, FEE_RECIPIENT_MISMATCH, FEE_ABOVE_BPS, PREPAY_FEE_ABOVE_BPS = 1, 2, 3, 4, 5
RESERVE_ABOVE_BPS = 6


def check_terms(loan_id: int, t: LoanTerms, now: int, policy: PolicyParams, accounts: Mapping[str, Account]) -> None:
    """``originate``'s checks of the terms, in the contract's order."""
    if is_zero(t.borrower):
        raise ZeroAddress()
    if t.principal == 0:
        raise ZeroAmount()
    if not 1 <= t.periods <= MAX_PERIODS:
        raise InvalidTerms(PERIODS_OUT_OF_RANGE)
    if t.period_seconds == 0:
        raise InvalidTerms(ZERO_PERIOD_SECONDS)
    if (not is_zero(t.fee_recipient)) != (t.service_fee_bps > 0):
        raise InvalidTerms(FEE_RECIPIENT_MISMATCH)
    if t.service_fee_bps > BPS:
        raise InvalidTerms(FEE_ABOVE_BPS)
    if t.prepayment_fee_bps > BPS:
        raise InvalidTerms(PREPAY_FEE_ABOVE_BPS)
    if t.reserve_bps > BPS:
        raise InvalidTerms(RESERVE_ABOVE_BPS)
    if t.funding_deadline <= now:
        raise DeadlinePassed(loan_id, t.funding_deadline)
    if not is_zero(t.fee_recipient) and t.fee_recipient not in accounts:
        raise UnknownInstitution(t.fee_recipient)
    p = policy
    if t.annual_rate_bps > p.max_annual_rate_bps:
        raise RateAboveCap(t.annual_rate_bps, p.max_annual_rate_bps)
    if t.penalty_rate_bps > p.max_penalty_rate_bps:
        raise PenaltyRateAboveCap(t.penalty_rate_bps, p.max_penalty_rate_bps)
    if t.principal > p.max_principal:
        raise PrincipalAboveCap(t.principal, p.max_principal)
    if t.reserve_bps < p.min_reserve_bps:
        raise ReserveBelowMinimum(t.reserve_bps, p.min_reserve_bps)


def check_tranches(
    loan_id: int, tranches: Sequence[Tranche], policy: PolicyParams, accounts: Mapping[str, Account]
) -> None:
    """``originate``'s checks of the tranches, in the contract's order."""
    if not 1 <= len(tranches) <= MAX_TRANCHES:
        raise InvalidTrancheCount(len(tranches))
    seen: set[str] = set()
    platform_share = 0
    for tranche in tranches:
        account = accounts.get(tranche.lender)
        if account is None:
            raise UnknownInstitution(tranche.lender)
        if tranche.lender in seen:
            raise DuplicateLender(tranche.lender)
        seen.add(tranche.lender)
        if account.is_platform:
            platform_share += tranche.share_bps
    total = sum(t.share_bps for t in tranches)
    if any(t.share_bps == 0 for t in tranches) or total != BPS:
        raise SharesNotWhole(total)
    if len(tranches) > 1 and platform_share < policy.min_platform_share_bps:
        raise ShareBelowMinimum(loan_id, platform_share, policy.min_platform_share_bps)
