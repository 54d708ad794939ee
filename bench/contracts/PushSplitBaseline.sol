// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title PushSplitBaseline
/// @notice Benchmark reference: the naive co-lending split - on every repayment, transfer each lender its share.
/// @dev Never deployed for real. Shows what the ledger's pull accounting (credit now, withdraw once) saves.
contract PushSplitBaseline {
    using SafeERC20 for IERC20;

    struct Share {
        address lender;
        uint16 bps;
    }

    IERC20 public immutable TOKEN;
    mapping(uint256 loanId => Share[]) private _shares;

    constructor(IERC20 token) {
        TOKEN = token;
    }

    /// @notice Records the lenders of `loanId` and their shares (bps summing to 10,000).
    function setShares(uint256 loanId, address[] calldata lenders, uint16[] calldata bps) external {
        delete _shares[loanId];
        for (uint256 i = 0; i < lenders.length; ++i) {
            _shares[loanId].push(Share(lenders[i], bps[i]));
        }
    }

    /// @notice Pulls `amount` and pushes each lender floor(amount * bps / 10,000); the first takes the remainder.
    function repay(uint256 loanId, uint256 amount) external {
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
        Share[] storage shares = _shares[loanId];
        uint256 rest = amount;
        for (uint256 i = shares.length; i > 1; --i) {
            uint256 part = (amount * shares[i - 1].bps) / 10_000; // rounds down; the remainder goes to shares[0]
            rest -= part;
            TOKEN.safeTransfer(shares[i - 1].lender, part);
        }
        TOKEN.safeTransfer(shares[0].lender, rest);
    }
}
