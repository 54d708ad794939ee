// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice One holder's offsets on a loan's income and principal credits in one storage word
/// (docs/ledger-spec.md, "Participations"): credit = floor((C * share + offset) / BPS). Each offset is a signed
/// number of 128 bits kept with a bias of 2^127 (income in bits 0-127, principal in bits 128-255), so a word
/// holding two zero offsets is not zero: an offer allocates the words its acceptance will write. The zero word
/// (never allocated) also means two zero offsets.
type OffsetWord is uint256;

using OffsetWordLibrary for OffsetWord global;

/// @title OffsetWordLibrary
/// @notice Packing of a holder's income and principal offsets.
library OffsetWordLibrary {
    uint256 private constant BIAS = 1 << 127;
    uint256 private constant MASK_128 = type(uint128).max;

    /// @notice Two zero offsets, allocated (non-zero).
    OffsetWord internal constant ZERO = OffsetWord.wrap((BIAS << 128) | BIAS);

    /// @notice The income and principal offsets (0 and 0 for the zero word).
    function offsets(OffsetWord w) internal pure returns (int256 income, int256 principal) {
        uint256 v = OffsetWord.unwrap(w);
        if (v == 0) return (0, 0);
        income = int256(v & MASK_128) - int256(BIAS);
        principal = int256(v >> 128) - int256(BIAS);
    }

    /// @notice The word of the offsets `income` and `principal`; reverts like SafeCast unless each is above
    /// -2^127 and below 2^127 (-2^127 itself is excluded: two of them would make the zero word).
    function pack(int256 income, int256 principal) internal pure returns (OffsetWord) {
        return OffsetWord.wrap(_biased(income) | (_biased(principal) << 128));
    }

    function _biased(int256 x) private pure returns (uint256) {
        if (x <= type(int128).min || x > type(int128).max) revert SafeCast.SafeCastOverflowedIntDowncast(128, x);
        return uint256(x + int256(BIAS));
    }
}
