// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {LedgerState} from "../types/LedgerState.sol";

/// @title Policy
/// @notice The regulatory policy (docs/ledger-spec.md, "Policy"): rate, penalty and size caps, the minimum platform
/// share in co-lending, the minimum reserve, the per-lender exposure cap and the default timing; the ledger stores
/// it, the admin replaces it (an audited record), and these checks enforce it.
library Policy {
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
