"""pylender.schedule: exact hand-computed schedules, closed forms, and agreement with numpy-financial.

Tolerances against the exact annuity (rational arithmetic, ``fractions.Fraction``), proven here:

Let r = a/b be the exact periodic rate and A* = P·r / (1 − (1+r)^−n) the exact annuity.
(1) A* ≤ A + 1e-6 and A < A* + 1 + 1e-6. A = ceil(P·q/RAY) with q/RAY = g(r)(1 + ε), g(r) = r/(1 − (1+r)^−n):
    rRay = floor(r·RAY) has relative error < 1/(r·RAY) ≤ 4e-21 (r ≥ 1·86400/(BPS·YEAR) in these tests), each of the
    ≤ 20 floored rpow products loses < 1e-27 relative, f − RAY ≥ n·rRay keeps that below 1e-19, and the ceil of q adds
    < 1/q. So |ε| < 1e-18 and P·g·|ε| < 1e-6 for P ≤ 1e12: A = ceil(A*(1 + ε)) ∈ [A* − 1e-6, A* + 1 + 1e-6).
(2) Interest before the last installment. With O_k our outstanding and O*_k the exact one, let
    d_k = O_k − O*_k, δ = A − A* ∈ (−1e-6, 1 + 1e-6) and c_k = ceil(O_k·r) − O_k·r ∈ [0, 1). Then d_1 = 0 and
    d_{k+1} = d_k(1 + r) − δ + c_k, so |d_k| < (1 + 1e-6)·((1+r)^{k−1} − 1)/r, and
    interest_k − O*_k·r = c_k + r·d_k ∈ (−((1+r)^{k−1} − 1), (1+r)^{k−1}) up to the 1e-6 factor.
    The bound is 1 unit for k = 1 only: the ceil of each installment's interest moves the next outstanding by up to
    one unit and that drift compounds at (1 + r), so at 24 %/year monthly the 60th interest can be up to
    (1.0197)^59 ≈ 3.2 units from the exact float schedule (hypothesis finds cases above 1 unit readily). We assert
    |interest_k − ipmt_k| < (1+r)^{k−1}, the provable bound, not 1.
    (While an installment's min(·, O_k) cap bites, d can only move towards 0, so the bound still holds.)
(3) numpy-financial computes in float64; its own error is not below one base unit at P = 1e12: (1+r)^n − 1 cancels
    catastrophically for small n·r (daily 0.12 %/year, n = 2 gives npf.pmt off by ~17 units). We add npf's float
    error bound, 16·eps·κ·|value| with κ = (n + 2)·(1+r)^n / ((1+r)^n − 1) (the condition number of
    (1+r)^n − 1), to the proven bounds above when comparing with npf; the comparisons with the exact Fraction
    values carry no float slack.
"""

from __future__ import annotations

from fractions import Fraction

import numpy_financial as npf
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pylender import errors
from pylender import schedule as sm
from pylender.values import BPS, DAY, YEAR, RepaymentMethod

EPS = 2.0**-52
MONTH = YEAR // 12  # 2_628_000 s: 1200 bps/year is exactly 1 % a period
PERIODS_SECONDS = st.sampled_from([MONTH, 30 * DAY, 7 * DAY, DAY])
TERMS = {
    "principal": st.one_of(st.integers(1, 10**12), st.integers(1, 10_000), st.just(10**12)),
    "rate": st.integers(0, 2400),
    "seconds": PERIODS_SECONDS,
    "periods": st.integers(1, 60),
}


# -- exact, hand-computed -------------------------------------------------------------------------------------------


