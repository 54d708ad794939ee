"""ScheduleMath.sol and pylender.schedule return the same numbers, and revert / raise in the same cases.

Each property calls the harness on py-evm and the Python mirror with the same inputs. A Python exception is
mapped to the exact revert data the library must produce (panic code or custom error with its argument).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_abi import encode
from eth_utils import keccak
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pylender import errors
from pylender import schedule as sm
from pylender.values import DAY, YEAR

U256 = 2**256 - 1
PANIC = keccak(text="Panic(uint256)")[:4]

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

uint256s = st.one_of(st.integers(0, 2**128), st.integers(0, U256), st.sampled_from([0, 1, U256, 2**128, 2**96]))
principals = st.one_of(st.integers(1, 2**96), st.integers(0, 2**128), st.integers(0, U256))
rates = st.one_of(st.integers(0, 2**16 - 1), st.integers(0, U256))
period_seconds = st.one_of(
    st.sampled_from([1, DAY, 7 * DAY, 30 * DAY, YEAR // 12, YEAR, 2**32 - 1]),
    st.integers(0, 2**32 - 1),
    st.integers(0, U256),
)
methods = st.integers(0, 3)  # 3 is not a method: UnknownRepaymentMethod


def _expected_revert(exc: Exception) -> bytes:
    if isinstance(exc, ZeroDivisionError):
        return PANIC + encode(["uint256"], [0x12])
    if isinstance(exc, errors.MathOverflow):
        return PANIC + encode(["uint256"], [0x11])
    if isinstance(exc, errors.UnknownRepaymentMethod):
        return keccak(text="UnknownRepaymentMethod(uint8)")[:4] + encode(["uint8"], [exc.method])
    if isinstance(exc, errors.ZeroPeriods):
        return keccak(text="ZeroPeriods(uint256)")[:4] + encode(["uint256"], [exc.periods])
    raise exc


def assert_same(harness: Any, fn_name: str, args: tuple, python: Callable[[], Any]) -> None:
    """The harness call and the Python function agree: same value, or same revert data."""
    try:
        expected = python()
    except (ArithmeticError, errors.ContractError) as exc:
        expected_revert = _expected_revert(exc)
        try:
            got = harness.call(fn_name, *args)
        except harness.Reverted as err:
            assert err.data == expected_revert
        else:
            raise AssertionError(f"Python raised {exc!r} but Solidity returned {got}") from exc
        return
    got = harness.call(fn_name, *args)
    assert got == (list(expected) if isinstance(expected, tuple) else expected)


@SETTINGS
@given(outstanding=uint256s, rate=rates, seconds=period_seconds)
@example(outstanding=U256, rate=10_000, seconds=YEAR)  # exactly U256: fits
@example(outstanding=U256, rate=10_001, seconds=YEAR)  # mulDiv overflow
@example(outstanding=1, rate=2**200, seconds=2**60)  # rate * seconds overflows
def test_interest_matches(harness, outstanding, rate, seconds):
    assert_same(harness, "interest", (outstanding, rate, seconds), lambda: sm.interest(outstanding, rate, seconds))


@SETTINGS
@given(unpaid=uint256s, rate=rates, elapsed=period_seconds)
def test_penalty_matches(harness, unpaid, rate, elapsed):
    assert_same(harness, "penalty", (unpaid, rate, elapsed), lambda: sm.penalty(unpaid, rate, elapsed))


@SETTINGS
@given(
    x=st.one_of(st.integers(sm.RAY, 2 * sm.RAY), st.integers(0, 10 * sm.RAY), st.integers(0, U256)),
    n=st.one_of(st.integers(0, 600), st.integers(0, 2**16)),
)
@example(x=2 * sm.RAY, n=10)
@example(x=2 * sm.RAY, n=600)  # 2^600 does not fit: panics in mulDiv
def test_rpow_matches(harness, x, n):
    assert_same(harness, "rpow", (x, n), lambda: sm.rpow(x, n))


@SETTINGS
@given(
    method=methods,
    principal=principals,
    rate=rates,
    seconds=period_seconds,
    periods=st.one_of(st.integers(0, 600), st.integers(0, U256)),
)
@example(method=0, principal=2**96, rate=2400, seconds=DAY, periods=600)
@example(method=0, principal=2**96, rate=65_535, seconds=YEAR, periods=600)  # (1 + 6.55)^600: rpow overflows
@example(method=0, principal=7, rate=0, seconds=DAY, periods=3)
@example(method=1, principal=7, rate=0, seconds=DAY, periods=0)
@example(method=3, principal=7, rate=0, seconds=DAY, periods=1)
def test_installment_amount_matches(harness, method, principal, rate, seconds, periods):
    assert_same(
        harness,
        "installmentAmount",
        (method, principal, rate, seconds, periods),
        lambda: sm.installment_amount(method, principal, rate, seconds, periods),
    )


@SETTINGS
@given(
    method=methods,
    amount_a=uint256s,
    outstanding=uint256s,
    rate=rates,
    seconds=period_seconds,
    is_last=st.booleans(),
)
def test_installment_matches(harness, method, amount_a, outstanding, rate, seconds, is_last):
    assert_same(
        harness,
        "installment",
        (method, amount_a, outstanding, rate, seconds, is_last),
        lambda: sm.installment(method, amount_a, outstanding, rate, seconds, is_last),
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.integers(0, 2),
    principal=st.one_of(st.integers(1, 10**12), st.integers(1, 2**96)),
    rate=st.integers(0, 3600),
    seconds=st.sampled_from([DAY, 7 * DAY, YEAR // 12, 30 * DAY]),
    periods=st.one_of(st.integers(1, 60), st.integers(1, 600)),
)
@example(method=0, principal=2**96, rate=2400, seconds=YEAR // 12, periods=600)
def test_whole_schedule_matches(harness, method, principal, rate, seconds, periods):
    amount_a, interests, principals_ = harness.call("schedule", method, principal, rate, seconds, periods)
    rows = sm.build_schedule(principal, rate, seconds, periods, method)
    assert amount_a == sm.installment_amount(method, principal, rate, seconds, periods)
    assert list(interests) == [row.interest for row in rows]
    assert list(principals_) == [row.principal for row in rows]
    assert sum(principals_) == principal
