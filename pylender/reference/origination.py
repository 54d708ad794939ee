"""Origination checks of the reference model, in the contract's order (each raises the contract's error)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pylender.errors import (
    DeadlinePassed,
    DuplicateLender,
    EffectiveRateAboveCap,
    FeeRecipientMismatch,
    InstallmentAboveLimit,
    InvalidTrancheCount,
    PenaltyRateAboveCap,
    PeriodBoundsInvalid,
    PeriodSecondsOutOfRange,
    PeriodsOutOfRange,
    PoolCannotOriginate,
    PrepaymentFeeAboveWhole,
    PrincipalAboveCap,
    RateAboveCap,
    RateTenorAboveLimit,
    ReserveAboveWhole,
    ReserveBelowMinimum,
    ServiceFeeAboveWhole,
    ShareBelowMinimum,
    SharesNotWhole,
    TenorAboveCap,
    UnknownInstitution,
    ZeroAddress,
    ZeroAmount,
    ZeroPeriodSeconds,
)
from pylender.reference.splitting import Account
from pylender.reference.values import MAX_PERIODS, MAX_TRANCHES, LoanTerms, PolicyParams, Tranche, is_zero
from pylender.schedule import ceil_div, installment, installment_amount
from pylender.values import BPS, CURSOR_LIMIT, YEAR


def check_terms(loan_id: int, t: LoanTerms, now: int, policy: PolicyParams, accounts: Mapping[str, Account]) -> None:
    """``originate``'s checks of the terms, in the contract's order."""
    if is_zero(t.borrower):
        raise ZeroAddress()
    if t.principal == 0:
        raise ZeroAmount()
    if t.principal > CURSOR_LIMIT:
        raise PrincipalAboveCap(t.principal, CURSOR_LIMIT)
    if not 1 <= t.periods <= MAX_PERIODS:
        raise PeriodsOutOfRange(t.periods, MAX_PERIODS)
    if t.period_seconds == 0:
        raise ZeroPeriodSeconds()
    if (not is_zero(t.fee_recipient)) != (t.service_fee_bps > 0):
        raise FeeRecipientMismatch(t.fee_recipient, t.service_fee_bps)
    if t.service_fee_bps > BPS:
        raise ServiceFeeAboveWhole(t.service_fee_bps)
    if t.prepayment_fee_bps > BPS:
        raise PrepaymentFeeAboveWhole(t.prepayment_fee_bps)
    if t.reserve_bps > BPS:
        raise ReserveAboveWhole(t.reserve_bps)
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
    if not p.min_period_seconds <= t.period_seconds <= p.max_period_seconds:
        raise PeriodSecondsOutOfRange(t.period_seconds, p.min_period_seconds, p.max_period_seconds)
    tenor = t.periods * t.period_seconds
    if tenor > p.max_tenor_seconds:
        raise TenorAboveCap(tenor, p.max_tenor_seconds)


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
        if account.is_pool:
            raise PoolCannotOriginate(tranche.lender)
        if account.is_platform:
            platform_share += tranche.share_bps
    total = sum(t.share_bps for t in tranches)
    if any(t.share_bps == 0 for t in tranches) or total != BPS:
        raise SharesNotWhole(total)
    if len(tranches) > 1 and platform_share < policy.min_platform_share_bps:
        raise ShareBelowMinimum(loan_id, platform_share, policy.min_platform_share_bps)


def check_schedule(t: LoanTerms, policy: PolicyParams) -> None:
    """Checked last at origination: the installment amount A that disbursement will fix must fit the cursor, and
    what the schedule actually charges (each interest rounded up, over the balances it is charged on) must stay
    within the rate cap: Σ interest_k × BPS × YEAR ≤ cap × periodSeconds × Σ O_k."""
    method = int(t.method)
    a = installment_amount(method, t.principal, t.annual_rate_bps, t.period_seconds, t.periods)
    if a > CURSOR_LIMIT:
        raise InstallmentAboveLimit(a, CURSOR_LIMIT)
    outstanding, interest_total, balance_total = t.principal, 0, 0
    for k in range(1, t.periods + 1):
        if outstanding == 0:
            break
        i, p = installment(method, a, outstanding, t.annual_rate_bps, t.period_seconds, k == t.periods)
        interest_total += i
        balance_total += outstanding
        outstanding -= p
    cap = policy.max_annual_rate_bps
    if interest_total * BPS * YEAR > cap * t.period_seconds * balance_total:
        raise EffectiveRateAboveCap(ceil_div(interest_total * BPS * YEAR, t.period_seconds * balance_total), cap)


#: The largest maxAnnualRateBps × maxTenorSeconds a policy may allow (100 years at 100 %): keeps every admissible
#: annuity's (1 + r)^n far inside what the fixed-point power holds.
RATE_TENOR_LIMIT = 100 * BPS * YEAR


def check_policy(p: PolicyParams) -> None:
    """``setPolicy``'s checks (and the constructor's): period bounds > 0 and in order; rate × tenor bounded."""
    if p.min_period_seconds == 0 or p.min_period_seconds > p.max_period_seconds:
        raise PeriodBoundsInvalid(p.min_period_seconds, p.max_period_seconds)
    if p.max_annual_rate_bps * p.max_tenor_seconds > RATE_TENOR_LIMIT:
        raise RateTenorAboveLimit(p.max_annual_rate_bps, p.max_tenor_seconds)
