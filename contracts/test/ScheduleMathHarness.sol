// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ScheduleMath} from "../libraries/ScheduleMath.sol";

/// @title ScheduleMathHarness
/// @notice Test-only external wrappers of `ScheduleMath`, so the tests can compare it with `pylender.schedule`.
/// @dev Never deployed for real.
contract ScheduleMathHarness {
    /// @notice See `ScheduleMath.interest`.
    function interest(uint256 outstanding, uint256 annualRateBps, uint256 periodSeconds)
        external
        pure
        returns (uint256)
    {
        return ScheduleMath.interest(outstanding, annualRateBps, periodSeconds);
    }

    /// @notice See `ScheduleMath.installmentAmount`.
    function installmentAmount(
        uint8 method,
        uint256 principal,
        uint256 annualRateBps,
        uint256 periodSeconds,
        uint256 periods
    ) external pure returns (uint256) {
        return ScheduleMath.installmentAmount(method, principal, annualRateBps, periodSeconds, periods);
    }

    /// @notice See `ScheduleMath.installment`.
    function installment(
        uint8 method,
        uint256 amountA,
        uint256 outstanding,
        uint256 annualRateBps,
        uint256 periodSeconds,
        bool isLast
    ) external pure returns (uint256 interestDue, uint256 principalDue) {
        return ScheduleMath.installment(method, amountA, outstanding, annualRateBps, periodSeconds, isLast);
    }

    /// @notice See `ScheduleMath.penalty`.
    function penalty(uint256 unpaid, uint256 penaltyRateBps, uint256 elapsed) external pure returns (uint256) {
        return ScheduleMath.penalty(unpaid, penaltyRateBps, elapsed);
    }

    /// @notice See `ScheduleMath.rpow`.
    function rpow(uint256 x, uint256 n) external pure returns (uint256) {
        return ScheduleMath.rpow(x, n);
    }

    /// @notice The whole schedule, as the ledger walks it: interest and principal of every installment.
    /// @dev Lets the tests compare a full Solidity schedule with `pylender.schedule.build_schedule` in one call.
    function schedule(uint8 method, uint256 principal, uint256 annualRateBps, uint256 periodSeconds, uint256 periods)
        external
        pure
        returns (uint256 amountA, uint256[] memory interests, uint256[] memory principals)
    {
        amountA = ScheduleMath.installmentAmount(method, principal, annualRateBps, periodSeconds, periods);
        interests = new uint256[](periods);
        principals = new uint256[](periods);
        uint256 outstanding = principal;
        for (uint256 k; k < periods; ++k) {
            (interests[k], principals[k]) = ScheduleMath.installment(
                method, amountA, outstanding, annualRateBps, periodSeconds, k + 1 == periods
            );
            outstanding -= principals[k];
        }
    }
}
