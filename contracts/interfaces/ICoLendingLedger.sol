// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerErrors} from "./ILedgerErrors.sol";
import {ILedgerEvents} from "./ILedgerEvents.sol";

/// @title ICoLendingLedger
/// @notice One ledger holding every co-lending loan: tranches (lender, share in bps), repayment schedules, exact
/// repayment splits, overdue / default handling and a hash-chained audit trail. docs/ledger-spec.md is binding.
/// @dev Enums and structs are in ILedgerTypes, the audit records in ILedgerEvents, the errors in ILedgerErrors.
interface ICoLendingLedger is ILedgerEvents, ILedgerErrors {
    // ---------------------------------------------------------- institutions

    /// @notice Register an institution (admin) and grant it LENDER_ROLE.
    /// @param account The institution's address; it funds tranches and withdraws its credits.
    /// @param name A display name (not personal data).
    /// @param isPlatform Whether its shares count towards the policy's minimum platform share.
    /// @return index The institution's index (from 1).
    function registerInstitution(address account, string calldata name, bool isPlatform)
        external
        returns (uint16 index);

    /// @notice Register a loan pool (admin) as an institution and grant it LENDER_ROLE: records
    /// InstitutionRegistered (not a platform) and PoolRegistered. A pool holds positions only by buying them
    /// (acceptOffer); it cannot be a tranche lender at origination (docs/ledger-spec.md, "Loan pools").
    /// @param pool The pool's address.
    /// @param name A display name.
    /// @return index The pool's institution index.
    function registerPool(address pool, string calldata name) external returns (uint16 index);

    /// @notice Replace an institution's address (admin): a lost or compromised key, or a token that blacklisted
    /// it. Its index, balances, tranches and LENDER_ROLE move to `newAccount`. Works while paused.
    /// @param account The institution's current address.
    /// @param newAccount Its new address (not zero, not an institution already).
    function rotateInstitution(address account, address newAccount) external;

    /// @notice Replace the policy (admin). Loans already originated keep the default timing and disbursement
    /// deadline they were originated under.
    /// @param params The new policy.
    function setPolicy(PolicyParams calldata params) external;

    // ------------------------------------------------------------ life cycle

    /// @notice Originate a loan (originator).
    /// @param terms The loan's terms.
    /// @param tranches The tranches, lead first; shares add up to 10,000 bps.
    /// @return loanId The new loan's id (from 1).
    function originate(LoanTerms calldata terms, Tranche[] calldata tranches) external returns (uint256 loanId);

    /// @notice Fund the caller's tranche (a lender of the loan): pulls exactly the tranche amount.
    /// @param loanId The loan.
    function fund(uint256 loanId) external;

    /// @notice Cancel a loan before disbursement: the originator any time, anyone after the funding deadline while
    /// it is not fully funded. Funded tranches go back to the lenders' withdrawable balances.
    /// @param loanId The loan.
    function cancel(uint256 loanId) external;

    /// @notice Disburse a funded loan to its borrower (originator); fixes the installment amount A.
    /// @param loanId The loan.
    function disburse(uint256 loanId) external;

    /// @notice Repay from the caller: penalty first, then installments oldest first (interest, then principal).
    /// @param loanId The loan.
    /// @param amount The amount to pull: at most `amountDue(loanId).maxPayable`; `type(uint256).max` pays exactly
    /// everything due at execution (`amountDue(loanId).totalDue` in the block that includes the call).
    function repay(uint256 loanId, uint256 amount) external;

    /// @notice Repay several loans from the servicer with one transfer; all or nothing.
    /// @param loanIds The loans.
    /// @param amounts The amount for each loan, as in `repay` (`type(uint256).max`: everything due at execution).
    function repayBatch(uint256[] calldata loanIds, uint256[] calldata amounts) external;

    /// @notice Prepay principal from the caller, paying `prepaymentQuote(loanId, principalAmount)` in full.
    /// @param loanId The loan.
    /// @param principalAmount The principal to prepay.
    function prepay(uint256 loanId, uint256 principalAmount) external;

    /// @notice Withdraw the caller's whole withdrawable balance (a registered institution).
    function withdraw() external;

    /// @notice Withdraw the caller's whole withdrawable balance to `to` (a registered institution whose own
    /// address cannot receive the token, e.g. blacklisted by it).
    /// @param to The recipient (not zero).
    function withdrawTo(address to) external;

    /// @notice Mark an overdue loan defaulted: the servicer after the policy's defaultAfter, anyone after its
    /// publicDefaultDelay more.
    /// @param loanId The loan.
    function markDefault(uint256 loanId) external;

    /// @notice Write a defaulted loan off (servicer).
    /// @param loanId The loan.
    function writeOff(uint256 loanId) external;

    /// @notice Pay a recovery on a defaulted or written-off loan (anyone, from the caller).
    /// @param loanId The loan.
    /// @param amount The recovery; cumulative recoveries stay at most owedAtDefault.
    function recover(uint256 loanId, uint256 amount) external;

    /// @notice Offers `shareBps` of loan `loanId` (bps of the loan) out of the caller's position to `buyer` for
    /// `price`, acceptable until `expiry` (docs/ledger-spec.md, "Participations"). Not while paused.
    /// @return offerId The offer's id.
    function offerPosition(uint256 loanId, address buyer, uint16 shareBps, uint256 price, uint40 expiry)
        external
        returns (uint256 offerId);

