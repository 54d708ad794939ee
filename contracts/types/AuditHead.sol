// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The ledger's audit head and reentrancy lock in 248 bits, stored beside OpenZeppelin Pausable's flag so
/// that the pause check every call makes warms it: the sequence number of the last record (bits 0-54), the lock
/// (bit 55: set only while a call that moves tokens runs) and the 192-bit chain hash (bits 56-247).
/// docs/ledger-spec.md, "Audit chain".
/// @dev A head as emitted and returned by `auditHead()` never has the lock bit: seq < 2^55 (3.6e16 records), so
/// bits 0-55 read as the 56-bit sequence number the spec names.
type AuditHead is uint248;

using AuditHeadLibrary for AuditHead global;

/// @title AuditHeadLibrary
/// @notice The hash-chain step and the lock bit of the packed audit head.
library AuditHeadLibrary {
    uint256 private constant SEQ_MASK = (1 << 55) - 1;
    uint256 private constant LOCK = 1 << 55;
    uint256 private constant HASH_MASK = type(uint248).max ^ ((1 << 56) - 1);

    /// @notice The head after a record hashing to `digest`: bits 56-247 of the digest and the next seq. Keeps the
    /// lock bit as it is.
    function next(AuditHead h, bytes32 digest) internal pure returns (AuditHead) {
        uint256 v = AuditHead.unwrap(h);
        unchecked {
            // seq < 2^55 - 1 for any conceivable ledger: the increment cannot carry into the lock bit
            return AuditHead.wrap(uint248((uint256(digest) & HASH_MASK) | (v & LOCK) | ((v & SEQ_MASK) + 1)));
        }
    }

    /// @notice The head as the records and `auditHead()` carry it (the lock bit cleared).
    function value(AuditHead h) internal pure returns (bytes32) {
        return bytes32(uint256(AuditHead.unwrap(h)) & ~LOCK);
    }

    /// @notice Whether a call that moves tokens is running.
    function isLocked(AuditHead h) internal pure returns (bool) {
        return AuditHead.unwrap(h) & LOCK != 0;
    }

    /// @notice The head with the lock set.
    function locked(AuditHead h) internal pure returns (AuditHead) {
        return AuditHead.wrap(AuditHead.unwrap(h) | uint248(LOCK));
    }

    /// @notice The head with the lock cleared.
    function unlocked(AuditHead h) internal pure returns (AuditHead) {
        return AuditHead.wrap(AuditHead.unwrap(h) & ~uint248(LOCK));
    }
}
