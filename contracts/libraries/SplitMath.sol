// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title SplitMath
/// @notice Pure split arithmetic of the co-lending ledger (docs/ledger-spec.md, "Splitting") and the packing of
/// tranches (uint16 institution index, uint16 share in bps) eight to a storage word.
/// @dev Entitlements round down: a lender's cumulative credit on a component with cumulative C is
/// floor(C * share / BPS); the < 16 leftover units go to the lead lender when the loan ends.
library SplitMath {
    /// @notice Basis points in one whole.
    uint256 internal constant BPS = 10_000;
    /// @notice Bits of one packed tranche entry.
    uint256 internal constant ENTRY_BITS = 32;
    /// @notice Tranche entries per storage word.
    uint256 internal constant PER_WORD = 8;

    /// @notice floor(amount * bps / BPS): a lender's cumulative credit, a reserve part or a tranche amount.
    function bpsOf(uint256 amount, uint256 bps) internal pure returns (uint256) {
        return Math.mulDiv(amount, bps, BPS); // floor: the remainder stays with the component (lead at the end)
    }

    /// @notice floor(floor(C * share / BPS) * reserveBps / BPS): the part of a lender's cumulative income credit
    /// `C * share` held in its reserve.
    function reserveOf(uint256 cumulativeIncome, uint256 shareBps, uint256 reserveBps)
        internal
        pure
        returns (uint256)
    {
        return bpsOf(bpsOf(cumulativeIncome, shareBps), reserveBps);
    }

    /// @notice Packs one tranche entry: low 16 bits the institution index, next 16 bits the share.
    function pack(uint16 institution, uint16 shareBps) internal pure returns (uint256) {
        return uint256(institution) | (uint256(shareBps) << 16);
    }

    /// @notice Unpacks entry `slot` (0..7) of a tranche word.
    function unpack(uint256 word, uint256 slot) internal pure returns (uint16 institution, uint16 shareBps) {
        uint256 entry = word >> (slot * ENTRY_BITS);
        institution = uint16(entry);
        shareBps = uint16(entry >> 16);
    }
}