    /// @notice Accepts offer `offerId` (its buyer): pulls the price from the caller, credits it to the seller's
    /// withdrawable balance and moves the share, all in this call. Not while paused.
    function acceptOffer(uint256 offerId) external;

    /// @notice Withdraws offer `offerId` (its seller). Works while paused.
    function cancelOffer(uint256 offerId) external;

    /// @notice Pause (pauser): every state-changing function reverts EnforcedPause, except the borrower-funded
    /// inflows (repay, repayBatch, prepay, recover: the ledger never refuses a payment, so no penalty, lateness or
    /// default can come from time it refused one), the role functions and rotateInstitution (an incident needs
    /// them), and unpause.
    function pause() external;

    /// @notice Unpause (pauser).
    function unpause() external;

    // ------------------------------------------------------------------ views

    /// @notice The settlement token.
    /// @return The token's address.
    function token() external view returns (address);

    /// @notice The current audit head.
    /// @return The head of the last record: bits 56-247 the chain hash, bits 0-55 its sequence number.
    function auditHead() external view returns (bytes32);

    /// @notice The current policy.
    /// @return The policy in force.
    function policy() external view returns (PolicyParams memory);

    /// @notice Number of loans originated.
    /// @return The last loan id.
    function loanCount() external view returns (uint256);

    /// @notice Number of registered institutions.
    /// @return The last institution index.
    function institutionCount() external view returns (uint16);

    /// @notice The account of an institution.
    /// @param index The institution's index.
    /// @return Its address (zero if none).
    function institutionAt(uint16 index) external view returns (address);

    /// @notice Full state of a loan.
    /// @param loanId The loan.
    /// @return The loan (status None if there is no such loan).
    function getLoan(uint256 loanId) external view returns (LoanView memory);

    /// @notice The tranches of a loan.
    /// @param loanId The loan.
    /// @return The tranches, lead first.
    function getTranches(uint256 loanId) external view returns (TrancheView[] memory);

    /// @notice The projected installments from the current one to the last.
    /// @param loanId The loan.
    /// @return The installments (the whole schedule before disbursement; empty once the loan has ended).
    function scheduleOf(uint256 loanId) external view returns (InstallmentView[] memory);

    /// @notice What the loan owes now.
    /// @param loanId The loan.
    /// @return The penalty, interest and principal due, their total and the most `repay` accepts now.
    function amountDue(uint256 loanId) external view returns (DueView memory);

    /// @notice The exact amount `prepay(loanId, principalAmount)` would pull now.
    /// @param loanId The loan.
    /// @param principalAmount The principal to prepay.
    /// @return The amount the prepayment pulls.
    function prepaymentQuote(uint256 loanId, uint256 principalAmount) external view returns (uint256);

    /// @notice A lender's position in a loan.
    /// @param loanId The loan.
    /// @param lender The lender.
    /// @return Its share, tranche, and what it has been credited of each component.
    function positionOf(uint256 loanId, address lender) external view returns (PositionView memory);

    /// @notice What an audit reconciles, for loans `firstId` up to `firstId + count - 1` (or the last loan), in one
    /// call: the fields of getLoan, positionOf and getTranches that the audit trail determines. Per loan, 16 words:
    /// loanId, status, borrowerId, fundedCount, currentInstallment, installmentAmount, outstandingPrincipal,
    /// interestPaid, feePaid, penaltyPaid, prepaymentFeePaid, principalPaid, recovered, owedAtDefault, writtenOff,
    /// trancheCount; then per tranche, lead first, 7 words: lender, shareBps, funded (0 or 1), incomeCredited,
    /// reserveHeld, principalCredited, recoveredCredited.
    /// @param firstId The first loan.
    /// @param count The number of loans.
    /// @return words The words (empty when `firstId` is 0 or above loanCount, or `count` is 0).
    function auditSnapshot(uint256 firstId, uint256 count) external view returns (uint256[] memory words);

    /// @notice An institution's account.
    /// @param account The institution's address.
    /// @return Its balances, loss and exposure (index 0 if it is not registered).
    function accountOf(address account) external view returns (AccountView memory);

    /// @notice A loan pool's cumulative principal and recovery credits: what its distributions count as principal
    /// collections (docs/ledger-spec.md, "Loan pools").
    /// @param pool The pool's address.
    /// @return principal Its cumulative principal credits.
    /// @return recovered Its cumulative recovery credits.
    function poolCollectionsOf(address pool) external view returns (uint256 principal, uint256 recovered);

    /// @notice A borrower's credit record summed over its loans.
    /// @param borrowerId The borrower's pseudonymous id.
    /// @return The credit record.
    function creditRecord(bytes32 borrowerId) external view returns (CreditRecord memory);

    /// @notice The loan carrying a reference the institutions know it by.
    /// @param loanRef The reference (not zero).
    /// @return loanId The loan (0 if none carries it).
    function loanByRef(bytes32 loanRef) external view returns (uint256 loanId);

    /// @notice The ids of a borrower's loans.
    /// @param borrowerId The borrower's pseudonymous id.
    /// @return The loan ids, oldest first.
    function loansOf(bytes32 borrowerId) external view returns (uint256[] memory);

    /// @notice An open offer (docs/ledger-spec.md, "Participations").
    /// @param offerId The offer.
    /// @return The offer; all zero unless it is open.
    function offerOf(uint256 offerId) external view returns (OfferView memory);

    /// @notice The number of offers ever made (offer ids run from 1 to it).
    function offerCount() external view returns (uint256);
}
