// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerTypes} from "./ILedgerTypes.sol";

/// @title ICoLendingLedger
/// @notice One ledger holding every co-lending loan: tranches (lender, share in bps), repayment schedules, exact
/// repayment splits, overdue / default handling and a hash-chained audit trail. docs/ledger-spec.md is binding.
/// @dev Enums, structs, events (with the audit-head rule) and errors are in ILedgerTypes.
interface ICoLendingLedger is ILedgerTypes {
    // ---------------------------------------------------------- institutions

    /// @notice Register an institution (admin). Indexes start at 1. Grants LENDER_ROLE.
    /// @return index The institution's index.
    function registerInstitution(address account, string calldata name, bool isPlatform)
        external
        returns (uint16 index);

    /// @notice Replace the policy (admin).
    function setPolicy(PolicyParams calldata params) external;

    // ------------------------------------------------------------ life cycle

    /// @notice Originate a loan (originator). Loan ids start at 1.
    function originate(LoanTerms calldata terms, Tranche[] calldata tranches) external returns (uint256 loanId);

    /// @notice Fund the caller's tranche (lender): pulls exactly the tranche amount.
    function fund(uint256 loanId) external;

    /// @notice Cancel before disbursement: the originator any time, anyone after the deadline if not fully funded.
    function cancel(uint256 loanId) external;

    /// @notice Disburse a funded loan to its borrower (originator); fixes A.
    function disburse(uint256 loanId) external;

    /// @notice Repay from the caller: penalty first, then installments oldest first (interest, then principal).
    function repay(uint256 loanId, uint256 amount) external;

    /// @notice Repay several loans from the servicer with one transfer; all or nothing.
    function repayBatch(uint256[] calldata loanIds, uint256[] calldata amounts) external;

    /// @notice Prepay `principalAmount` of principal, paying `prepaymentQuote` in full.
    function prepay(uint256 loanId, uint256 principalAmount) external;

    /// @notice Withdraw the caller's whole withdrawable balance.
    function withdraw() external;

    /// @notice Mark an overdue loan defaulted (servicer after defaultAfter, anyone after publicDefaultDelay more).
    function markDefault(uint256 loanId) external;

    /// @notice Write a defaulted loan off (servicer).
    function writeOff(uint256 loanId) external;

    /// @notice Pay a recovery on a defaulted or written-off loan (anyone, from the caller).
    function recover(uint256 loanId, uint256 amount) external;

    /// @notice Pause every state-changing function (pauser).
    function pause() external;

    /// @notice Unpause (pauser).
    function unpause() external;

    // ------------------------------------------------------------------ views

    /// @notice The settlement token.
    function token() external view returns (address);

    /// @notice The current audit head: high 192 bits chain hash, low 64 bits sequence number.
    function auditHead() external view returns (bytes32);

    /// @notice The current policy.
    function policy() external view returns (PolicyParams memory);

    /// @notice Number of loans originated (the last loan id).
    function loanCount() external view returns (uint256);

    /// @notice Number of registered institutions (the last index).
    function institutionCount() external view returns (uint16);

    /// @notice The account of the institution with `index`.
    function institutionAt(uint16 index) external view returns (address);

    /// @notice Full state of a loan.
    function getLoan(uint256 loanId) external view returns (LoanView memory);

    /// @notice The tranches of a loan, lead first.
    function getTranches(uint256 loanId) external view returns (TrancheView[] memory);

    /// @notice The projected installments from the current one to the last.
    function scheduleOf(uint256 loanId) external view returns (InstallmentView[] memory);

    /// @notice What the loan owes now.
    function amountDue(uint256 loanId) external view returns (DueView memory);

    /// @notice The exact amount `prepay(loanId, principalAmount)` would pull now.
    function prepaymentQuote(uint256 loanId, uint256 principalAmount) external view returns (uint256);

    /// @notice A lender's position in a loan.
    function positionOf(uint256 loanId, address lender) external view returns (PositionView memory);

    /// @notice What an audit reconciles, for loans `firstId` up to `firstId + count - 1` (or the last loan), in one
    /// call: the fields of getLoan, positionOf and getTranches that the audit trail determines. Per loan, 16 words:
    /// loanId, status, borrowerId, fundedCount, currentInstallment, installmentAmount, outstandingPrincipal,
    /// interestPaid, feePaid, penaltyPaid, prepaymentFeePaid, principalPaid, recovered, owedAtDefault, writtenOff,
    /// trancheCount; then per tranche, lead first, 7 words: lender, shareBps, funded (0 or 1), incomeCredited,
    /// reserveHeld, principalCredited, recoveredCredited. Each value is the one the named view returns. Empty when
    /// `firstId` is 0 or above loanCount, or `count` is 0.
    function auditSnapshot(uint256 firstId, uint256 count) external view returns (uint256[] memory words);

    /// @notice An institution's account.
    function accountOf(address account) external view returns (AccountView memory);

    /// @notice A borrower's credit record summed over its loans.
    function creditRecord(bytes32 borrowerId) external view returns (CreditRecord memory);

    /// @notice The ids of a borrower's loans.
    function loansOf(bytes32 borrowerId) external view returns (uint256[] memory);
}
