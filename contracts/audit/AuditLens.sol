// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title AuditLens
/// @notice Reads many views of one contract in a single `eth_call`. Never deployed: the auditor sends an `eth_call`
/// without `to` whose data is this creation code followed by the constructor arguments (a "deployless call"), and
/// the node runs the constructor. Works on any JSON-RPC node, without state overrides.
/// @dev The constructor always reverts with `LensAnswer`: what a constructor returns becomes contract code, which
/// EIP-170 caps at 24,576 bytes (about 24 `getLoan` results), while revert data has no such cap. Only `staticcall`
/// is used, so nothing can change state; a failed view is flagged, never skipped. The caller sizes `calls` to the
/// node's `eth_call` gas cap and EIP-3860's 49,152-byte limit on creation code (pylender/audit/lens.py).
contract AuditLens {
    /// @notice The lens's answer: for each call in order, one word `failed << 255 | returndatasize` followed by the
    /// call's return data (unpadded).
    /// @param answer The packed results.
    error LensAnswer(bytes answer);

    /// @notice Run every call in `calls` against `target` with `staticcall` and revert with `LensAnswer`.
    /// @param target The contract whose views are read (the ledger, or its token for `balanceOf`).
    /// @param calls ABI-encoded calldata of each view call.
    constructor(address target, bytes[] memory calls) {
        bytes4 selector = LensAnswer.selector;
        // The loop writes past the free-memory pointer without moving it: nothing else allocates before the
        // `revert`, which ends the execution. The error's selector, offset and length go in front afterwards.
        assembly {
            let count := mload(calls)
            let start := mload(0x40)
            let answer := add(start, 0x44)
            let ptr := answer
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                let data := mload(add(calls, mul(add(i, 1), 0x20)))
                let ok := staticcall(gas(), target, add(data, 0x20), mload(data), 0, 0)
                let size := returndatasize()
                mstore(ptr, or(shl(255, iszero(ok)), size))
                returndatacopy(add(ptr, 0x20), 0, size)
                ptr := add(ptr, add(0x20, size))
            }
            let length := sub(ptr, answer)
            mstore(ptr, 0) // zero padding of the last word
            mstore(start, selector)
            mstore(add(start, 0x04), 0x20)
            mstore(add(start, 0x24), length)
            revert(start, add(0x44, and(add(length, 0x1f), not(0x1f))))
        }
    }
}
