// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title NoReturnToken
/// @notice USDT-like test token: `transfer`, `transferFrom` and `approve` return nothing and revert on failure.
/// SafeERC20 must handle it. Anyone may mint. Never deploy for real.
contract NoReturnToken {
    /// @notice Emitted on every balance move.
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @notice Emitted on every approval.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice The token's balance of each account.
    mapping(address account => uint256) public balanceOf;
    /// @notice Allowances.
    mapping(address owner => mapping(address spender => uint256)) public allowance;
    /// @notice Total supply.
    uint256 public totalSupply;

    /// @notice 6 decimals.
    uint8 public constant decimals = 6;

    /// @notice A transfer or spend exceeds the balance or the allowance.
    error InsufficientFunds(address account, uint256 available, uint256 needed);

    /// @notice Mints `amount` to `to` (test only: no access control).
    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
        totalSupply += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Approves `spender` (no return value, like USDT).
    function approve(address spender, uint256 amount) external {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
    }

    /// @notice Transfers (no return value, like USDT).
    function transfer(address to, uint256 amount) external {
        _move(msg.sender, to, amount);
    }

    /// @notice Transfers from an allowance (no return value, like USDT).
    function transferFrom(address from, address to, uint256 amount) external {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed < amount) revert InsufficientFunds(msg.sender, allowed, amount);
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - amount;
        _move(from, to, amount);
    }

    function _move(address from, address to, uint256 amount) private {
        uint256 balance = balanceOf[from];
        if (balance < amount) revert InsufficientFunds(from, balance, amount);
        balanceOf[from] = balance - amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
