// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title ScheduleMath
/// @notice Pure repayment-schedule arithmetic of the co-lending ledger (docs/ledger-spec.md, "Schedule").
/// @dev Every division states its rounding: dues (interest, penalty, installment amounts) round up, in the lenders'
/// favour. `pylender/schedule.py` mirrors every function 1:1 and the
/// tests compare both on the same inputs, so any change here must be made there too.
library ScheduleMath {
    /// @notice Basis points in one whole.
    uint256 internal constant BPS = 10_000;
    /// @notice Seconds in a year (ACT/365 fixed).
    uint256 internal constant YEAR = 31_536_000;
    /// @notice Fixed-point unit of `rpow` (27 decimals).
    uint256 internal constant RAY = 1e27;

    /// @notice `RepaymentMethod.EqualInstallment` (等额本息): constant payment A, interest on the outstanding.
    uint8 internal constant EQUAL_INSTALLMENT = 0;
    /// @notice `RepaymentMethod.EqualPrincipal` (等额本金): constant principal floor(P/n), interest on the outstanding.
    uint8 internal constant EQUAL_PRINCIPAL = 1;
    /// @notice `RepaymentMethod.InterestFirst` (先息后本): interest every period, all principal with the last.
    uint8 internal constant INTEREST_FIRST = 2;

    /// @notice The repayment method code is not one of the three methods.
    /// @param method The rejected code.
    error UnknownRepaymentMethod(uint8 method);

    /// @notice A schedule needs at least one period.
    /// @param periods The rejected number of periods.
    error ZeroPeriods(uint256 periods);

    /// @notice Interest of one period on `outstanding`:
    /// ceil(outstanding * annualRateBps * periodSeconds / (BPS * YEAR)).
    /// @dev Rounds up (a due). Reverts (checked arithmetic) only if a product passes 2^256.
    function interest(uint256 outstanding, uint256 annualRateBps, uint256 periodSeconds)
        internal
        pure
        returns (uint256)
    {
        // Checked products: a ledger's outstanding (< 2^96) times rate * period (< 2^48) is far below 2^256, so the
        // plain product is exact; it reverts (panic 0x11) where a 512-bit mulDiv would not, only for absurd inputs.
        return Math.ceilDiv(outstanding * (annualRateBps * periodSeconds), BPS * YEAR);
    }

    /// @notice The per-loan amount A stored at disbursement (and at a re-amortizing prepayment).
    /// @dev EqualInstallment: rRay = floor(a * RAY / b) with a = annualRateBps * periodSeconds, b = BPS * YEAR;
    /// f = rpow(RAY + rRay, n); A = mulDiv(P, mulDiv(rRay, f, f - RAY, up), RAY, up), the annuity payment rounded up
    /// (both roundings up). mulDiv keeps every intermediate in 512 bits, so nothing overflows for P up to 2^128 and
    /// n ≤ 600 while (1 + r)^n < 2^256 / RAY ≈ 1.2e50 (24 %/year paid monthly over 600 periods: 1.02^600 ≈ 1.4e5);
    /// beyond that (absurd terms, e.g. 100-year periods) `rpow` reverts with panic 0x11.
    /// Rate 0: A = ceil(P / n). EqualPrincipal: A = floor(P / n) (the last installment takes the remainder).
    /// InterestFirst: A = 0 (no principal before the last installment).
    function installmentAmount(
        uint8 method,
        uint256 principal,
        uint256 annualRateBps,
        uint256 periodSeconds,
        uint256 periods
    ) internal pure returns (uint256) {
        if (periods == 0) revert ZeroPeriods(periods);
        if (method == EQUAL_INSTALLMENT) {
            uint256 a = annualRateBps * periodSeconds;
            if (a == 0) return Math.ceilDiv(principal, periods);
            uint256 rRay = Math.mulDiv(a, RAY, BPS * YEAR, Math.Rounding.Floor);
            // a >= 1 and BPS * YEAR < RAY, so rRay >= 1 and f >= RAY + rRay > RAY: the denominator below is > 0.
            uint256 f = rpow(RAY + rRay, periods);
            uint256 factor = Math.mulDiv(rRay, f, f - RAY, Math.Rounding.Ceil);
            return Math.mulDiv(principal, factor, RAY, Math.Rounding.Ceil);
        }
        if (method == EQUAL_PRINCIPAL) return principal / periods; // floor: the remainder goes to the last installment
        if (method == INTEREST_FIRST) return 0;
        revert UnknownRepaymentMethod(method);
    }

    /// @notice Interest and principal of one installment, given the outstanding principal at its start.
    /// @param method The repayment method code.
    /// @param amountA The stored per-loan amount A (see `installmentAmount`).
    /// @param outstanding The outstanding principal O_k at the start of the installment.
    /// @param isLast Whether this is the last installment (it takes all remaining principal).
    /// @return interestDue interest(O_k), rounded up.
    /// @return principalDue EqualInstallment: min(max(A - interest, 0), O_k); EqualPrincipal: min(A, O_k);
    /// InterestFirst: 0; the last installment: O_k.
    function installment(
        uint8 method,
        uint256 amountA,
        uint256 outstanding,
        uint256 annualRateBps,
        uint256 periodSeconds,
        bool isLast
    ) internal pure returns (uint256 interestDue, uint256 principalDue) {
        interestDue = interest(outstanding, annualRateBps, periodSeconds);
        if (method == EQUAL_INSTALLMENT) {
            if (isLast) return (interestDue, outstanding);
            // Interest above A (a rate so high the annuity no longer amortizes) leaves no principal, never negative.
            principalDue = Math.min(amountA > interestDue ? amountA - interestDue : 0, outstanding);
        } else if (method == EQUAL_PRINCIPAL) {
            principalDue = isLast ? outstanding : Math.min(amountA, outstanding);
        } else if (method == INTEREST_FIRST) {
            principalDue = isLast ? outstanding : 0;
        } else {
            revert UnknownRepaymentMethod(method);
        }
    }

    /// @notice Penalty interest on an overdue amount: ceil(unpaid * penaltyRateBps * elapsed / (BPS * YEAR)).
    /// @dev Rounds up (a due). The caller sums it per overdue installment.
    function penalty(uint256 unpaid, uint256 penaltyRateBps, uint256 elapsed) internal pure returns (uint256) {
        return Math.ceilDiv(unpaid * (penaltyRateBps * elapsed), BPS * YEAR); // checked products, as in `interest`
    }

    /// @notice Penalty interest on an overdue amount, exactly, as a numerator over BPS * YEAR:
    /// unpaid * penaltyRateBps * elapsed. The ledger sums these and rounds up once, when the penalty is owed.
    /// @dev Checked products: reverts only if one passes 2^256.
    function penaltyNumerator(uint256 unpaid, uint256 penaltyRateBps, uint256 elapsed)
        internal
        pure
        returns (uint256)
    {
        return unpaid * (penaltyRateBps * elapsed);
    }

    /// @notice x^n in RAY fixed point by exponentiation by squaring; every product is floor(x * y / RAY).
    /// @dev The multiplication order is fixed (it decides the rounding): z starts at x if n is odd, else RAY; then
    /// for each further bit of n, x = x*x and, if the bit is set, z = z*x (the DSMath layout, flooring). mulDiv
    /// reverts if a product exceeds 2^256 - 1; `pylender.schedule.rpow` raises OverflowError in the same case.
    function rpow(uint256 x, uint256 n) internal pure returns (uint256 z) {
        z = n % 2 != 0 ? x : RAY;
        for (n /= 2; n != 0; n /= 2) {
            x = Math.mulDiv(x, x, RAY);
            if (n % 2 != 0) z = Math.mulDiv(z, x, RAY);
        }
    }
}
