// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerTypes} from "./ILedgerTypes.sol";

/// @title ILedgerErrors
/// @notice Every way a call to the co-lending ledger can be refused: one named error per condition, carrying the
/// values that explain it (besides OpenZeppelin's AccessControlUnauthorizedAccount, EnforcedPause, ExpectedPause
/// and SafeERC20FailedOperation).
interface ILedgerErrors is ILedgerTypes {
    /// @notice An address argument (account, borrower) is zero.
    error ZeroAddress();

    /// @notice An amount argument (principal, payment, recovery) is zero, or there is nothing to withdraw.
    error ZeroAmount();

    /// @notice The account is already a registered institution.
    /// @param account The account.
    error InstitutionExists(address account);

    /// @notice The account (lender, fee recipient, withdrawer) is not a registered institution.
    /// @param account The account.
    error UnknownInstitution(address account);

    /// @notice Every institution index is taken (indexes are packed into the loans' tranche words).
    /// @param maxInstitutions The largest index.
    error InstitutionLimitReached(uint256 maxInstitutions);

    /// @notice The annual rate exceeds the policy cap.
    /// @param rateBps The loan's annual rate.
    /// @param capBps The policy's maxAnnualRateBps.
    error RateAboveCap(uint256 rateBps, uint256 capBps);

    /// @notice The penalty rate exceeds the policy cap.
    /// @param rateBps The loan's penalty rate.
    /// @param capBps The policy's maxPenaltyRateBps.
    error PenaltyRateAboveCap(uint256 rateBps, uint256 capBps);

    /// @notice The principal exceeds the policy cap, or the 2^96 - 1 that the schedule cursor can hold.
    /// @param principal The loan's principal.
    /// @param cap The cap it exceeds.
    error PrincipalAboveCap(uint256 principal, uint256 cap);

    /// @notice The reserve ratio is below the policy minimum.
    /// @param reserveBps The loan's reserve ratio.
    /// @param minBps The policy's minReserveBps.
    error ReserveBelowMinimum(uint256 reserveBps, uint256 minBps);

    /// @notice Co-lending: the platforms' share of the loan is below the policy minimum.
    /// @param loanId The loan being originated.
    /// @param platformShareBps Σ of the shares of the platform tranches.
    /// @param minBps The policy's minPlatformShareBps.
    error ShareBelowMinimum(uint256 loanId, uint256 platformShareBps, uint256 minBps);

    /// @notice Funding would take the lender's exposure above the policy cap.
    /// @param lender The lender.
    /// @param exposure Its exposure after funding.
    /// @param cap The policy's maxLenderExposure.
    error ExposureAboveCap(address lender, uint256 exposure, uint256 cap);

    /// @notice The number of periods is not in 1..maxPeriods.
    /// @param periods The loan's number of periods.
    /// @param maxPeriods The largest number of periods a loan may have (600).
    error PeriodsOutOfRange(uint256 periods, uint256 maxPeriods);

    /// @notice The period length is zero.
    error ZeroPeriodSeconds();

    /// @notice The period length is outside the policy's bounds.
    /// @param periodSeconds The loan's period length.
    /// @param minSeconds The policy's minPeriodSeconds.
    /// @param maxSeconds The policy's maxPeriodSeconds.
    error PeriodSecondsOutOfRange(uint256 periodSeconds, uint256 minSeconds, uint256 maxSeconds);

    /// @notice The loan's tenor (periods * periodSeconds) exceeds the policy's cap.
    /// @param tenorSeconds The loan's tenor.
    /// @param capSeconds The policy's maxTenorSeconds.
    error TenorAboveCap(uint256 tenorSeconds, uint256 capSeconds);

    /// @notice What the schedule actually charges (every installment's interest, rounded up, over the balances it
    /// is charged on) exceeds the policy's rate cap, though the nominal rate does not: per-period rounding on
    /// small balances or short periods.
    /// @param effectiveRateBps The schedule's effective annual rate, rounded up.
    /// @param capBps The policy's maxAnnualRateBps.
    error EffectiveRateAboveCap(uint256 effectiveRateBps, uint256 capBps);

    /// @notice A policy whose period bounds are zero or inverted.
    /// @param minSeconds The minPeriodSeconds given.
    /// @param maxSeconds The maxPeriodSeconds given.
    error PeriodBoundsInvalid(uint256 minSeconds, uint256 maxSeconds);

    /// @notice A policy whose rate cap and tenor cap allow schedules the annuity arithmetic cannot compute:
    /// maxAnnualRateBps * maxTenorSeconds must stay within 100 years at 100 %.
    /// @param maxAnnualRateBps The rate cap given.
    /// @param maxTenorSeconds The tenor cap given.
    error RateTenorAboveLimit(uint256 maxAnnualRateBps, uint256 maxTenorSeconds);

    /// @notice A fee recipient is set without a service fee, or a service fee without a fee recipient.
    /// @param feeRecipient The loan's fee recipient.
    /// @param serviceFeeBps The loan's service fee.
    error FeeRecipientMismatch(address feeRecipient, uint256 serviceFeeBps);

    /// @notice The service fee is more than the whole interest.
    /// @param serviceFeeBps The loan's service fee.
    error ServiceFeeAboveWhole(uint256 serviceFeeBps);

    /// @notice The prepayment fee is more than the whole prepaid principal.
    /// @param prepaymentFeeBps The loan's prepayment fee.
    error PrepaymentFeeAboveWhole(uint256 prepaymentFeeBps);

