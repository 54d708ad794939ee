// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice An institution's balances in one storage word, so that a credit is one read and one write:
/// withdrawable (bits 0-127) and reserve (bits 128-255). docs/ledger-spec.md, "Splitting".
type AccountWord is uint256;

using AccountWordLibrary for AccountWord global;

/// @title AccountWordLibrary
/// @notice Typed getters and checked updates of the packed account word.
library AccountWordLibrary {
    uint256 private constant MASK_128 = type(uint128).max;

    /// @notice What the institution may withdraw.
    function withdrawable(AccountWord a) internal pure returns (uint256) {
        return AccountWord.unwrap(a) & MASK_128;
    }

    /// @notice What the institution holds in its risk reserve.
    function reserve(AccountWord a) internal pure returns (uint256) {
        return AccountWord.unwrap(a) >> 128;
    }

    /// @notice The word from its fields; reverts like SafeCast if either passes 128 bits.
    function pack(uint256 withdrawable_, uint256 reserve_) internal pure returns (AccountWord) {
        if ((withdrawable_ | reserve_) >> 128 != 0) {
            revert SafeCast.SafeCastOverflowedUintDowncast(128, withdrawable_ > reserve_ ? withdrawable_ : reserve_);
        }
        return AccountWord.wrap(withdrawable_ | (reserve_ << 128));
    }

    /// @notice The word with `wDelta` more withdrawable and `resDelta` more reserve (each delta < 2^255).
    function add(AccountWord a, uint256 wDelta, uint256 resDelta) internal pure returns (AccountWord) {
        return pack(withdrawable(a) + wDelta, reserve(a) + resDelta);
    }
}
