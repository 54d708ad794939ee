// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {BPS, LedgerState} from "../types/LedgerState.sol";

/// @title Policy
/// @notice The regulatory policy (docs/ledger-spec.md, "Policy"): rate, penalty and size caps, the minimum platform
/// share in co-lending, the minimum reserve, the per-lender exposure cap and the default timing; the ledger stores
/// it, the admin replaces it (an audited record), and these checks enforce it.
library Policy {
    /// @dev Seconds in a year (ACT/365 fixed).
    uint256 private constant YEAR = 31_536_000;
    /// @dev The largest maxAnnualRateBps * maxTenorSeconds a policy may allow: 100 years at 100 % a year.
    uint256 internal constant RATE_TENOR_LIMIT = 100 * BPS * YEAR;

    /// @notice The origination checks on rates, size and reserve.
    function checkTerms(LedgerState storage s, ILedgerTypes.LoanTerms memory terms) internal view {
        ILedgerTypes.PolicyParams memory p = s.policy;
        if (terms.annualRateBps > p.maxAnnualRateBps) {
            revert ILedgerErrors.RateAboveCap(terms.annualRateBps, p.maxAnnualRateBps);
        }
        if (terms.penaltyRateBps > p.maxPenaltyRateBps) {
            revert ILedgerErrors.PenaltyRateAboveCap(terms.penaltyRateBps, p.maxPenaltyRateBps);
        }
        if (terms.principal > p.maxPrincipal) revert ILedgerErrors.PrincipalAboveCap(terms.principal, p.maxPrincipal);
        if (terms.reserveBps < p.minReserveBps) {
            revert ILedgerErrors.ReserveBelowMinimum(terms.reserveBps, p.minReserveBps);
        }
        if (terms.periodSeconds < p.minPeriodSeconds || terms.periodSeconds > p.maxPeriodSeconds) {
            revert ILedgerErrors.PeriodSecondsOutOfRange(terms.periodSeconds, p.minPeriodSeconds, p.maxPeriodSeconds);
        }
        uint256 tenor = uint256(terms.periods) * terms.periodSeconds;
        if (tenor > p.maxTenorSeconds) revert ILedgerErrors.TenorAboveCap(tenor, p.maxTenorSeconds);
    }

    /// @notice The cap on what a schedule actually charges: Σ interest_k * BPS * YEAR <= maxAnnualRateBps *
    /// periodSeconds * Σ O_k, i.e. every installment's interest, rounded up as charged, over the balances it is
    /// charged on, within the rate cap. `interestTotal` and `balanceTotal` are those sums.
    function checkEffectiveRate(
        LedgerState storage s,
        uint256 interestTotal,
        uint256 balanceTotal,
        uint256 periodSeconds
    ) internal view {
        uint256 cap = s.policy.maxAnnualRateBps;
        if (interestTotal * BPS * YEAR > cap * periodSeconds * balanceTotal) {
            // balanceTotal > 0 (principal > 0); rounded up: the smallest whole bps at or above the effective rate
            uint256 effective = Math.ceilDiv(interestTotal * BPS * YEAR, periodSeconds * balanceTotal);
            revert ILedgerErrors.EffectiveRateAboveCap(effective, cap);
        }
    }

    /// @notice Replaces the policy after `validate` (ICoLendingLedger.setPolicy; the ledger checks the role and
    /// the pause and writes the record). External: the one function of this library that is linked.
    /// @param s The ledger's storage.
    /// @param params The new policy.
    function set(LedgerState storage s, ILedgerTypes.PolicyParams calldata params) external {
        validate(params);
        s.policy = params;
    }

    /// @notice The checks of a new policy: period bounds > 0 and in order; the rate cap times the tenor cap within
    /// RATE_TENOR_LIMIT, which keeps (1 + r)^n of every admissible annuity far below what its fixed-point power
    /// can hold (n * ln(1 + r) <= rate * tenor / YEAR <= 100, against about 115 for 2^256 / RAY).
    function validate(ILedgerTypes.PolicyParams memory p) internal pure {
        if (p.minPeriodSeconds == 0 || p.minPeriodSeconds > p.maxPeriodSeconds) {
            revert ILedgerErrors.PeriodBoundsInvalid(p.minPeriodSeconds, p.maxPeriodSeconds);
        }
        if (uint256(p.maxAnnualRateBps) * p.maxTenorSeconds > RATE_TENOR_LIMIT) {
            revert ILedgerErrors.RateTenorAboveLimit(p.maxAnnualRateBps, p.maxTenorSeconds);
        }
    }

    /// @notice Co-lending (more than one tranche): the platforms' shares must reach the policy minimum.
    function checkPlatformShare(LedgerState storage s, uint256 loanId, uint256 trancheCount, uint256 platformShareBps)
        internal
        view
    {
        uint256 minBps = s.policy.minPlatformShareBps;
        if (trancheCount > 1 && platformShareBps < minBps) {
            revert ILedgerErrors.ShareBelowMinimum(loanId, platformShareBps, minBps);
        }
    }

    /// @notice The concentration limit, checked when a lender funds: `exposureAfter` includes the new tranche.
    function checkExposure(LedgerState storage s, address lender, uint256 exposureAfter) internal view {
        uint256 cap = s.policy.maxLenderExposure;
        if (exposureAfter > cap) revert ILedgerErrors.ExposureAboveCap(lender, exposureAfter, cap);
    }
}
