// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ILedgerTypes
/// @notice Enumerations, structs, events and custom errors of the co-lending ledger (the functions are in
/// ICoLendingLedger, which inherits this). docs/ledger-spec.md is binding.
/// @dev Audit head: every state change emits exactly one event of this interface whose LAST argument `head` is the
/// new audit head `head_n = (uint256(keccak256(abi.encode(head_{n-1}, topic0, <every other argument of the event,
/// indexed ones included, in declaration order>))) & (2**248 - 2**56)) | n`, with `head_0 = 0`: a 192-bit chain
/// hash in bits 56-247 and the seq in bits 0-55. Struct arguments
/// are encoded as ABI tuples (all structs in events are static, so the encoding equals the flattened fields).
interface ILedgerTypes {
    // ------------------------------------------------------------------ enums

    /// @notice Life-cycle status of a loan.
    enum LoanStatus {
        None, // 0: no such loan
        Originated, // 1: awaiting funding
        Funded, // 2: every tranche funded
        Active, // 3: disbursed
        Closed, // 4: fully repaid
        Cancelled, // 5: cancelled before disbursement
        Defaulted, // 6: marked defaulted
        WrittenOff // 7: written off
    }

    /// @notice Repayment method of a loan.
    enum RepaymentMethod {
        EqualInstallment, // 0: 等额本息
        EqualPrincipal, // 1: 等额本金
        InterestFirst // 2: 先息后本
    }

    // ---------------------------------------------------------------- structs

    /// @notice The terms a loan is originated with.
    struct LoanTerms {
        address borrower; // receives the principal at disbursement
        bytes32 borrowerId; // pseudonymous id keying the credit record
        uint128 principal; // token base units
        uint16 annualRateBps; // nominal annual rate (ACT/365)
        uint16 periods; // number of installments, 1..600
        uint32 periodSeconds; // length of one period
        RepaymentMethod method;
        uint32 gracePeriod; // seconds after a due date before an installment is overdue
        uint16 penaltyRateBps; // annual penalty rate on overdue amounts
        uint16 prepaymentFeeBps; // fee on prepaid principal, lender income
        uint16 serviceFeeBps; // part of every interest payment going to the fee recipient
        address feeRecipient; // registered institution; zero iff serviceFeeBps == 0
        uint16 reserveBps; // part of each lender's income credit held in its reserve
        uint40 fundingDeadline; // after it an unfunded loan may be cancelled by anyone
    }

    /// @notice One funder's slice of a loan. The first tranche is the lead.
    struct Tranche {
        address lender;
        uint16 shareBps;
    }

    /// @notice Policy limits checked at origination and funding (module LendingPolicy).
    struct PolicyParams {
        uint16 minPlatformShareBps; // co-lending: Σ platform shares ≥ this
        uint16 maxAnnualRateBps; // APR cap
        uint16 maxPenaltyRateBps; // penalty rate cap
        uint16 minReserveBps; // minimum reserve ratio
        uint128 maxPrincipal; // loan size cap
        uint128 maxLenderExposure; // concentration cap per institution
        uint32 defaultAfter; // seconds overdue (after grace) before a loan may be marked defaulted
        uint32 publicDefaultDelay; // further seconds after which anyone may mark it defaulted
    }

    /// @notice What one repayment (or the dues part of a prepayment) did; carried by RepaymentApplied and
    /// PrepaymentApplied so that a replay can rebuild every balance.
    struct RepaymentBreakdown {
        uint256 amount; // tokens pulled from the payer
        uint256 penaltyPaid; // applied to accrued penalty
        uint256 interestPaid; // applied to scheduled interest (gross, the service fee included)
        uint256 feePaid; // increase of the cumulative service fee (floor(interestPaid * serviceFeeBps / BPS))
        uint256 principalPaid; // applied to principal (prepaid principal included)
        uint16 installment; // the current installment index after the payment (periods + 1 once closed)
        uint256 outstanding; // outstanding principal after the payment
        LoanStatus status; // status after the payment
        uint16 onTimeCompleted; // installments completed on time by this payment
        uint16 lateCompleted; // installments completed late (after due + grace) by this payment
        uint32 daysLate; // Σ floor((now - due_k) / DAY) over the late installments completed
        uint32 maxDaysLate; // max of the same
        uint256 penaltyAccrued; // accrued penalty still unpaid after the payment
    }

