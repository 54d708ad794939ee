// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerTypes} from "./interfaces/ILedgerTypes.sol";

/// @title LendingPolicy
/// @notice The regulatory policy of the ledger (rate, penalty and size caps, minimum platform share, minimum
/// reserve, per-lender exposure cap, default timing) and the checks that enforce it.
/// @dev Abstract module: the ledger stores the parameters, sets them through `_setPolicy` and audits the change.
abstract contract LendingPolicy is ILedgerTypes {
    /// @dev The current policy parameters (two slots).
    PolicyParams internal _policy;

    /// @dev Replaces the policy; the caller checks the role and writes the audit record.
    function _setPolicy(PolicyParams memory params) internal {
        _policy = params;
    }

    /// @dev The origination checks on rates, size and reserve (docs/ledger-spec.md, "Policy").
    function _checkTermsPolicy(LoanTerms memory terms) internal view {
        PolicyParams memory p = _policy;
        if (terms.annualRateBps > p.maxAnnualRateBps) revert RateAboveCap(terms.annualRateBps, p.maxAnnualRateBps);
        if (terms.penaltyRateBps > p.maxPenaltyRateBps) {
            revert PenaltyRateAboveCap(terms.penaltyRateBps, p.maxPenaltyRateBps);
        }
        if (terms.principal > p.maxPrincipal) revert PrincipalAboveCap(terms.principal, p.maxPrincipal);
        if (terms.reserveBps < p.minReserveBps) revert ReserveBelowMinimum(terms.reserveBps, p.minReserveBps);
    }

    /// @dev Co-lending mode (more than one tranche): the platforms' shares must reach the policy minimum.
    function _checkPlatformShare(uint256 loanId, uint256 trancheCount, uint256 platformShareBps) internal view {
        uint256 minBps = _policy.minPlatformShareBps;
        if (trancheCount > 1 && platformShareBps < minBps) {
            revert ShareBelowMinimum(loanId, platformShareBps, minBps);
        }
    }

    /// @dev The concentration limit, checked when a lender funds: `exposureAfter` includes the new tranche.
    function _checkExposure(address lender, uint256 exposureAfter) internal view {
        uint256 cap = _policy.maxLenderExposure;
        if (exposureAfter > cap) revert ExposureAboveCap(lender, exposureAfter, cap);
    }
}
