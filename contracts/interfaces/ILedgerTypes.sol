// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ILedgerTypes
/// @notice The enumerations and structs of the co-lending ledger's interface: what its functions take and return and
/// what its audit records carry. docs/ledger-spec.md is binding; its section names are the file names of
/// `contracts/logic/`.
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
        WrittenOff, // 7: written off
        Recovered // 8: defaulted, then recovered in full (recoveries reached owedAtDefault): ended
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
        bytes32 loanRef; // the reference the institutions know the loan by (their contract number, encoded or
        // hashed; never personal data); unique when not zero: loanByRef finds the loan
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
        uint32 minPeriodSeconds; // shortest period a loan may have (> 0)
        uint32 maxPeriodSeconds; // longest period a loan may have (>= minPeriodSeconds)
        uint32 maxTenorSeconds; // longest periods * periodSeconds; maxAnnualRateBps * maxTenorSeconds is bounded
        uint32 disbursementWindow; // after fundingDeadline + this, anyone may cancel a funded, undisbursed loan
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
        uint32 defaultAfter; // the policy's defaultAfter when the loan was originated (fixed for the loan)
        uint32 publicDefaultDelay; // the policy's publicDefaultDelay when the loan was originated
        uint40 disburseBy; // fundingDeadline + the policy's disbursementWindow at origination
        bytes32 loanRef; // the institutions' reference (zero if none)
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
}