def test_equal_installment_at_one_percent_a_month():
    # r = 1200 × 2_628_000 / (10_000 × 31_536_000) = 1 %; A* = 10^6 × 0.01 / (1 − 1.01^−12) = 88_848.79 → 88_849.
    rows = sm.build_schedule(1_000_000, 1200, MONTH, 12, RepaymentMethod.EQUAL_INSTALLMENT, start=1_000)
    assert sm.installment_amount(0, 1_000_000, 1200, MONTH, 12) == 88_849
    # k=1: 1% of 1_000_000; k=2: ceil(9_211.51); k=3: ceil(8_415.14); k=4: ceil(7_610.81)
    assert [(r.interest, r.principal, r.outstanding_after) for r in rows[:4]] == [
        (10_000, 78_849, 921_151),
        (9_212, 79_637, 841_514),
        (8_416, 80_433, 761_081),
        (7_611, 81_238, 679_843),
    ]
    # the last installment: ceil(879.72) interest and all 87_972 remaining principal
    assert (rows[-1].interest, rows[-1].principal, rows[-1].payment, rows[-1].outstanding_after) == (
        880,
        87_972,
        88_852,
        0,
    )
    assert [r.due for r in rows[:2]] == [1_000 + MONTH, 1_000 + 2 * MONTH]
    assert all(r.payment == 88_849 for r in rows[:-1])
    assert sum(r.principal for r in rows) == 1_000_000
    assert sum(r.interest for r in rows) == 66_191


def test_equal_principal_and_interest_first_small():
    ep = sm.build_schedule(1000, 1200, MONTH, 3, RepaymentMethod.EQUAL_PRINCIPAL)
    assert [(r.interest, r.principal) for r in ep] == [(10, 333), (7, 333), (4, 334)]  # ceil 6.67, ceil 3.34
    fi = sm.build_schedule(1000, 1200, MONTH, 3, RepaymentMethod.INTEREST_FIRST)
    assert [(r.interest, r.principal) for r in fi] == [(10, 0), (10, 0), (10, 1000)]


def test_zero_rate_equal_installment_is_ceil_p_over_n():
    assert sm.installment_amount(0, 10, 0, MONTH, 3) == 4
    assert [(r.interest, r.principal) for r in sm.build_schedule(10, 0, MONTH, 3, 0)] == [(0, 4), (0, 4), (0, 2)]


def test_interest_higher_than_a_pays_no_principal_until_the_last():
    # A stored at 5 but interest 10: principal max(5 − 10, 0) = 0, never negative; the last takes all.
    assert sm.installment(0, 5, 1000, 1200, MONTH, False) == (10, 0)
    assert sm.installment(0, 5, 1000, 1200, MONTH, True) == (10, 1000)


def test_penalty_rounds_up():
    assert sm.penalty(1000, 3650, DAY) == 1  # 1000 × 36.5 % / 365 = exactly 1
    assert sm.penalty(1000, 3650, DAY + 1) == 2  # a second more: 1.0000116 → 2
    assert sm.penalty(1000, 3650, 1) == 1
    assert sm.penalty(0, 3650, DAY) == 0
    assert sm.penalty(1000, 0, DAY) == 0


def test_rpow_exact_powers_and_floor():
    assert sm.rpow(2 * sm.RAY, 10) == 1024 * sm.RAY
    assert sm.rpow(3 * sm.RAY, 0) == sm.RAY
    assert sm.rpow(sm.RAY + 1, 2) == sm.RAY + 2  # (1 + 1e-27)^2 floors the 1e-54 term away
    with pytest.raises(errors.MathOverflow):
        sm.rpow(2 * sm.RAY, 600)


def test_errors():
    with pytest.raises(errors.ZeroPeriods):
        sm.installment_amount(0, 1000, 1200, MONTH, 0)
    with pytest.raises(errors.UnknownRepaymentMethod) as info:
        sm.installment(3, 0, 1000, 1200, MONTH, False)
    assert info.value.method == 3


def test_split_helpers():
    assert sm.split_cumulative(1_000_001, [3333, 3333, 3334]) == [333_300, 333_300, 333_400]
    assert sm.lead_leftover(1_000_001, [3333, 3333, 3334]) == 1
    assert sm.tranche_amounts(1_000_001, [3333, 3333, 3334]) == [333_301, 333_300, 333_400]


# -- properties: numpy-financial and the exact rational annuity -----------------------------------------------------


def _exact_rate(rate: int, seconds: int) -> Fraction:
    return Fraction(rate * seconds, BPS * YEAR)