    /// @notice Full state of one loan (view).
    struct LoanView {
        LoanStatus status;
        RepaymentMethod method;
        address borrower;
        bytes32 borrowerId;
        uint128 principal;
        uint16 annualRateBps;
        uint16 periods;
        uint32 periodSeconds;
        uint32 gracePeriod;
        uint16 penaltyRateBps;
        uint16 prepaymentFeeBps;
        uint16 serviceFeeBps;
        address feeRecipient;
        uint16 reserveBps;
        uint40 fundingDeadline;
        uint40 disbursedAt;
        uint8 trancheCount;
        uint8 fundedCount;
        uint128 installmentAmount; // A
        uint16 currentInstallment; // k (1-based; periods + 1 once closed)
        uint128 outstandingAtInstallmentStart; // O_k (once defaulted: the outstanding principal; 0 once ended)
        uint128 outstandingPrincipal; // principal still owed now
        uint128 interestPaidCur; // paid towards the current installment's interest
        uint128 principalPaidCur; // paid towards the current installment's principal
        uint128 interestPaid; // cumulative gross scheduled interest
        uint128 feePaid; // cumulative service fee
        uint128 penaltyPaid; // cumulative penalty
        uint128 prepaymentFeePaid; // cumulative prepayment fees
        uint128 principalPaid; // cumulative principal
        uint128 recovered; // cumulative recoveries
        uint128 penaltyAccrued; // accrued unpaid penalty at the last checkpoint
        uint40 penaltyCheckpoint;
        uint128 owedAtDefault;
        uint128 writtenOff; // loss written off
    }

    /// @notice One tranche of a loan (view).
    struct TrancheView {
        address lender;
        uint16 institution; // institution index
        uint16 shareBps;
        uint128 amount; // principal it funds
        bool funded;
    }

    /// @notice One installment of the projected schedule (view).
    struct InstallmentView {
        uint16 index; // 1-based
        uint40 dueDate; // disbursedAt + index * periodSeconds (offset from 0 before disbursement)
        uint128 outstandingBefore; // O_k
        uint128 interest; // interest due
        uint128 principal; // principal due
        uint128 interestPaid; // already paid towards it
        uint128 principalPaid; // already paid towards it
    }

    /// @notice What a loan owes now (view).
    struct DueView {
        uint256 penalty; // accrued penalty, up to now
        uint256 interest; // unpaid interest of the installments already due
        uint256 principal; // unpaid principal of the installments already due
        uint256 totalDue; // penalty + interest + principal
        uint256 maxPayable; // totalDue + the next installment not yet due (the most `repay` accepts)
        uint16 overdueInstallments; // installments past due + grace
        uint40 nextDueDate; // due date of the oldest unpaid installment (0 if none)
    }

    /// @notice A lender's position in one loan, derived from the loan's cumulative totals (view).
    struct PositionView {
        uint16 shareBps;
        uint128 amount; // principal funded (or to fund)
        bool funded;
        bool lead;
        uint256 incomeCredited; // floor(I * share / BPS) (+ remainder if lead and the loan has ended)
        uint256 reserveHeld; // floor(incomeCredit * reserveBps / BPS) still held in reserve for this loan
        uint256 principalCredited; // floor(principalPaid * share / BPS) (+ remainder)
        uint256 recoveredCredited; // floor(recovered * share / BPS) (+ remainder if lead and recovered == owed)
    }

