// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

import {ILoanPool} from "../interfaces/ILoanPool.sol";

/// @title PoolClassToken
/// @notice One class of a LoanPool (senior or junior): 1 token per unit of principal subscribed, in the settlement
/// token's decimals. Only the pool mints; every balance change first lets the pool checkpoint both holders' claims
/// (docs/ledger-spec.md, "Loan pools"), so a transfer leaves what accrued before it with the sender.
contract PoolClassToken is ERC20 {
    /// @notice The pool: the only minter, called back before every transfer.
    address public immutable POOL;
    uint8 private immutable DECIMALS;

    /// @notice Only the pool may mint.
    /// @param caller The caller.
    error NotPool(address caller);

    /// @param name_ The token's name.
    /// @param symbol_ The token's symbol.
    /// @param decimals_ The settlement token's decimals.
    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        POOL = msg.sender;
        DECIMALS = decimals_;
    }

    /// @notice Mints `amount` to `to` (the pool, at a subscription).
    /// @param to The investor.
    /// @param amount The amount subscribed.
    function mint(address to, uint256 amount) external {
        if (msg.sender != POOL) revert NotPool(msg.sender);
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return DECIMALS;
    }

    /// @dev The pool checkpoints both holders before the balances change (a claim accrues on the balance held).
    function _update(address from, address to, uint256 value) internal override {
        ILoanPool(POOL).onClassTransfer(from, to);
        super._update(from, to, value);
    }
}