    /// @notice The reserve ratio is more than the whole income.
    /// @param reserveBps The loan's reserve ratio.
    error ReserveAboveWhole(uint256 reserveBps);

    /// @notice The terms' installment amount A does not fit the 96 bits the schedule cursor keeps it in.
    /// @param installmentAmount A as computed from the terms.
    /// @param limit 2^96 - 1.
    error InstallmentAboveLimit(uint256 installmentAmount, uint256 limit);

    /// @notice Another loan already carries this reference (references identify loans to the institutions).
    /// @param loanRef The reference.
    /// @param loanId The loan that carries it.
    error LoanRefTaken(bytes32 loanRef, uint256 loanId);

    /// @notice The number of tranches is not in 1..16.
    /// @param count The number of tranches given.
    error InvalidTrancheCount(uint256 count);

    /// @notice A share is zero, or the shares do not add up to 10,000 bps.
    /// @param sum Σ of the shares given.
    error SharesNotWhole(uint256 sum);

    /// @notice A lender appears in two tranches.
    /// @param lender The lender.
    error DuplicateLender(address lender);

    /// @notice The funding deadline has passed (or, at origination, is not in the future).
    /// @param loanId The loan.
    /// @param deadline The funding deadline.
    error DeadlinePassed(uint256 loanId, uint256 deadline);

    /// @notice The account holds no tranche of the loan.
    /// @param loanId The loan.
    /// @param caller The account.
    error NotATrancheLender(uint256 loanId, address caller);

    /// @notice The lender's tranche is already funded.
    /// @param loanId The loan.
    /// @param lender The lender.
    error AlreadyFunded(uint256 loanId, address lender);

    /// @notice The loan is not in a status that allows the call.
    /// @param loanId The loan.
    /// @param status Its current status.
    error LoanNotInStatus(uint256 loanId, LoanStatus status);

    /// @notice The amount exceeds what may be paid now.
    /// @param loanId The loan.
    /// @param amount The amount asked for.
    /// @param maxPayable The most that may be paid now.
    error Overpayment(uint256 loanId, uint256 amount, uint256 maxPayable);

    /// @notice `repay(loanId, type(uint256).max)` (pay everything due now) while nothing is due.
    /// @param loanId The loan.
    error NothingDue(uint256 loanId);

    /// @notice Two arrays that must have the same length do not.
    /// @param a The first array's length.
    /// @param b The second array's length.
    error LengthMismatch(uint256 a, uint256 b);

    /// @notice A prepayment would pay less principal in the current installment than the schedule asks:
    /// prepaying accelerates, it never defers principal to later installments.
    /// @param loanId The loan.
    /// @param principalAmount The principal offered.
    /// @param minimum The least principal the prepayment must pay (the installment's scheduled principal not yet
    /// paid).
    error PrepaymentBelowSchedule(uint256 loanId, uint256 principalAmount, uint256 minimum);

    /// @notice The loan cannot be marked defaulted yet by this caller.
    /// @param loanId The loan.
    /// @param overdueSince When its oldest unpaid installment became overdue (due date + grace).
    /// @param defaultableAt When this caller may mark it defaulted.
    error NotOverdueLongEnough(uint256 loanId, uint256 overdueSince, uint256 defaultableAt);

    /// @notice Only the originator may cancel before the funding deadline; after it anyone may cancel a loan not
    /// fully funded, and after the disbursement deadline (disburseBy) anyone may cancel a funded one.
    /// @param loanId The loan.
    /// @param caller The caller.
    error CancelNotAllowed(uint256 loanId, address caller);

    /// @notice The ledger received a different amount than it pulled (a fee-on-transfer or rebasing token).
    /// @param expected The amount pulled.
    /// @param received The increase of the ledger's balance.
    error UnexpectedTransferAmount(uint256 expected, uint256 received);

    /// @notice A call that moves tokens was entered again before it returned.
    error ReentrantCall();

    // ----------------------------------------------------------- participations

    /// @notice An offer of a share of 0 bps.
    error ZeroShare();

    /// @notice A holder offered a position to itself.
    /// @param account The holder.
    error SelfTransfer(address account);

    /// @notice The seller holds less of the loan than the share offered (or accepted).
    /// @param loanId The loan.
    /// @param holder The seller.
    /// @param heldBps The share it holds.
    /// @param shareBps The share offered.
    error ShareNotHeld(uint256 loanId, address holder, uint256 heldBps, uint256 shareBps);

    /// @notice A price the ledger cannot store (an offer keeps it in 128 bits).
    /// @param price The price.
    /// @param limit The largest price (2^128 - 1).
    error PriceAboveLimit(uint256 price, uint256 limit);

    /// @notice No open offer has this id (never made, accepted or cancelled).
    /// @param offerId The offer.
    error OfferNotOpen(uint256 offerId);

    /// @notice The offer's expiry has passed.
    /// @param offerId The offer.
    /// @param expiry The last second it could be accepted.
    error OfferExpired(uint256 offerId, uint256 expiry);

    /// @notice Only the buyer an offer names may accept it.
    /// @param offerId The offer.
    /// @param caller The caller.
    error NotOfferBuyer(uint256 offerId, address caller);

    /// @notice Only the seller may cancel its offer.
    /// @param offerId The offer.
    /// @param caller The caller.
    error NotOfferSeller(uint256 offerId, address caller);

    /// @notice A loan pool cannot be a tranche lender at origination: it holds positions only by buying them
    /// (docs/ledger-spec.md, "Loan pools").
    /// @param pool The pool named as a lender.
    error PoolCannotOriginate(address pool);
}
