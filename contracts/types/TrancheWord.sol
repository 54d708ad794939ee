// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Ten tranches of a loan in one storage word, lead first: entry t sits at bits 25t..25t+24 as the
/// institution index (11 bits) and the share in bps (14 bits). Ten to a word keeps a loan of up to ten lenders at
/// one tranche read per repayment; a loan has at most two words (MAX_TRANCHES = 16).
type TrancheWord is uint256;

using TrancheWordLibrary for TrancheWord global;

/// @title TrancheWordLibrary
/// @notice Packing of tranche entries (institution index, share).
library TrancheWordLibrary {
    /// @notice Entries per word.
    uint256 internal constant PER_WORD = 10;
    /// @notice Bits of one entry.
    uint256 internal constant ENTRY_BITS = 25;
    /// @notice The largest institution index an entry holds (11 bits).
    uint256 internal constant MAX_INSTITUTION = 2047;

    /// @notice Entry `slot` (0..9): the institution index and the share.
    function at(TrancheWord w, uint256 slot) internal pure returns (uint16 institution, uint16 shareBps) {
        uint256 entry = TrancheWord.unwrap(w) >> (slot * ENTRY_BITS);
        institution = uint16(entry & 0x7ff);
        shareBps = uint16((entry >> 11) & 0x3fff);
    }

    /// @notice The first entry of the word (entry 0): institution index and share. With `rest`, a loop reads the
    /// entries in order by shifting instead of multiplying.
    function next(TrancheWord w) internal pure returns (uint256 institution, uint256 shareBps) {
        uint256 v = TrancheWord.unwrap(w);
        return (v & 0x7ff, (v >> 11) & 0x3fff);
    }

    /// @notice The word without its first entry (entry t + 1 becomes entry t).
    function rest(TrancheWord w) internal pure returns (TrancheWord) {
        return TrancheWord.wrap(TrancheWord.unwrap(w) >> ENTRY_BITS);
    }

    /// @notice The institution index of entry `slot` (0..9).
    function institutionAt(TrancheWord w, uint256 slot) internal pure returns (uint16) {
        return uint16((TrancheWord.unwrap(w) >> (slot * ENTRY_BITS)) & 0x7ff);
    }

    /// @notice The word with entry `slot`'s share replaced by `shareBps` (<= 10,000); its institution stays.
    function withShare(TrancheWord w, uint256 slot, uint256 shareBps) internal pure returns (TrancheWord) {
        uint256 shift = slot * ENTRY_BITS + 11;
        return TrancheWord.wrap((TrancheWord.unwrap(w) & ~(uint256(0x3fff) << shift)) | (shareBps << shift));
    }

    /// @notice The word with entry `slot` set (it must be empty): `institution` <= 2047, `shareBps` <= 10,000.
    function withEntry(TrancheWord w, uint256 slot, uint256 institution, uint256 shareBps)
        internal
        pure
        returns (TrancheWord)
    {
        return TrancheWord.wrap(TrancheWord.unwrap(w) | ((institution | (shareBps << 11)) << (slot * ENTRY_BITS)));
    }
}