    /// @notice An institution's account (view).
    struct AccountView {
        uint16 index; // 0 if not registered
        bool isPlatform;
        uint128 withdrawable;
        uint128 reserve;
        uint128 loss;
        uint128 exposure;
        string name;
    }

    /// @notice A borrower's credit record summed over its loans (view).
    struct CreditRecord {
        uint32 loansTaken; // loans disbursed
        uint32 active;
        uint32 closed;
        uint32 defaulted; // Defaulted or WrittenOff
        uint32 onTimeInstallments;
        uint32 lateInstallments;
        uint32 maxDaysLate;
        uint32 totalDaysLate;
        uint256 amountWrittenOff;
    }

    // ----------------------------------------------------------------- events

    /// @notice An institution was registered (and granted LENDER_ROLE).
    event InstitutionRegistered(
        uint16 indexed index, address indexed account, string name, bool isPlatform, bytes32 head
    );

    /// @notice The policy was replaced.
    event PolicyUpdated(address indexed admin, PolicyParams policy, bytes32 head);

    /// @notice A loan was originated. Tranche amounts: floor(principal * share / BPS), the lead takes the rest.
    event LoanOriginated(
        uint256 indexed loanId,
        address indexed borrower,
        bytes32 indexed borrowerId,
        LoanTerms terms,
        Tranche[] tranches,
        bytes32 head
    );

    /// @notice A lender funded its tranche; `exposure` is its exposure after funding.
    event TrancheFunded(
        uint256 indexed loanId, address indexed lender, uint256 amount, uint256 exposure, bool fullyFunded, bytes32 head
    );

    /// @notice A loan was cancelled before disbursement; `refunded` (Σ funded tranches) went back to the lenders'
    /// withdrawable balances.
    event LoanCancelled(uint256 indexed loanId, address indexed by, uint256 refunded, bytes32 head);

    /// @notice The principal was sent to the borrower; `installmentAmount` is A.
    event LoanDisbursed(
        uint256 indexed loanId, address indexed borrower, uint256 principal, uint256 installmentAmount, bytes32 head
    );

    /// @notice A repayment was applied (by `repay` or `repayBatch`; in a batch `payer` is the servicer).
    event RepaymentApplied(uint256 indexed loanId, address indexed payer, RepaymentBreakdown breakdown, bytes32 head);

    /// @notice A prepayment was applied: `breakdown` covers the whole payment (its principalPaid includes
    /// `principalPrepaid`), `prepaymentFee` is the fee, `installmentAmount` the re-amortized A.
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
    event Withdrawn(address indexed account, uint256 amount, bytes32 head);

    /// @notice A loan was marked defaulted.
    event LoanDefaulted(
        uint256 indexed loanId,
        address indexed by,
        uint256 owedAtDefault,
        uint256 outstandingPrincipal,
        uint256 unpaidInterest,
        uint256 penaltyAccrued,
        bytes32 head
    );

    /// @notice A defaulted loan was written off: `loss` (outstanding principal) split by share, `absorbed` of it
    /// paid back from the lenders' reserves (Σ min(L_i, reserve_i): this loan's provision first, then the general
    /// reserve), the rest recorded as loss. Provisions for this loan beyond what they absorbed are released to
    /// withdrawable as well.
    event LoanWrittenOff(uint256 indexed loanId, address indexed by, uint256 loss, uint256 absorbed, bytes32 head);

    /// @notice A recovery on a defaulted or written-off loan was split among the lenders.
    event RecoveryApplied(
        uint256 indexed loanId,
        address indexed payer,
        uint256 amount,
        uint256 recovered,
        uint256 outstandingPrincipal,
        bytes32 head
    );

    /// @notice The ledger was paused.
    event LedgerPaused(address indexed account, bytes32 head);

    /// @notice The ledger was unpaused.
    event LedgerUnpaused(address indexed account, bytes32 head);

