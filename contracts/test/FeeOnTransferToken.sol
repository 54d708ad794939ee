// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferToken
/// @notice Test token that burns 1% of every transfer (the recipient gets 99%) until anyone sets another fee;
/// anyone may mint. The ledger must reject it rather than book amounts it never received. Never deploy for real.
contract FeeOnTransferToken is ERC20 {
    /// @notice Fee in basis points burnt on every transfer (1 % at deployment).
    uint256 public feeBps = 100;

    constructor() ERC20("Fee Token", "FEE") {}

    /// @notice 6 decimals.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to` (test only: no access control).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets the fee (test only: no access control): 0 lets a test build a loan before the fee starts.
    function setFeeBps(uint256 bps) external {
        feeBps = bps;
    }

    /// @dev Burns feeBps of every transfer between two accounts (mints and burns are exempt).
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value * feeBps / 10_000; // floor: the fee rounds down
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
