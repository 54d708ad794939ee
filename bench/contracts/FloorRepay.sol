// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title FloorRepay
/// @notice Benchmark reference: the least a repayment can cost - pulling the payment in, nothing else.
/// @dev Never deployed for real. The ledger's repay gas is reported as a ratio to this contract's.
contract FloorRepay {
    using SafeERC20 for IERC20;

    IERC20 public immutable TOKEN;

    constructor(IERC20 token) {
        TOKEN = token;
    }

    /// @notice Pulls `amount` from the caller; `loanId` only makes the calldata the ledger's shape.
    function repay(uint256 loanId, uint256 amount) external {
        loanId;
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
    }
}
