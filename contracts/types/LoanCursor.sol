// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice A loan's schedule cursor, the one storage word every repayment reads and writes:
/// outstanding O_k (bits 0-95), installment amount A (96-191), current installment k (192-207, 1-based; periods + 1
/// once repaid), penalty checkpoint (208-239, uint32 seconds: valid until 2106) and installments completed on time
/// (240-255). docs/ledger-spec.md, "Waterfall" and "Schedule".
/// @dev Bounds that keep every field in its bits: principal < 2^96 (checked at origination) bounds O_k; A < 2^96
/// (checked at origination and at re-amortization); k <= 601; onTime <= 600.
type LoanCursor is uint256;

using LoanCursorLibrary for LoanCursor global;

/// @title LoanCursorLibrary
/// @notice Typed getters and the one setter of the packed schedule cursor.
library LoanCursorLibrary {
    uint256 private constant MASK_96 = type(uint96).max;
    uint256 private constant MASK_16 = type(uint16).max;
    uint256 private constant MASK_32 = type(uint32).max;

    /// @notice O_k: the outstanding principal at the start of the current installment (after a default: the
    /// outstanding principal itself).
    function outstanding(LoanCursor c) internal pure returns (uint256) {
        return LoanCursor.unwrap(c) & MASK_96;
    }

    /// @notice A: the installment amount.
    function installmentAmount(LoanCursor c) internal pure returns (uint256) {
        return (LoanCursor.unwrap(c) >> 96) & MASK_96;
    }

    /// @notice k: the current installment, 1-based.
    function current(LoanCursor c) internal pure returns (uint256) {
        return (LoanCursor.unwrap(c) >> 192) & MASK_16;
    }

    /// @notice The time penalty was last accrued up to.
    function penaltyCheckpoint(LoanCursor c) internal pure returns (uint256) {
        return (LoanCursor.unwrap(c) >> 208) & MASK_32;
    }

    /// @notice Installments completed on time.
    function onTime(LoanCursor c) internal pure returns (uint256) {
        return LoanCursor.unwrap(c) >> 240;
    }

    /// @notice A cursor from its fields; each must fit its bits (see the type's bounds).
    function pack(uint256 outstanding_, uint256 amount, uint256 k, uint256 checkpoint, uint256 onTime_)
        internal
        pure
        returns (LoanCursor)
    {
        return LoanCursor.wrap(outstanding_ | (amount << 96) | (k << 192) | (checkpoint << 208) | (onTime_ << 240));
    }

    /// @notice The cursor with another installment amount A (< 2^96).
    function withInstallmentAmount(LoanCursor c, uint256 amount) internal pure returns (LoanCursor) {
        return LoanCursor.wrap((LoanCursor.unwrap(c) & ~(MASK_96 << 96)) | (amount << 96));
    }

    /// @notice The cursor with another outstanding O (< 2^96).
    function withOutstanding(LoanCursor c, uint256 outstanding_) internal pure returns (LoanCursor) {
        return LoanCursor.wrap((LoanCursor.unwrap(c) & ~MASK_96) | outstanding_);
    }

    /// @notice The cursor with another penalty checkpoint (uint32 seconds).
    function withCheckpoint(LoanCursor c, uint256 checkpoint) internal pure returns (LoanCursor) {
        return LoanCursor.wrap((LoanCursor.unwrap(c) & ~(MASK_32 << 208)) | (checkpoint << 208));
    }
}
