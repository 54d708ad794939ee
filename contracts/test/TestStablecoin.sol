// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestStablecoin
/// @notice A 6-decimal stable token for local chains and tests; anyone may mint. Never deploy for real.
contract TestStablecoin is ERC20 {
    constructor() ERC20("Test Stablecoin", "TUSD") {}

    /// @notice 6 decimals, like USDC and USDT.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to` (test only: no access control).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
