"""Repayment-schedule arithmetic, in exact integers, mirroring ``contracts/libraries/ScheduleMath.sol`` 1:1.

Every function here returns the very number the Solidity library returns for the same inputs (the tests
compare both on an in-process EVM), and raises where the library reverts:

* :class:`~pylender.errors.MathOverflow` where Solidity panics with 0x11 (checked arithmetic or ``Math.mulDiv``
  overflow),
* :class:`ZeroDivisionError` (builtin) where it panics with 0x12 (division by zero),
* the library's custom errors ``UnknownRepaymentMethod(method)`` / ``ZeroPeriods(periods)``, the same classes the
  client decodes them into (:mod:`pylender.errors`).

The rules are those of docs/ledger-spec.md, section "Schedule": dues round up, entitlements round down.
"""

from __future__ import annotations

import functools
import logging

from pylender.errors import MathOverflow, UnknownRepaymentMethod, ZeroPeriods
from pylender.values import BPS, UINT256_MAX, YEAR, Installment, RepaymentMethod

log = logging.getLogger(__name__)

RAY = 10**27

EQUAL_INSTALLMENT = RepaymentMethod.EQUAL_INSTALLMENT
EQUAL_PRINCIPAL = RepaymentMethod.EQUAL_PRINCIPAL
INTEREST_FIRST = RepaymentMethod.INTEREST_FIRST


def _u256(value: int) -> int:
    """Check a value is a uint256, as Solidity's checked arithmetic does for results."""
    if value < 0 or value > UINT256_MAX:
        raise MathOverflow(f"{value} does not fit in uint256")
    return value


def mul_div(x: int, y: int, denominator: int, round_up: bool = False) -> int:
    """``Math.mulDiv(x, y, denominator, rounding)``: x*y/denominator in full precision, floor or ceil.

    Raises ZeroDivisionError for a zero denominator and MathOverflow if the result exceeds uint256 (both are
    panics in Solidity).
    """
    if denominator == 0:
        raise ZeroDivisionError("mulDiv by zero")
    q, r = divmod(x * y, denominator)
    if round_up and r:
        q += 1
    return _u256(q)


def ceil_div(a: int, b: int) -> int:
    """``Math.ceilDiv(a, b)``."""
    if b == 0:
        raise ZeroDivisionError("ceilDiv by zero")
    return -(-a // b)


def interest(outstanding: int, annual_rate_bps: int, period_seconds: int) -> int:
    """ceil(outstanding * annual_rate_bps * period_seconds / (BPS * YEAR)): one period's interest (a due).

    As ``ScheduleMath.interest``: checked products (every factor within 256 bits), then ``Math.ceilDiv``.
    """
    return ceil_div(_u256(outstanding * _u256(annual_rate_bps * period_seconds)), BPS * YEAR)


def penalty(unpaid: int, penalty_rate_bps: int, elapsed: int) -> int:
    """ceil(unpaid * penalty_rate_bps * elapsed / (BPS * YEAR)): penalty interest on an overdue amount.

    As ``ScheduleMath.penalty``: checked products, then ``Math.ceilDiv``.
    """
    return ceil_div(_u256(unpaid * _u256(penalty_rate_bps * elapsed)), BPS * YEAR)


def rpow(x: int, n: int) -> int:
    """x^n in RAY fixed point by squaring, each product floor(x*y/RAY), in ``ScheduleMath.rpow``'s exact order."""
    z = x if n % 2 else RAY
    n //= 2
    while n:
        x = mul_div(x, x, RAY)
        if n % 2:
            z = mul_div(z, x, RAY)
        n //= 2
    return z


@functools.lru_cache(maxsize=4096)
def _annuity_factor(rate_seconds: int, periods: int) -> int:
    """ceil(r × f / (f − RAY)) with r = rate_seconds × RAY / (BPS × YEAR) and f = (RAY + r)^n: the RAY-scaled
    payment per unit of principal. It depends only on the product (rate × period length, periods), which
    many loans share, so an audit replaying thousands of disbursements computes it once per product."""
    r_ray = mul_div(rate_seconds, RAY, BPS * YEAR)
    f = rpow(_u256(RAY + r_ray), periods)
    return mul_div(r_ray, f, f - RAY, round_up=True)


def installment_amount(method: int, principal: int, annual_rate_bps: int, period_seconds: int, periods: int) -> int:
    """The stored per-loan amount A: annuity payment, floor(P/n), or 0 (see ``ScheduleMath.installmentAmount``)."""
    if periods == 0:
        raise ZeroPeriods(periods)
    if method == EQUAL_INSTALLMENT:
        a = _u256(annual_rate_bps * period_seconds)
        if a == 0:
            return ceil_div(principal, periods)
        return mul_div(principal, _annuity_factor(a, periods), RAY, round_up=True)
    if method == EQUAL_PRINCIPAL:
        return principal // periods
    if method == INTEREST_FIRST:
        return 0
    raise UnknownRepaymentMethod(method)


def installment(
    method: int,
    amount_a: int,
    outstanding: int,
    annual_rate_bps: int,
    period_seconds: int,
    is_last: bool,
) -> tuple[int, int]:
    """(interest, principal) of one installment given the outstanding principal at its start."""
    interest_due = interest(outstanding, annual_rate_bps, period_seconds)
    if method == EQUAL_INSTALLMENT:
        if is_last:
            return interest_due, outstanding
        return interest_due, min(amount_a - interest_due if amount_a > interest_due else 0, outstanding)
    if method == EQUAL_PRINCIPAL:
        return interest_due, outstanding if is_last else min(amount_a, outstanding)
    if method == INTEREST_FIRST:
        return interest_due, outstanding if is_last else 0
    raise UnknownRepaymentMethod(method)


def build_schedule(
    principal: int,
    annual_rate_bps: int,
    period_seconds: int,
    periods: int,
    method: int,
    start: int = 0,
) -> list[Installment]:
    """The full schedule the ledger walks from disbursement at ``start``: due_k = start + k * period_seconds."""
    amount_a = installment_amount(method, principal, annual_rate_bps, period_seconds, periods)
    rows: list[Installment] = []
    outstanding = principal
    for k in range(1, periods + 1):
        interest_k, principal_k = installment(
            method, amount_a, outstanding, annual_rate_bps, period_seconds, k == periods
        )
        outstanding -= principal_k
        rows.append(
            Installment(
                index=k,
                due=start + k * period_seconds,
                interest=interest_k,
                principal=principal_k,
                payment=interest_k + principal_k,
                outstanding_after=outstanding,
            )
        )
    return rows


def split_cumulative(total: int, shares: list[int] | tuple[int, ...]) -> list[int]:
    """Each lender's cumulative entitlement floor(total * share_i / BPS) (entitlements round down)."""
    return [total * share // BPS for share in shares]


def lead_leftover(total: int, shares: list[int] | tuple[int, ...]) -> int:
    """total - Σ floor(total * share_i / BPS): the units the lead lender receives at closure (< len(shares))."""
    return total - sum(split_cumulative(total, shares))


def tranche_amounts(principal: int, shares: list[int] | tuple[int, ...]) -> list[int]:
    """Funding amounts: floor(principal * share_i / BPS) for non-lead tranches, the lead takes the rest."""
    others = [principal * share // BPS for share in shares[1:]]
    return [principal - sum(others), *others]
