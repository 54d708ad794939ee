// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AuditHead} from "../types/AuditHead.sol";

/// @title AuditChain
/// @notice The audit record (docs/ledger-spec.md, "Audit chain"): every state change hashes its record onto the
/// previous head, advances the head and emits the record's event with the new head as its last argument.
/// @dev A record is built once, as `abi.encode(bytes32(0), topic0, <the event's arguments but the head, in
/// declaration order>)`: word 0 is a placeholder for the previous head, so the bytes hashed are exactly
/// abi.encode(prev, topic0, ...) whatever the arguments' types. `append` finishes a record of a static event (every
/// argument a value type or a static struct, the indexed ones first) that ends with one more placeholder word for
/// the head: that word and the words after the topics are then the event's data, so the record is also the log.
/// Events with dynamic arguments (InstitutionRegistered, LoanOriginated) take `advance` and an `emit`.
library AuditChain {
    /// @notice Hashes `rec` (previous-head placeholder first, no head placeholder) onto `prev`; returns the new head.
    function advance(AuditHead prev, bytes memory rec) internal pure returns (AuditHead) {
        bytes32 p = prev.value();
        bytes32 digest;
        assembly ("memory-safe") {
            mstore(add(rec, 32), p)
            digest := keccak256(add(rec, 32), mload(rec))
        }
        return prev.next(digest);
    }

    /// @notice Hashes the static record `rec` (placeholders first and last) onto `prev`, emits it as a log with
    /// `topics` indexed arguments (0 to 3) and the new head as its last data word; returns the new head.
    function append(AuditHead prev, bytes memory rec, uint256 topics) internal returns (AuditHead head) {
        bytes32 p = prev.value();
        bytes32 digest;
        uint256 len;
        assembly ("memory-safe") {
            len := mload(rec)
            mstore(add(rec, 32), p)
            digest := keccak256(add(rec, 32), sub(len, 32)) // the head placeholder is not hashed
        }
        head = prev.next(digest);
        bytes32 h = head.value();
        assembly ("memory-safe") {
            mstore(add(rec, len), h) // the last word: rec + 32 + len - 32
            let topic0 := mload(add(rec, 64))
            let data := add(add(rec, 96), shl(5, topics)) // after the length word, prev, topic0 and the topics
            let size := sub(len, add(64, shl(5, topics)))
            switch topics
            case 0 { log1(data, size, topic0) }
            case 1 { log2(data, size, topic0, mload(add(rec, 96))) }
            case 2 { log3(data, size, topic0, mload(add(rec, 96)), mload(add(rec, 128))) }
            default { log4(data, size, topic0, mload(add(rec, 96)), mload(add(rec, 128)), mload(add(rec, 160))) }
        }
    }
}