@settings(max_examples=300, deadline=None)
@given(**TERMS)
@example(principal=10**12, rate=12, seconds=DAY, periods=2)  # npf.pmt's own float error is ~17 units here
@example(principal=10**12, rate=2400, seconds=MONTH, periods=60)
@example(principal=1, rate=2400, seconds=MONTH, periods=60)
def test_equal_installment_against_exact_annuity_and_numpy(principal, rate, seconds, periods):
    amount = sm.installment_amount(RepaymentMethod.EQUAL_INSTALLMENT, principal, rate, seconds, periods)
    rows = sm.build_schedule(principal, rate, seconds, periods, RepaymentMethod.EQUAL_INSTALLMENT)
    assert sum(row.principal for row in rows) == principal
    assert rows[-1].outstanding_after == 0
    if rate == 0:
        assert amount == -(-principal // periods)
        assert all(row.interest == 0 for row in rows)
        return
    r = _exact_rate(rate, seconds)
    exact_a = principal * r / (1 - (1 + r) ** -periods)
    assert -Fraction(1, 10**6) <= amount - exact_a < 1 + Fraction(1, 10**6)  # (1)

    rf = float(r)
    growth = (1 + rf) ** periods
    kappa = (periods + 2) * growth / (growth - 1)
    pmt = -float(npf.pmt(rf, periods, principal))
    assert abs(amount - pmt) < 1 + 1e-6 + 16 * EPS * kappa * amount  # (1) + (3)

    exact_outstanding = Fraction(principal)
    for row in rows[:-1]:
        bound = (1 + r) ** (row.index - 1) * (1 + Fraction(1, 10**6))
        assert abs(row.interest - exact_outstanding * r) < bound  # (2)
        ipmt = -float(npf.ipmt(rf, row.index, periods, principal))
        float_slack = (
            16 * EPS * (kappa * amount * float(bound - 1) + (row.index + 2) * float(bound) * (principal * rf + amount))
        )
        assert abs(row.interest - ipmt) < float(bound) + float_slack  # (2) + (3)
        exact_outstanding -= exact_a - exact_outstanding * r


def test_one_unit_interest_bound_fails_late_in_a_long_loan():
    # Why (2) asserts (1+r)^{k-1} and not 1: P = 500_000_000_001 at 24 %/year monthly over 60 months, the 58th
    # interest is 829_634_556 while the exact (and float) schedule says 829_634_554.33: 1.67 units, from the ceil
    # drift of 57 earlier installments compounding at 2 % a month. The bound there is 1.02^57 = 3.09.
    rows = sm.build_schedule(500_000_000_001, 2400, MONTH, 60, RepaymentMethod.EQUAL_INSTALLMENT)
    ipmt = -float(npf.ipmt(2400 * MONTH / (BPS * YEAR), 58, 60, 500_000_000_001))
    assert rows[57].interest == 829_634_556
    assert 1.6 < rows[57].interest - ipmt < 1.7


@settings(max_examples=200, deadline=None)
@given(**TERMS)
def test_equal_principal_closed_form(principal, rate, seconds, periods):
    rows = sm.build_schedule(principal, rate, seconds, periods, RepaymentMethod.EQUAL_PRINCIPAL)
    step = principal // periods
    r = _exact_rate(rate, seconds)
    for row in rows:
        outstanding = principal - (row.index - 1) * step
        assert row.principal == (step if row.index < periods else principal - (periods - 1) * step)
        assert row.interest == -(-outstanding * r.numerator // r.denominator)  # ceil(O_k × r), exactly
    assert sum(row.principal for row in rows) == principal


@settings(max_examples=200, deadline=None)
@given(**TERMS)
def test_interest_first_closed_form(principal, rate, seconds, periods):
    rows = sm.build_schedule(principal, rate, seconds, periods, RepaymentMethod.INTEREST_FIRST)
    per_period = -(-principal * rate * seconds // (BPS * YEAR))
    assert [row.interest for row in rows] == [per_period] * periods
    assert [row.principal for row in rows] == [0] * (periods - 1) + [principal]
    if rate:
        # an interest-only loan in numpy-financial: pv = P and a balloon fv = −P, so ipmt = P·r every period
        rf = float(_exact_rate(rate, seconds))
        ipmt = -float(npf.ipmt(rf, 1, periods, principal, -principal))
        assert abs(per_period - ipmt) < 1 + 64 * EPS * per_period  # ceil moves < 1; r·P in float: a few ulps
