// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerTypes} from "./ILedgerTypes.sol";

/// @title ILedgerEvents
/// @notice The audit records of the co-lending ledger: every state change emits exactly one of these events.
/// @dev The audit head: each event's LAST argument `head` is the new audit head
/// `head_n = (uint256(keccak256(abi.encode(head_{n-1}, topic0, <every other argument of the event, indexed ones
/// included, in declaration order>))) & (2**248 - 2**56)) | n`, with `head_0 = 0`: a 192-bit chain hash in bits
/// 56-247 and the sequence number n in bits 0-55. Struct arguments are encoded as ABI tuples. The rule lives in
/// `contracts/logic/AuditChain.sol` (docs/ledger-spec.md, "Audit chain").
interface ILedgerEvents is ILedgerTypes {
    /// @notice An institution was registered and granted LENDER_ROLE.
    /// @param index The institution's index (from 1).
    /// @param account The institution's address.
    /// @param name The institution's display name.
    /// @param isPlatform Whether its shares count towards the platforms' minimum share.
    /// @param head The new audit head.
    event InstitutionRegistered(
        uint16 indexed index, address indexed account, string name, bool isPlatform, bytes32 head
    );

    /// @notice The institution registered by the InstitutionRegistered record just before this one is a loan pool
    /// (registerPool): it holds positions only by buying them, and the ledger keeps its cumulative principal and
    /// recovery credits (poolCollectionsOf, docs/ledger-spec.md, "Loan pools").
    /// @param index The pool's institution index.
    /// @param pool The pool's address.
    /// @param head The new audit head.
    event PoolRegistered(uint16 indexed index, address indexed pool, bytes32 head);

    /// @notice The policy was replaced.
    /// @param admin The admin who set it (the deployer for the deployment's first policy).
    /// @param policy The policy now in force.
    /// @param head The new audit head.
    event PolicyUpdated(address indexed admin, PolicyParams policy, bytes32 head);

    /// @notice A loan was originated. Tranche amounts: floor(principal * share / BPS), the lead takes the rest.
    /// @param loanId The new loan's id.
    /// @param borrower The borrower's address.
    /// @param borrowerId The borrower's pseudonymous id.
    /// @param terms The loan's terms.
    /// @param tranches The tranches, lead first.
    /// @param head The new audit head.
    event LoanOriginated(
        uint256 indexed loanId,
        address indexed borrower,
        bytes32 indexed borrowerId,
        LoanTerms terms,
        Tranche[] tranches,
        bytes32 head
    );

    /// @notice A lender funded its tranche.
    /// @param loanId The loan.
    /// @param lender The lender.
    /// @param amount The tranche amount pulled from the lender.
    /// @param exposure The lender's exposure after funding.
    /// @param fullyFunded Whether every tranche is now funded (the loan is Funded).
    /// @param head The new audit head.
    event TrancheFunded(
        uint256 indexed loanId, address indexed lender, uint256 amount, uint256 exposure, bool fullyFunded, bytes32 head
    );

    /// @notice A loan was cancelled before disbursement; the funded tranches went back to the lenders' withdrawable
    /// balances.
    /// @param loanId The loan.
    /// @param by The caller.
    /// @param refunded Σ of the funded tranches.
    /// @param head The new audit head.
    event LoanCancelled(uint256 indexed loanId, address indexed by, uint256 refunded, bytes32 head);

    /// @notice The principal was sent to the borrower.
    /// @param loanId The loan.
    /// @param borrower The borrower who received the principal.
    /// @param principal The principal sent.
    /// @param installmentAmount The installment amount A fixed at disbursement.
    /// @param head The new audit head.
    event LoanDisbursed(
        uint256 indexed loanId, address indexed borrower, uint256 principal, uint256 installmentAmount, bytes32 head
    );

    /// @notice A repayment was applied (by `repay` or `repayBatch`; in a batch `payer` is the servicer).
    /// @param loanId The loan.
    /// @param payer Who paid.
    /// @param breakdown What the payment paid and the loan's state after it.
    /// @param head The new audit head.
    event RepaymentApplied(uint256 indexed loanId, address indexed payer, RepaymentBreakdown breakdown, bytes32 head);

    /// @notice A prepayment was applied.
    /// @param loanId The loan.
    /// @param payer Who paid.
    /// @param breakdown The whole payment (its principalPaid includes `principalPrepaid`).
    /// @param principalPrepaid The principal prepaid.
    /// @param prepaymentFee The prepayment fee, lender income.
    /// @param installmentAmount The re-amortized installment amount A.
    /// @param head The new audit head.
    event PrepaymentApplied(
        uint256 indexed loanId,
        address indexed payer,
        RepaymentBreakdown breakdown,
        uint256 principalPrepaid,
        uint256 prepaymentFee,
        uint256 installmentAmount,
        bytes32 head
    );

