// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DecimalsToken
/// @notice Test token with decimals chosen at deployment (e.g. 0 or 18); anyone may mint. Never deploy for real.
contract DecimalsToken is ERC20 {
    uint8 private immutable DECIMALS;

    /// @param decimals_ The token's decimals.
    constructor(uint8 decimals_) ERC20("Decimals Token", "DEC") {
        DECIMALS = decimals_;
    }

    /// @notice The decimals chosen at deployment.
    function decimals() public view override returns (uint8) {
        return DECIMALS;
    }

    /// @notice Mints `amount` to `to` (test only: no access control).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
