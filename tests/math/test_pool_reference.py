"""The pool's rules in the reference model (docs/ledger-spec.md, "Loan pools"), against figures worked out by hand:
the senior coupon (ACT/365, per second, rounded up) and its shortfall carried forward, sequential principal, the
junior residual, losses written down junior first and restored senior first, and claims that stay exact when class
tokens change hands between distributions."""

from __future__ import annotations

from fractions import Fraction

from pylender.reference.pool import ACC_SCALE, JUNIOR, SENIOR, PoolModel
from pylender.values import DAY, PoolTerms

UNIT = 10**6
END = 1_000  # subscriptions close here; the coupon runs from here
TERMS = PoolTerms(senior_coupon_bps=1000, min_junior_bps=2000, subscription_end=END, purchase_end=2_000)


def _pool() -> PoolModel:
    pool = PoolModel(TERMS)
    pool.subscribe("A", SENIOR, 800 * UNIT, 10)
    pool.subscribe("B", JUNIOR, 200 * UNIT, 20)
    pool.buy(1_000 * UNIT)
    assert pool.junior_bps() == 2000 and pool.cash == 0
    return pool


def test_coupon_then_sequential_principal_then_the_junior_residual() -> None:
    pool = _pool()
    t1 = END + 30 * DAY
    d = pool.distribute(withdrawn=120 * UNIT, principal_credited=100 * UNIT, loss_now=0, now=t1)
    # 800 × 10 % × 30/365 = 6.575342465...: rounded up to the unit
    coupon = -(-800 * UNIT * 1000 * 30 * DAY // (10_000 * 365 * DAY))
    assert coupon == 6_575_343
    assert (d.interest, d.principal, d.senior_interest, d.senior_principal, d.junior_principal) == (
        20 * UNIT,
        100 * UNIT,
        coupon,
        100 * UNIT,
        0,
    )
    assert d.junior_residual == 20 * UNIT - coupon
    assert (pool.classes[SENIOR].balance, pool.classes[JUNIOR].balance) == (700 * UNIT, 200 * UNIT)
    assert pool.claimable(SENIOR, "A") == coupon + 100 * UNIT  # the only senior holder
    assert pool.claimable(JUNIOR, "B") == 20 * UNIT - coupon

    # a month with 1 token of interest: the coupon on 700 falls short and carries forward
    t2 = t1 + 30 * DAY
    d = pool.distribute(withdrawn=1 * UNIT, principal_credited=100 * UNIT, loss_now=0, now=t2)
    due = -(-700 * UNIT * 1000 * 30 * DAY // (10_000 * 365 * DAY))
    assert (d.senior_interest, d.junior_residual, pool.senior_interest_owed) == (1 * UNIT, 0, due - 1 * UNIT)


def test_a_loss_beyond_junior_reaches_senior_and_a_recovery_restores_senior_first() -> None:
    pool = _pool()
    d = pool.distribute(withdrawn=0, principal_credited=0, loss_now=300 * UNIT, now=END)  # no coupon yet
    assert d.loss_change == 300 * UNIT
    senior, junior = pool.classes
    assert (junior.balance, junior.written_down, senior.balance, senior.written_down) == (
        0,
        200 * UNIT,
        700 * UNIT,
        100 * UNIT,
    )
    # recoveries reduce the recorded loss to 150: senior's 100 back first, then 50 of junior's
    recovered = 150 * UNIT
    d = pool.distribute(withdrawn=recovered, principal_credited=recovered, loss_now=150 * UNIT, now=END)
    assert d.loss_change == -150 * UNIT
    # restored 800 / 50, then the recovery cash (principal) pays senior down
    assert (senior.written_down, junior.written_down, junior.balance) == (0, 150 * UNIT, 50 * UNIT)
    assert (d.senior_principal, senior.balance) == (recovered, 800 * UNIT - recovered)


def test_a_class_token_transfer_between_distributions_splits_the_claims_exactly() -> None:
    pool = _pool()
    t1 = END + 30 * DAY
    first = pool.distribute(withdrawn=120 * UNIT, principal_credited=100 * UNIT, loss_now=0, now=t1)
    paid_1 = first.senior_interest + first.senior_principal
    pool.transfer(SENIOR, "A", "C", 300 * UNIT)  # A keeps 500 of 800 tokens
    t2 = t1 + 30 * DAY
    second = pool.distribute(withdrawn=50 * UNIT, principal_credited=140 * UNIT, loss_now=0, now=t2)
    paid_2 = second.senior_interest + second.senior_principal
    # exact entitlements: A all of the first, 5/8 of the second; C 3/8 of the second (floors of the rule)
    acc_1 = paid_1 * ACC_SCALE // (800 * UNIT)
    acc_2 = paid_2 * ACC_SCALE // (800 * UNIT)
    a = 800 * UNIT * acc_1 // ACC_SCALE + 500 * UNIT * acc_2 // ACC_SCALE
    c = 300 * UNIT * acc_2 // ACC_SCALE
    assert (pool.claimable(SENIOR, "A"), pool.claimable(SENIOR, "C")) == (a, c)
    assert a <= paid_1 + Fraction(5, 8) * paid_2 < a + 2 and c <= Fraction(3, 8) * paid_2 < c + 1
    assert pool.claim(SENIOR, "A") == a and pool.claim(SENIOR, "C") == c and pool.claim(JUNIOR, "B") > 0
    assert pool.claim(SENIOR, "A") == 0  # claiming twice: nothing more
    # the claims plus what the pool still holds are everything it was paid
    assert pool.claimed + pool.unclaimed == first.collected + second.collected