    /// @notice An institution withdrew its whole withdrawable balance.
    /// @param account The institution.
    /// @param to Where the amount was sent (the institution itself, unless it named a recipient).
    /// @param amount The amount sent.
    /// @param head The new audit head.
    event Withdrawn(address indexed account, address indexed to, uint256 amount, bytes32 head);

    /// @notice An institution's address was replaced (a lost or compromised key, a token blacklist): its index,
    /// balances, tranches and LENDER_ROLE move to the new address.
    /// @param index The institution's index.
    /// @param from The old address (no longer an institution, LENDER_ROLE revoked).
    /// @param to The new address (LENDER_ROLE granted).
    /// @param head The new audit head.
    event InstitutionRotated(uint16 indexed index, address indexed from, address indexed to, bytes32 head);

    /// @notice A loan was marked defaulted.
    /// @param loanId The loan.
    /// @param by The caller.
    /// @param owedAtDefault outstandingPrincipal + unpaidInterest + penaltyAccrued.
    /// @param outstandingPrincipal The principal still owed.
    /// @param unpaidInterest The unpaid interest of the installments already due.
    /// @param penaltyAccrued The accrued unpaid penalty.
    /// @param head The new audit head.
    event LoanDefaulted(
        uint256 indexed loanId,
        address indexed by,
        uint256 owedAtDefault,
        uint256 outstandingPrincipal,
        uint256 unpaidInterest,
        uint256 penaltyAccrued,
        bytes32 head
    );

    /// @notice A defaulted loan was written off: the loss split by share, the reserves absorbing it first.
    /// @param loanId The loan.
    /// @param by The servicer.
    /// @param loss The outstanding principal written off.
    /// @param absorbed The part of the loss paid back from the lenders' reserves (Σ min(L_i, reserve_i)).
    /// @param head The new audit head.
    event LoanWrittenOff(uint256 indexed loanId, address indexed by, uint256 loss, uint256 absorbed, bytes32 head);

    /// @notice A recovery on a defaulted or written-off loan was split among the lenders.
    /// @param loanId The loan.
    /// @param payer Who paid.
    /// @param amount The recovery paid.
    /// @param recovered The loan's cumulative recoveries after it.
    /// @param outstandingPrincipal The principal still owed after it (0 once written off or recovered).
    /// @param status The loan's status after it: Recovered once a defaulted loan's recoveries reach owedAtDefault
    /// (the loan ends as a closure does), else unchanged.
    /// @param head The new audit head.
    event RecoveryApplied(
        uint256 indexed loanId,
        address indexed payer,
        uint256 amount,
        uint256 recovered,
        uint256 outstandingPrincipal,
        LoanStatus status,
        bytes32 head
    );

    /// @notice A holder offered part or all of its position in a loan to a named buyer.
    /// @param loanId The loan.
    /// @param seller The holder.
    /// @param buyer The institution that may accept.
    /// @param offerId The offer's id.
    /// @param shareBps The share of the loan offered, in bps of the loan.
    /// @param price The price in the settlement token.
    /// @param expiry The last second the offer can be accepted.
    /// @param head The new audit head.
    event PositionOffered(
        uint256 indexed loanId,
        address indexed seller,
        address indexed buyer,
        uint256 offerId,
        uint16 shareBps,
        uint256 price,
        uint40 expiry,
        bytes32 head
    );

    /// @notice An offer was accepted: the price went from the buyer to the seller's withdrawable balance and the
    /// share of the loan from the seller to the buyer, by the offset rule (docs/ledger-spec.md, "Participations").
    /// @param loanId The loan.
    /// @param seller The seller.
    /// @param buyer The buyer.
    /// @param offerId The offer.
    /// @param shareBps The share of the loan that moved.
    /// @param price The price paid.
    /// @param head The new audit head.
    event PositionTransferred(
        uint256 indexed loanId,
        address indexed seller,
        address indexed buyer,
        uint256 offerId,
        uint16 shareBps,
        uint256 price,
        bytes32 head
    );

    /// @notice The seller withdrew an offer.
    /// @param loanId The offer's loan.
    /// @param seller The seller.
    /// @param offerId The offer.
    /// @param head The new audit head.
    event OfferCancelled(uint256 indexed loanId, address indexed seller, uint256 offerId, bytes32 head);

    /// @notice The ledger was paused.
    /// @param account The pauser.
    /// @param head The new audit head.
    event LedgerPaused(address indexed account, bytes32 head);

    /// @notice The ledger was unpaused.
    /// @param account The pauser.
    /// @param head The new audit head.
    event LedgerUnpaused(address indexed account, bytes32 head);

    /// @notice A role was granted or revoked (renounced). The deployment's admin grant is one too; the LENDER_ROLE
    /// that `registerInstitution` grants is part of InstitutionRegistered instead.
    /// @param role The role.
    /// @param account The account whose membership changed.
    /// @param by The caller.
    /// @param granted True for a grant, false for a revocation or renunciation.
    /// @param head The new audit head.
    event AccessChanged(
        bytes32 indexed role, address indexed account, address indexed by, bool granted, bytes32 head
    );
}
