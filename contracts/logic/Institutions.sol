// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {AccountWord} from "../types/AccountWord.sol";
import {Institution, LedgerState} from "../types/LedgerState.sol";
import {TrancheWordLibrary} from "../types/TrancheWord.sol";

/// @title Institutions
/// @notice The banks and platforms that fund loans and receive their credits (docs/ledger-spec.md,
/// "Institutions"): registration, and each institution's account (withdrawable, reserve, loss, exposure).
/// @dev Linked external library, run by `delegatecall` from CoLendingLedger; the ledger checks the role and the
/// pause, grants LENDER_ROLE and writes the record.
library Institutions {
    /// @notice Registers `account` under the next index.
    /// @param s The ledger's storage.
    /// @param account The institution's address (not zero, not registered yet).
    /// @param name A display name.
    /// @param isPlatform Whether its shares count towards the platforms' minimum share.
    /// @return index The new index (from 1; at most 2,047, the width of a tranche entry).
    function register(LedgerState storage s, address account, string calldata name, bool isPlatform)
        external
        returns (uint16 index)
    {
        if (account == address(0)) revert ILedgerErrors.ZeroAddress();
        if (s.indexOf[account] != 0) revert ILedgerErrors.InstitutionExists(account);
        if (s.institutionCount == TrancheWordLibrary.MAX_INSTITUTION) {
            revert ILedgerErrors.InstitutionLimitReached(TrancheWordLibrary.MAX_INSTITUTION);
        }
        index = ++s.institutionCount;
        s.indexOf[account] = index;
        Institution storage inst = s.institutions[index];
        inst.account = account;
        inst.isPlatform = isPlatform;
        inst.name = name;
    }

    /// @notice Moves institution `account` to `newAccount`: index, balances, tranches (by index) and fee-recipient
    /// role follow the index; the ledger moves LENDER_ROLE and writes the record.
    /// @param s The ledger's storage.
    /// @param account The institution's current address.
    /// @param newAccount Its new address (not zero, not an institution).
    /// @return index The institution's index.
    function rotate(LedgerState storage s, address account, address newAccount) external returns (uint16 index) {
        index = s.indexOf[account];
        if (index == 0) revert ILedgerErrors.UnknownInstitution(account);
        if (newAccount == address(0)) revert ILedgerErrors.ZeroAddress();
        if (s.indexOf[newAccount] != 0) revert ILedgerErrors.InstitutionExists(newAccount);
        s.indexOf[account] = 0;
        s.indexOf[newAccount] = index;
        s.institutions[index].account = newAccount;
    }

    /// @notice ICoLendingLedger.accountOf, ABI-encoded as the ledger returns it (the ledger passes these bytes on).
    /// @param s The ledger's storage.
    /// @param account The institution's address.
    /// @return The encoded AccountView (index 0 if `account` is not registered).
    function accountOf(LedgerState storage s, address account) external view returns (bytes memory) {
        return abi.encode(_accountOf(s, account));
    }

    /// @dev An institution's account.
    function _accountOf(LedgerState storage s, address account)
        private
        view
        returns (ILedgerTypes.AccountView memory v)
    {
        uint16 idx = s.indexOf[account];
        if (idx == 0) return v;
        Institution storage inst = s.institutions[idx];
        AccountWord word = s.accounts[idx];
        v.index = idx;
        v.isPlatform = inst.isPlatform;
        v.withdrawable = uint128(word.withdrawable());
        v.reserve = uint128(word.reserve());
        v.loss = inst.loss;
        v.exposure = inst.exposure;
        v.name = inst.name;
    }
}
