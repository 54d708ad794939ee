// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {ScheduleMath} from "../libraries/ScheduleMath.sol";
import {DAY, F_EXTRA, F_PARTIAL, F_PENALTY, Loan, PENALTY_DENOMINATOR} from "../types/LedgerState.sol";
import {LoanCursor, LoanCursorLibrary} from "../types/LoanCursor.sol";

/// @title Waterfall
/// @notice What a payment pays (docs/ledger-spec.md, "Waterfall"): the accrued penalty first, then installments
/// oldest first, interest before principal, with the penalty accrued per second on overdue installments and the
/// credit record's on-time and late counts. Works on a memory copy of the loan's schedule cursor, written back once.
/// @dev Internal library: compiled into the ledger (repay, repayBatch) and into the linked libraries that price or
/// apply payments (Prepayment, CreditRisk, LoanViews). Block time: due dates, grace and penalty compare against
/// `block.timestamp` by nature; a proposer can move it by seconds, which moves a penalty by seconds' interest.
library Waterfall {
    using SafeCast for uint256;

    /// @notice A loan's schedule cursor while a payment is applied (memory only).
    struct Cursor {
        LoanCursor word; // the stored cursor as loaded
        uint256 k; // current installment
        uint256 outstanding; // O_k
        uint256 a; // installment amount A
        uint256 ic; // interest paid in installment k
        uint256 pc; // principal paid in installment k
        uint256 penaltyExact; // accrued unpaid penalty up to now, exactly: in units of 1 / PENALTY_DENOMINATOR
        uint256 penaltyApplied;
        uint256 interestApplied;
        uint256 principalApplied;
        uint256 onTime;
        uint256 late;
        uint256 daysLate;
        uint256 maxDaysLate;
    }

    /// @notice Due date of installment k: disbursedAt + k * periodSeconds.
    function dueDate(Loan storage l, uint256 k) internal view returns (uint256) {
        return uint256(l.disbursedAt) + k * uint256(l.periodSeconds);
    }

    /// @notice Interest and principal due in installment k, given O_k and A.
    function dues(Loan storage l, uint256 k, uint256 outstanding, uint256 a) internal view returns (uint256, uint256) {
        return ScheduleMath.installment(
            uint8(l.method), a, outstanding, l.annualRateBps, l.periodSeconds, k == l.periods
        );
    }

    /// @notice Loads the cursor with the penalty accrued up to now. The flags spare the cold slots holding zeros.
    function load(Loan storage l) internal view returns (Cursor memory c) {
        LoanCursor word = l.cursor;
        c.word = word;
        c.k = word.current();
        c.outstanding = word.outstanding();
        c.a = word.installmentAmount();
        uint256 flags = l.flags;
        if (flags & F_PARTIAL != 0) {
            c.ic = l.interestPaidCur;
            c.pc = l.principalPaidCur;
        }
        c.penaltyExact = pendingPenalty(l, c, word.penaltyCheckpoint());
        if (flags & F_PENALTY != 0) {
            c.penaltyExact += uint256(l.penaltyAccrued) * PENALTY_DENOMINATOR + l.penaltyFraction;
        }
    }

    /// @notice Penalty accrued since `checkpoint` and not yet stored, exactly (in 1 / PENALTY_DENOMINATOR units):
    /// for each overdue installment j with `unpaid_j` still owed, unpaid_j * penaltyRate * (now - from_j), where
    /// from_j is its due date if it was not yet overdue at the checkpoint (nothing accrued for it then: a payment
    /// inside grace does not move its start), else the checkpoint. Rounded once, when it is paid (`penaltyDue`).
    function pendingPenalty(Loan storage l, Cursor memory c, uint256 checkpoint) internal view returns (uint256 acc) {
        uint256 rate = l.penaltyRateBps;
        if (rate == 0 || l.status != ILedgerTypes.LoanStatus.Active) return 0;
        uint256 n = l.periods;
        uint256 grace = l.gracePeriod;
        uint256 outstanding = c.outstanding;
        for (uint256 j = c.k; j <= n; ++j) {
            uint256 due = dueDate(l, j);
            if (block.timestamp <= due + grace) break;
            (uint256 i, uint256 p) = dues(l, j, outstanding, c.a);
            uint256 unpaid = i + p;
            if (j == c.k) unpaid -= c.ic + c.pc;
            uint256 from = checkpoint > due + grace ? checkpoint : due;
            if (block.timestamp > from) acc += ScheduleMath.penaltyNumerator(unpaid, rate, block.timestamp - from);
            outstanding -= p;
        }
    }

    /// @notice The accrued penalty as owed: the exact accrual rounded up once (a due).
    function penaltyDue(Cursor memory c) internal pure returns (uint256) {
        return Math.ceilDiv(c.penaltyExact, PENALTY_DENOMINATOR);
    }

    /// @notice Applies up to `budget` to the accrued penalty (as owed, `penaltyDue`); returns what is left. Paid in
    /// full, the exact accrual is cleared; paid in part, it keeps the exact remainder.
    function payPenalty(Cursor memory c, uint256 budget) internal pure returns (uint256) {
        uint256 owed = penaltyDue(c);
        if (budget >= owed) {
            c.penaltyExact = 0;
            c.penaltyApplied += owed;
            return budget - owed;
        }
        c.penaltyExact -= budget * PENALTY_DENOMINATOR; // budget < owed: budget * D < penaltyExact
        c.penaltyApplied += budget;
        return 0;
    }

    /// @notice Applies up to `budget` to installments oldest first (interest, then principal); returns what is left.
    /// `onlyDue`: only installments already due (due_k <= now); otherwise also the next one not yet due.
    function payInstallments(Loan storage l, Cursor memory c, uint256 budget, bool onlyDue)
        internal
        view
        returns (uint256)
    {
        uint256 n = l.periods;
        uint256 kStart = c.k;
        // With a non-zero rate every installment owes interest (O_k > 0 while Active), so an exhausted budget
        // completes nothing more: stop before computing the next installment's dues. (At rate 0 an installment
        // may owe nothing and completes even with no budget left, so the loop must look at it.)
        bool stopWhenSpent = l.annualRateBps != 0;
        while (c.k <= n) {
            if (budget == 0 && stopWhenSpent) break;
            if (onlyDue) {
                if (dueDate(l, c.k) > block.timestamp) break;
            } else if (c.k != kStart && dueDate(l, c.k - 1) > block.timestamp) {
                break; // installment k-1 is not due yet: k would be a second installment paid early
            }
            (uint256 i, uint256 p) = dues(l, c.k, c.outstanding, c.a);
            uint256 x = Math.min(budget, i - c.ic);
            c.ic += x;
            c.interestApplied += x;
            budget -= x;
            x = Math.min(budget, p - c.pc);
            c.pc += x;
            c.principalApplied += x;
            budget -= x;
            if (c.ic != i || c.pc != p) break;
            completeInstallment(l, c, p, i | p == 0);
        }
        return budget;
    }

    /// @notice Closes installment k in the cursor (its principal `p` paid): credit record, O_{k+1} = O_k - p.
    /// An installment that owed nothing (`owedNothing`: 0 % interest and no principal scheduled) is on time
    /// whenever it completes: it was never overdue.
    function completeInstallment(Loan storage l, Cursor memory c, uint256 p, bool owedNothing) internal view {
        uint256 due = dueDate(l, c.k);
        if (!owedNothing && block.timestamp > due + l.gracePeriod) {
            uint256 d = (block.timestamp - due) / DAY; // floor: whole days late
            c.late += 1;
            c.daysLate += d;
            if (d > c.maxDaysLate) c.maxDaysLate = d;
        } else {
            c.onTime += 1;
        }
        c.outstanding -= p;
        // Repaid: the installments left owe nothing and are skipped, not counted on time or late (spec, closure).
        // Exact integer principal, nothing timestamp-derived: zero means repaid.
        // slither-disable-next-line incorrect-equality
        c.k = c.outstanding == 0 ? uint256(l.periods) + 1 : c.k + 1;
        c.ic = 0;
        c.pc = 0;
    }

    /// @notice interestPaid += `interest`, principalPaid += `principal`, with one read and one write of the slot
    /// they share (slot 3 of Loan: interestPaid in the low 128 bits, principalPaid in the high ones); reverts like
    /// SafeCast past 128 bits. Every repayment does this, so not as two field assignments (two writes).
    function addPaid(Loan storage l, uint256 interest, uint256 principal) internal {
        uint256 v;
        assembly ("memory-safe") {
            v := sload(add(l.slot, 3))
        }
        // interest, principal < 2^130 (one payment) and the fields < 2^128: the sums cannot wrap 256 bits
        uint256 low = ((v & type(uint128).max) + interest).toUint128();
        uint256 packed = low | (uint256(((v >> 128) + principal).toUint128()) << 128);
        assembly ("memory-safe") {
            sstore(add(l.slot, 3), packed)
        }
    }

    /// @notice Stores an exact penalty accrual: whole units and the remainder (< PENALTY_DENOMINATOR < 2^40).
    function storePenalty(Loan storage l, uint256 exact) internal {
        l.penaltyAccrued = (exact / PENALTY_DENOMINATOR).toUint128();
        l.penaltyFraction = uint40(exact % PENALTY_DENOMINATOR);
    }

    /// @notice The due date of the oldest installment (from the cursor's) that still owes something; 0 if none.
    /// Installments owing nothing (0 % interest and no principal scheduled) are never overdue, so lateness and
    /// default are counted from this one.
    function firstOwingDue(Loan storage l, Cursor memory c) internal view returns (uint256) {
        uint256 n = l.periods;
        uint256 outstanding = c.outstanding;
        for (uint256 k = c.k; k <= n; ++k) {
            (uint256 i, uint256 p) = dues(l, k, outstanding, c.a);
            uint256 owed = i + p;
            if (k == c.k) owed -= c.ic + c.pc;
            if (owed != 0) return dueDate(l, k);
            outstanding -= p;
        }
        return 0;
    }

    /// @notice The amount `repay(loanId, amount)` applies: `amount` itself, or for `type(uint256).max` everything due
    /// now (the accrued penalty and every installment already due), applied to `c` on the way.
    /// @return applied The amount the payment pulls; 0 when `amount` is the sentinel and nothing is due.
    /// @return left What `amount` leaves unapplied (non-zero: an overpayment).
    function applyRepayment(Loan storage l, Cursor memory c, uint256 amount)
        internal
        view
        returns (uint256 applied, uint256 left)
    {
        if (amount == type(uint256).max) {
            left = payInstallments(l, c, payPenalty(c, amount), true);
            return (amount - left, 0);
        }
        return (amount, payInstallments(l, c, payPenalty(c, amount), false));
    }

    /// @notice Writes the cursor back (schedule position, A, penalty checkpoint = now, on-time count), the partial
    /// payments, the cumulative interest and principal, the accrued penalty and the late counters; only slots that
    /// change are written. `extra`: penaltyPaid or prepaymentFeePaid grew (F_EXTRA).
    function commit(Loan storage l, Cursor memory c, bool extra) internal {
        uint256 flags = l.flags;
        uint256 newFlags = flags;
        // c.outstanding <= the O_k loaded (< 2^96); c.a < 2^96; c.k <= periods + 1 <= 601; the checkpoint is uint32
        // seconds (valid until 2106); onTime counts installments (<= 600): every field fits its bits.
        l.cursor = LoanCursorLibrary.pack(
            c.outstanding, c.a, c.k, uint32(block.timestamp), c.word.onTime() + c.onTime
        );
        if (c.ic != 0 || c.pc != 0) {
            l.interestPaidCur = uint128(c.ic); // <= one installment's dues, < 2^128
            l.principalPaidCur = uint128(c.pc);
            newFlags |= F_PARTIAL;
        } else if (flags & F_PARTIAL != 0) {
            l.interestPaidCur = 0;
            l.principalPaidCur = 0;
            newFlags &= ~uint256(F_PARTIAL);
        }
        if (c.interestApplied | c.principalApplied != 0) addPaid(l, c.interestApplied, c.principalApplied);
        if (c.penaltyApplied != 0) {
            l.penaltyPaid += c.penaltyApplied.toUint128();
            extra = true;
        }
        if (extra) newFlags |= F_EXTRA;
        if (c.penaltyExact != 0) {
            storePenalty(l, c.penaltyExact);
            newFlags |= F_PENALTY;
        } else if (flags & F_PENALTY != 0) {
            storePenalty(l, 0);
            newFlags &= ~uint256(F_PENALTY);
        }
        if (c.late != 0) {
            l.late += uint16(c.late);
            l.totalDaysLate += c.daysLate.toUint24();
            if (c.maxDaysLate > l.maxDaysLate) l.maxDaysLate = c.maxDaysLate.toUint16();
        }
        if (newFlags != flags) l.flags = uint8(newFlags);
    }
}
