// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BlacklistToken
/// @notice Test token that refuses transfers to or from blacklisted addresses, as USDC and USDT can; anyone may mint
/// and blacklist. Never deploy for real.
contract BlacklistToken is ERC20 {
    /// @notice The address is blacklisted.
    /// @param account The address.
    error Blacklisted(address account);

    mapping(address account => bool) private _blacklisted;

    constructor() ERC20("Blacklist Token", "BLK") {}

    /// @notice Six decimals, like the stablecoins that blacklist.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to` (test only: no access control).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Blacklists `account` (test only: no access control).
    function blacklist(address account) external {
        _blacklisted[account] = true;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (_blacklisted[from]) revert Blacklisted(from);
        if (_blacklisted[to]) revert Blacklisted(to);
        super._update(from, to, value);
    }
}
