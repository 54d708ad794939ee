// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerEvents} from "../interfaces/ILedgerEvents.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {AccountWord} from "../types/AccountWord.sol";
import {AuditHead} from "../types/AuditHead.sol";
import {Institution, LedgerState, PoolCollections} from "../types/LedgerState.sol";
import {TrancheWordLibrary} from "../types/TrancheWord.sol";
import {AuditChain} from "./AuditChain.sol";

/// @title Institutions
/// @notice The banks and platforms that fund loans and receive their credits (docs/ledger-spec.md,
/// "Institutions"): registration, and each institution's account (withdrawable, reserve, loss, exposure).
/// @dev Linked external library, run by `delegatecall` from CoLendingLedger; the ledger checks the role and the
/// pause and moves LENDER_ROLE; the records are written here (AuditChain, from the head the ledger passes and
/// stores): the ledger's own code stays within its size budget.
library Institutions {
    /// @notice Registers `account` under the next index and writes its record (InstitutionRegistered, and
    /// PoolRegistered right after it for a pool) after `head`.
    /// @param s The ledger's storage.
    /// @param head The audit head.
    /// @param account The institution's address (not zero, not registered yet).
    /// @param name A display name.
    /// @param isPlatform Whether its shares count towards the platforms' minimum share.
    /// @param isPool Whether it is a loan pool (never a platform: the ledger passes isPlatform false).
    /// @return The new audit head.
    /// @return index The new index (from 1; at most 2,047, the width of a tranche entry).
    function register(
        LedgerState storage s,
        AuditHead head,
        address account,
        string calldata name,
        bool isPlatform,
        bool isPool
    ) external returns (AuditHead, uint16 index) {
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
        inst.isPool = isPool;
        inst.name = name;
        head = AuditChain.advance(
            head, abi.encode(0, ILedgerEvents.InstitutionRegistered.selector, index, account, name, isPlatform)
        );
        emit ILedgerEvents.InstitutionRegistered(index, account, name, isPlatform, head.value());
        if (isPool) {
            head = AuditChain.append(head, abi.encode(0, ILedgerEvents.PoolRegistered.selector, index, account, 0), 2);
        }
        return (head, index);
    }

    /// @notice Moves institution `account` to `newAccount`: index, balances, tranches (by index) and fee-recipient
    /// role follow the index; writes its record (InstitutionRotated) after `head`. The ledger moves LENDER_ROLE.
    /// @param s The ledger's storage.
    /// @param head The audit head.
    /// @param account The institution's current address.
    /// @param newAccount Its new address (not zero, not an institution).
    /// @return The new audit head.
    function rotate(LedgerState storage s, AuditHead head, address account, address newAccount)
        external
        returns (AuditHead)
    {
        uint16 index = s.indexOf[account];
        if (index == 0) revert ILedgerErrors.UnknownInstitution(account);
        if (newAccount == address(0)) revert ILedgerErrors.ZeroAddress();
        if (s.indexOf[newAccount] != 0) revert ILedgerErrors.InstitutionExists(newAccount);
        s.indexOf[account] = 0;
        s.indexOf[newAccount] = index;
        s.institutions[index].account = newAccount;
        bytes memory rec =
            abi.encode(0, ILedgerEvents.InstitutionRotated.selector, index, account, newAccount, 0);
        return AuditChain.append(head, rec, 3);
    }

    /// @notice ICoLendingLedger.poolCollectionsOf, ABI-encoded as the ledger returns it.
    /// @param s The ledger's storage.
    /// @param pool The pool's address.
    /// @return The encoded (principal, recovered): zeros for an address that is not a registered pool.
    function poolCollectionsOf(LedgerState storage s, address pool) external view returns (bytes memory) {
        PoolCollections storage c = s.poolCollections[s.indexOf[pool]];
        return abi.encode(uint256(c.principal), uint256(c.recovered));
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