    /// @notice A role was granted (`granted`) or revoked/renounced (not `granted`) by `by`. The deployment's
    /// admin grant is one too; LENDER_ROLE granted by `registerInstitution` is part of InstitutionRegistered.
    event AccessChanged(
        bytes32 indexed role, address indexed account, address indexed by, bool granted, bytes32 head
    );

    // ----------------------------------------------------------------- errors

    /// @notice An address argument (account, borrower) is zero.
    error ZeroAddress();
    /// @notice An amount argument (principal, payment, withdrawal) is zero.
    error ZeroAmount();
    /// @notice The account is already a registered institution.
    error InstitutionExists(address account);
    /// @notice The account (lender, fee recipient, withdrawer) is not a registered institution.
    error UnknownInstitution(address account);
    /// @notice The annual rate exceeds the policy cap.
    error RateAboveCap(uint256 rateBps, uint256 capBps);
    /// @notice The penalty rate exceeds the policy cap.
    error PenaltyRateAboveCap(uint256 rateBps, uint256 capBps);
    /// @notice The principal exceeds the policy cap.
    error PrincipalAboveCap(uint256 principal, uint256 cap);
    /// @notice The reserve ratio is below the policy minimum.
    error ReserveBelowMinimum(uint256 reserveBps, uint256 minBps);
    /// @notice Co-lending: the platforms' share is below the policy minimum.
    error ShareBelowMinimum(uint256 loanId, uint256 platformShareBps, uint256 minBps);
    /// @notice Funding would take the lender's exposure above the policy cap.
    error ExposureAboveCap(address lender, uint256 exposure, uint256 cap);
    /// @notice A term is out of range. Reasons: 1 periods not in 1..600, 2 periodSeconds zero, 3 feeRecipient set
    /// iff serviceFeeBps > 0 violated, 4 serviceFeeBps > BPS, 5 prepaymentFeeBps > BPS, 6 reserveBps > BPS.
    error InvalidTerms(uint8 reason);
    /// @notice The number of tranches is not in 1..16.
    error InvalidTrancheCount(uint256 count);
    /// @notice A share is zero or the shares do not add up to 10,000 bps (`sum` is their sum).
    error SharesNotWhole(uint256 sum);
    /// @notice A lender appears in two tranches.
    error DuplicateLender(address lender);
    /// @notice The funding deadline has passed (or, at origination, is not in the future).
    error DeadlinePassed(uint256 loanId, uint256 deadline);
    /// @notice The caller holds no tranche of the loan.
    error NotATrancheLender(uint256 loanId, address caller);
    /// @notice The lender's tranche is already funded.
    error AlreadyFunded(uint256 loanId, address lender);
    /// @notice The loan is not in a status that allows the call; `status` is its current status.
    error LoanNotInStatus(uint256 loanId, LoanStatus status);
    /// @notice The amount exceeds what may be paid now (`maxPayable`).
    error Overpayment(uint256 loanId, uint256 amount, uint256 maxPayable);
    /// @notice Two arrays that must have the same length do not.
    error LengthMismatch(uint256 a, uint256 b);
    /// @notice A prepayment would leave principal with no period left to repay it.
    error PrepaymentLeavesNoPeriod(uint256 loanId);
    /// @notice The loan cannot be marked defaulted yet by this caller: overdue since `overdueSince`, the caller
    /// may mark it at `defaultableAt`.
    error NotOverdueLongEnough(uint256 loanId, uint256 overdueSince, uint256 defaultableAt);
    /// @notice Only the originator may cancel before the funding deadline, and nobody once fully funded after it.
    error CancelNotAllowed(uint256 loanId, address caller);
    /// @notice `extensionView` is only for the ledger's own static self-calls.
    error NotSelfCall(address caller);
    /// @notice The ledger received a different amount than it pulled (a fee-on-transfer or rebasing token).
    error UnexpectedTransferAmount(uint256 expected, uint256 received);
}
