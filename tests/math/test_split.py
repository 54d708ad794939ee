"""Cumulative-floor splitting (pylender.schedule.split_cumulative / lead_leftover / tranche_amounts)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from pylender import schedule as sm
from pylender.values import BPS, YEAR, RepaymentMethod

SHARES = [3333, 3333, 3334]  # the lead (first tranche) holds 3333


def test_three_lenders_on_1_000_001_units_over_12_installments():
    funded = sm.tranche_amounts(1_000_001, SHARES)
    assert funded == [333_301, 333_300, 333_400]
    rows = sm.build_schedule(1_000_001, 1200, YEAR // 12, 12, RepaymentMethod.EQUAL_INSTALLMENT)
    principal_paid = interest_paid = 0
    for row in rows:
        principal_paid += row.principal
        interest_paid += row.interest
        for total in (principal_paid, interest_paid):
            credits = sm.split_cumulative(total, SHARES)
            for credit, share in zip(credits, SHARES, strict=True):
                assert 0 <= Fraction(total * share, BPS) - credit < 1  # within one unit, never above
            assert 0 <= sm.lead_leftover(total, SHARES) < len(SHARES)
    # closure: the leftover goes to the lead and every unit is credited
    assert principal_paid == 1_000_001
    principal_credits = sm.split_cumulative(principal_paid, SHARES)
    principal_credits[0] += sm.lead_leftover(principal_paid, SHARES)
    assert principal_credits == funded  # each lender gets back exactly what it funded
    assert interest_paid == 66_192  # one more than on 1_000_000: the first interest is ceil(10_000.01)
    assert sm.split_cumulative(interest_paid, SHARES) == [22_061, 22_061, 22_068]
    assert sm.lead_leftover(interest_paid, SHARES) == 2  # 66_192 − 66_190, < 3 tranches
    # exact shares are 22_061.79, 22_061.79, 22_068.41: the lead ends with 22_063, the sum is exact
    assert sum(sm.split_cumulative(interest_paid, SHARES)) + sm.lead_leftover(interest_paid, SHARES) == 66_192


shares_lists = (
    st.lists(st.integers(1, 10_000), min_size=1, max_size=16)
    .filter(lambda s: sum(s) <= 10_000)
    .map(lambda s: [*s[:-1], s[-1] + 10_000 - sum(s)])
)


@settings(max_examples=200, deadline=None)
@given(shares=shares_lists, payments=st.lists(st.integers(0, 10**15), min_size=1, max_size=30))
def test_cumulative_floor_is_monotone_within_one_unit_and_exact_at_closure(shares, payments):
    assert sum(shares) == BPS
    total = 0
    previous = [0] * len(shares)
    for payment in payments:
        total += payment
        credits = sm.split_cumulative(total, shares)
        assert all(now >= before for now, before in zip(credits, previous, strict=True))  # increases never negative
        assert all(0 <= Fraction(total * s, BPS) - c < 1 for c, s in zip(credits, shares, strict=True))
        assert 0 <= sm.lead_leftover(total, shares) < len(shares)
        previous = credits
    assert sum(previous) + sm.lead_leftover(total, shares) == total


@given(principal=st.integers(1, 2**128), shares=shares_lists)
def test_tranche_amounts_add_to_principal(principal, shares):
    amounts = sm.tranche_amounts(principal, shares)
    assert sum(amounts) == principal
    assert amounts[1:] == [principal * s // BPS for s in shares[1:]]
