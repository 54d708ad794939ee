// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {F_PENALTY, LedgerState, Loan, loanIn} from "../types/LedgerState.sol";
import {LoanCursor} from "../types/LoanCursor.sol";
import {Closure} from "./Closure.sol";
import {Splitting} from "./Splitting.sol";
import {Waterfall} from "./Waterfall.sol";

/// @title CreditRisk
/// @notice Loans that are not repaid (docs/ledger-spec.md, "Credit risk"): marking a long-overdue loan defaulted,
/// writing it off against the lenders' reserves, and splitting later recoveries.
/// @dev Linked external library, run by `delegatecall` from CoLendingLedger; the ledger checks roles and the pause,
/// writes the records and pulls recoveries.
library CreditRisk {
    using SafeCast for uint256;

    /// @notice Marks an overdue loan defaulted: accrues the penalty, fixes what is owed, stops the schedule.
    /// @param s The ledger's storage.
    /// @param loanId The loan (Active).
    /// @param isServicer Whether the caller holds SERVICER_ROLE (others wait the loan's publicDefaultDelay more).
    /// @return owed outstandingPrincipal + unpaidInterest + penalty.
    /// @return principal The outstanding principal.
    /// @return unpaidInterest The unpaid interest of the installments already due.
    /// @return penalty The accrued unpaid penalty.
    function markDefault(LedgerState storage s, uint256 loanId, bool isServicer)
        external
        returns (uint256 owed, uint256 principal, uint256 unpaidInterest, uint256 penalty)
    {
        Loan storage l = loanIn(s, loanId, ILedgerTypes.LoanStatus.Active);
        Waterfall.Cursor memory c = Waterfall.load(l);
        // Overdue since the oldest installment that still owes something passed its grace: installments owing
        // nothing are never overdue. The timing is the loan's own, fixed at origination (a later policy does
        // not reach back).
        uint256 due = Waterfall.firstOwingDue(l, c);
        uint256 overdueSince = due + l.gracePeriod;
        uint256 defaultableAt = overdueSince + l.defaultAfter;
        if (!isServicer) defaultableAt += l.publicDefaultDelay;
        if (block.timestamp <= overdueSince || block.timestamp < defaultableAt) {
            revert ILedgerErrors.NotOverdueLongEnough(loanId, overdueSince, defaultableAt);
        }
        penalty = Waterfall.penaltyDue(c);
        principal = c.outstanding - c.pc;
        uint256 exact = c.penaltyExact;
        // slither-disable-next-line unused-return (a dry run with an unlimited budget: what is due, unpaid)
        Waterfall.payInstallments(l, c, type(uint256).max, true);
        unpaidInterest = c.interestApplied;
        owed = principal + unpaidInterest + penalty;
        Waterfall.storePenalty(l, exact);
        if (exact != 0) l.flags |= F_PENALTY;
        LoanCursor word = c.word;
        // From now on the cursor's outstanding is the outstanding principal itself (<= O_k: it fits).
        l.cursor = word.withOutstanding(principal).withCheckpoint(uint32(block.timestamp));
        l.owedAtDefault = owed.toUint128();
        l.status = ILedgerTypes.LoanStatus.Defaulted;
    }

    /// @notice Writes a defaulted loan off: the outstanding principal is the loss, split by share, each lender's
    /// reserve absorbing its part first.
    /// @param s The ledger's storage.
    /// @param loanId The loan (Defaulted).
    /// @return loss The principal written off.
    /// @return absorbed The part of it the reserves paid back.
    function writeOff(LedgerState storage s, uint256 loanId) external returns (uint256 loss, uint256 absorbed) {
        Loan storage l = loanIn(s, loanId, ILedgerTypes.LoanStatus.Defaulted);
        LoanCursor word = l.cursor;
        loss = word.outstanding();
        l.status = ILedgerTypes.LoanStatus.WrittenOff;
        l.writtenOff = uint128(loss);
        l.cursor = word.withOutstanding(0);
        absorbed = Closure.endLoan(s, l, loss);
    }

    /// @notice Splits a recovery on a defaulted or written-off loan among its lenders.
    /// @param s The ledger's storage.
    /// @param loanId The loan (Defaulted or WrittenOff).
    /// @param amount The recovery (> 0; cumulative recoveries at most owedAtDefault).
    /// @return recovered The cumulative recoveries after it.
    /// @return outstanding The principal still owed after it (0 once written off or recovered).
    /// @return status The loan's status after it: a defaulted loan whose recoveries reach owedAtDefault is
    /// Recovered, and ends as a closure does (Closure.endLoan: remainders to the lead, exposures and reserves
    /// released).
    function recover(LedgerState storage s, uint256 loanId, uint256 amount)
        external
        returns (uint256 recovered, uint256 outstanding, ILedgerTypes.LoanStatus status)
    {
        if (amount == 0) revert ILedgerErrors.ZeroAmount();
        Loan storage l = s.loans[loanId];
        status = l.status;
        if (status != ILedgerTypes.LoanStatus.Defaulted && status != ILedgerTypes.LoanStatus.WrittenOff) {
            revert ILedgerErrors.LoanNotInStatus(loanId, status);
        }
        recovered = uint256(l.recovered) + amount;
        uint256 owed = l.owedAtDefault;
        if (recovered > owed) revert ILedgerErrors.Overpayment(loanId, amount, owed - l.recovered);
        Splitting.Totals memory before = Splitting.totals(l);
        l.recovered = uint128(recovered);
        LoanCursor word = l.cursor;
        outstanding = word.outstanding();
        if (status == ILedgerTypes.LoanStatus.Defaulted && outstanding != 0) {
            outstanding -= Math.min(amount, outstanding);
            l.cursor = word.withOutstanding(outstanding); // decreased: fits
        }
        bool writtenOff = status == ILedgerTypes.LoanStatus.WrittenOff;
        // slither-disable-next-line uninitialized-local (the empty cache means: write each credit through)
        Splitting.Credits memory writeThrough;
        Splitting.distribute(s, l, writeThrough, before, Splitting.totals(l), writtenOff);
        if (recovered == owed) {
            Splitting.recoveryRemainder(s, l, recovered, writtenOff);
            if (!writtenOff) {
                status = ILedgerTypes.LoanStatus.Recovered;
                l.status = status;
                // slither-disable-next-line unused-return (nothing is absorbed: there is no loss)
                Closure.endLoan(s, l, 0);
            }
        }
    }
}
