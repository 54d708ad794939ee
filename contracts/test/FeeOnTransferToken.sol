// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferToken
/// @notice Test token that burns 1% of every transfer (the recipient gets 99%); anyone may mint. The ledger must
/// reject it rather than book amounts it never received. Never deploy for real.
contract FeeOnTransferToken is ERC20 {
    /// @notice Fee in basis points burnt on every transfer.
    uint256 public constant FEE_BPS = 100;

    constructor() ERC20("Fee Token", "FEE") {}

    /// @notice 6 decimals.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to` (test only: no access control).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @dev Burns FEE_BPS of every transfer between two accounts (mints and burns are exempt).
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value * FEE_BPS / 10_000; // floor: the fee rounds down
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
