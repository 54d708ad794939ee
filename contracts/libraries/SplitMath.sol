// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title SplitMath
/// @notice The split arithmetic of the co-lending ledger (docs/ledger-spec.md, "Splitting"), the one place it is
/// written: a lender's cumulative credit on a component with cumulative C is floor(C * share / BPS), and each payment
/// credits the increase. The < 16 leftover units of a component go to the lead lender when the component is final.
library SplitMath {
    /// @notice Basis points in one whole.
    uint256 internal constant BPS = 10_000;

    /// @notice floor(amount * bps / BPS): a cumulative credit, a reserve part, a tranche amount or a service fee.
    /// @dev Checked arithmetic: reverts (panic 0x11) only for amount * bps >= 2^256, far beyond any uint128 amount.
    function bpsOf(uint256 amount, uint256 bps) internal pure returns (uint256) {
        return amount * bps / BPS; // floor: the remainder stays with the component (the lead's, once final)
    }

    /// @notice The increase of a cumulative floor credit when the cumulative goes from `before` to `after_`:
    /// floor(after_ * bps / BPS) - floor(before * bps / BPS).
    /// @dev Unchecked: the ledger's cumulative components are below 2^130 and bps <= BPS, so no product overflows;
    /// before <= after_ and the floor is monotone, so the difference cannot underflow.
    function increase(uint256 before, uint256 after_, uint256 bps) internal pure returns (uint256) {
        unchecked {
            return after_ * bps / BPS - before * bps / BPS;
        }
    }

    /// @notice A lender's credit when a loan's cumulative income goes from incB to incA and its cumulative principal
    /// from prB to prA: the increase of its floor share of each, the reserve part of its income credit
    /// (floor(credit * reserveBps / BPS), cumulatively) to `resDelta`, the rest to `wDelta` (withdrawable).
    /// Recoveries are credited with `increase`.
    /// @dev Unchecked, for the repayment path (once per lender): the ledger's components are below 2^130 and share,
    /// reserveBps <= BPS, so no product overflows; every "after" is at least its "before" and floors are monotone,
    /// so no difference underflows, and the reserve increase never exceeds the income credit's increase.
    // The reserve is a floor of the lender's floored income credit by design: dividing first is the rule.
    // slither-disable-start divide-before-multiply
    function lenderCredit(
        uint256 incB,
        uint256 incA,
        uint256 prB,
        uint256 prA,
        uint256 share,
        uint256 reserveBps
    ) internal pure returns (uint256 wDelta, uint256 resDelta) {
        unchecked {
            uint256 creditB = incB * share / BPS;
            uint256 creditA = incA * share / BPS;
            if (reserveBps != 0) resDelta = creditA * reserveBps / BPS - creditB * reserveBps / BPS;
            wDelta = creditA - creditB - resDelta + (prA * share / BPS - prB * share / BPS);
        }
    }
    // slither-disable-end divide-before-multiply

    /// @notice A holder's cumulative credit on a component with cumulative C after positions changed hands:
    /// floor((C * share + offset) / BPS) (docs/ledger-spec.md, "Participations"; offset 0: `bpsOf`).
    /// @dev C * share + offset is BPS times the holder's exact entitlement, never negative; C < 2^130 and
    /// |offset| < 2^127, so nothing overflows.
    function creditOf(uint256 total, uint256 share, int256 offset) internal pure returns (uint256) {
        return uint256(int256(total * share) + offset) / BPS;
    }

    /// @notice floor(floor(C * share / BPS) * reserveBps / BPS): the part of a lender's cumulative income credit held
    /// in its reserve.
    function reserveOf(uint256 cumulativeIncome, uint256 shareBps, uint256 reserveBps)
        internal
        pure
        returns (uint256)
    {
        return bpsOf(bpsOf(cumulativeIncome, shareBps), reserveBps);
    }
}
