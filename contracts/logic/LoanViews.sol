// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {ScheduleMath} from "../libraries/ScheduleMath.sol";
import {LedgerState, Loan} from "../types/LedgerState.sol";
import {LoanCursor} from "../types/LoanCursor.sol";
import {Splitting} from "./Splitting.sol";
import {Waterfall} from "./Waterfall.sol";

/// @title LoanViews
/// @notice What the ledger answers about its loans (docs/ledger-spec.md, "Loan views"): a loan's state, tranches,
/// projected schedule, what it owes now, a lender's position, a borrower's credit record, and the audit snapshot.
/// @dev Linked external library: the ledger's views call it by `delegatecall` (one hop) and return its answer.
/// Every value is computed by the same code that moves the money (Waterfall, Splitting).
library LoanViews {
    /// @dev `auditSnapshot` words per loan, and per tranche after them.
    uint256 private constant SNAPSHOT_LOAN_WORDS = 16;
    uint256 private constant SNAPSHOT_TRANCHE_WORDS = 7;

    /// @notice ICoLendingLedger.getLoan, ABI-encoded as the ledger returns it (the ledger passes these bytes on
    /// without decoding them: one copy of each view's encoder, here).
    /// @param s The ledger's storage.
    function getLoan(LedgerState storage s, uint256 loanId) external view returns (bytes memory) {
        return abi.encode(_getLoan(s, loanId));
    }

    /// @notice ICoLendingLedger.getTranches, ABI-encoded as the ledger returns it (the ledger passes these bytes on
    /// without decoding them: one copy of each view's encoder, here).
    /// @param s The ledger's storage.
    function getTranches(LedgerState storage s, uint256 loanId) external view returns (bytes memory) {
        return abi.encode(_getTranches(s, loanId));
    }

    /// @notice ICoLendingLedger.scheduleOf, ABI-encoded as the ledger returns it (the ledger passes these bytes on
    /// without decoding them: one copy of each view's encoder, here).
    /// @param s The ledger's storage.
    function scheduleOf(LedgerState storage s, uint256 loanId) external view returns (bytes memory) {
        return abi.encode(_scheduleOf(s, loanId));
    }

    /// @notice ICoLendingLedger.amountDue, ABI-encoded as the ledger returns it (the ledger passes these bytes on
    /// without decoding them: one copy of each view's encoder, here).
    /// @param s The ledger's storage.
    function amountDue(LedgerState storage s, uint256 loanId) external view returns (bytes memory) {
        return abi.encode(_amountDue(s, loanId));
    }

    /// @notice ICoLendingLedger.positionOf, ABI-encoded as the ledger returns it (the ledger passes these bytes on
    /// without decoding them: one copy of each view's encoder, here).
    /// @param s The ledger's storage.
    function positionOf(LedgerState storage s, uint256 loanId, address lender) external view returns (bytes memory) {
        return abi.encode(_positionOf(s, loanId, lender));
    }

    /// @notice ICoLendingLedger.creditRecord, ABI-encoded as the ledger returns it (the ledger passes these bytes on
    /// without decoding them: one copy of each view's encoder, here).
    /// @param s The ledger's storage.
    function creditRecord(LedgerState storage s, bytes32 borrowerId) external view returns (bytes memory) {
        return abi.encode(_creditRecord(s, borrowerId));
    }

    /// @notice ICoLendingLedger.auditSnapshot, ABI-encoded as the ledger returns it (the ledger passes these bytes on
    /// without decoding them: one copy of each view's encoder, here).
    /// @param s The ledger's storage.
    function auditSnapshot(LedgerState storage s, uint256 firstId, uint256 count) external view returns (bytes memory) {
        return abi.encode(_auditSnapshot(s, firstId, count));
    }

    /// @notice Full state of a loan (ICoLendingLedger.getLoan).
    function _getLoan(LedgerState storage s, uint256 loanId) private view returns (ILedgerTypes.LoanView memory v) {
        Loan storage l = s.loans[loanId];
        LoanCursor word = l.cursor;
        v.status = l.status;
        v.method = l.method;
        v.borrower = l.borrower;
        v.borrowerId = l.borrowerId;
        v.principal = l.principal;
        v.annualRateBps = l.annualRateBps;
        v.periods = l.periods;
        v.periodSeconds = l.periodSeconds;
        v.gracePeriod = l.gracePeriod;
        v.penaltyRateBps = l.penaltyRateBps;
        v.prepaymentFeeBps = l.prepaymentFeeBps;
        v.serviceFeeBps = l.serviceFeeBps;
        v.feeRecipient = s.institutions[l.feeRecipient].account;
        v.reserveBps = l.reserveBps;
        v.fundingDeadline = l.fundingDeadline;
        v.disbursedAt = l.disbursedAt;
        v.trancheCount = l.trancheCount;
        v.fundedCount = l.fundedCount;
        v.installmentAmount = uint128(word.installmentAmount());
        v.currentInstallment = uint16(word.current());
        v.outstandingAtInstallmentStart = uint128(word.outstanding());
        v.outstandingPrincipal = uint128(_outstandingPrincipal(l));
        v.interestPaidCur = l.interestPaidCur;
        v.principalPaidCur = l.principalPaidCur;
        v.interestPaid = l.interestPaid;
        v.feePaid = uint128(Splitting.feePaid(l));
        v.penaltyPaid = l.penaltyPaid;
        v.prepaymentFeePaid = l.prepaymentFeePaid;
        v.principalPaid = l.principalPaid;
        v.recovered = l.recovered;
        v.penaltyAccrued = l.penaltyAccrued + (l.penaltyFraction != 0 ? 1 : 0); // as owed: rounded up once
        v.penaltyCheckpoint = uint40(word.penaltyCheckpoint());
        v.owedAtDefault = l.owedAtDefault;
        v.writtenOff = l.writtenOff;
        v.defaultAfter = l.defaultAfter;
        v.publicDefaultDelay = l.publicDefaultDelay;
        v.disburseBy = l.disburseBy;
        v.loanRef = l.loanRef;
    }

    /// @dev Principal still owed: O_k minus the current partial principal while Active; the cursor's outstanding
    /// (reduced by recoveries) while Defaulted; 0 otherwise.
    function _outstandingPrincipal(Loan storage l) private view returns (uint256) {
        if (l.status == ILedgerTypes.LoanStatus.Active) return l.cursor.outstanding() - l.principalPaidCur;
        if (l.status == ILedgerTypes.LoanStatus.Defaulted) return l.cursor.outstanding();
        return 0;
    }

    /// @notice The tranches of a loan, lead first (ICoLendingLedger.getTranches).
    function _getTranches(LedgerState storage s, uint256 loanId)
        private
        view
        returns (ILedgerTypes.TrancheView[] memory v)
    {
        Loan storage l = s.loans[loanId];
        uint256 n = l.trancheCount;
        v = new ILedgerTypes.TrancheView[](n);
        for (uint256 t; t < n; ++t) {
            (uint16 idx, uint16 share) = Splitting.trancheAt(l, t);
            v[t] = ILedgerTypes.TrancheView({
                lender: s.institutions[idx].account,
                institution: idx,
                shareBps: share,
                amount: uint128(Splitting.trancheAmount(l, t)),
                funded: l.fundedMask & (1 << t) != 0
            });
        }
    }

    /// @notice The projected installments (ICoLendingLedger.scheduleOf). Before disbursement: the whole schedule
    /// with A computed now and due dates as offsets from 0. Active: installments k..n. Other statuses: empty.
    function _scheduleOf(LedgerState storage s, uint256 loanId)
        private
        view
        returns (ILedgerTypes.InstallmentView[] memory v)
    {
        Loan storage l = s.loans[loanId];
        ILedgerTypes.LoanStatus status = l.status;
        LoanCursor word = l.cursor;
        uint256 n = l.periods;
        uint256 k = word.current();
        uint256 outstanding = word.outstanding();
        uint256 a = word.installmentAmount();
        if (status == ILedgerTypes.LoanStatus.Originated || status == ILedgerTypes.LoanStatus.Funded) {
            k = 1;
            outstanding = l.principal;
            a = ScheduleMath.installmentAmount(uint8(l.method), outstanding, l.annualRateBps, l.periodSeconds, n);
        } else if (status != ILedgerTypes.LoanStatus.Active) {
            return v;
        }
        v = new ILedgerTypes.InstallmentView[](n + 1 - k);
        for (uint256 j = k; j <= n; ++j) {
            (uint256 i, uint256 p) = Waterfall.dues(l, j, outstanding, a);
            ILedgerTypes.InstallmentView memory row = v[j - k];
            row.index = uint16(j);
            row.dueDate = uint40(Waterfall.dueDate(l, j));
            row.outstandingBefore = uint128(outstanding);
            row.interest = uint128(i);
            row.principal = uint128(p);
            if (j == k && status == ILedgerTypes.LoanStatus.Active) {
                row.interestPaid = l.interestPaidCur;
                row.principalPaid = l.principalPaidCur;
            }
            outstanding -= p;
        }
    }

    /// @notice What the loan owes now (ICoLendingLedger.amountDue).
    function _amountDue(LedgerState storage s, uint256 loanId) private view returns (ILedgerTypes.DueView memory v) {
        Loan storage l = s.loans[loanId];
        if (l.status != ILedgerTypes.LoanStatus.Active) return v;
        Waterfall.Cursor memory c = Waterfall.load(l);
        uint256 n = l.periods;
        uint256 grace = l.gracePeriod;
        // the due date of the oldest installment that still owes something (0 if none)
        v.nextDueDate = uint40(Waterfall.firstOwingDue(l, c));
        // Overdue: past due + grace and owing something (an installment owing nothing is never overdue).
        uint256 outstanding = c.outstanding;
        for (uint256 j = c.k; j <= n && block.timestamp > Waterfall.dueDate(l, j) + grace; ++j) {
            (uint256 i, uint256 p) = Waterfall.dues(l, j, outstanding, c.a);
            if (i + p > (j == c.k ? c.ic + c.pc : 0)) v.overdueInstallments += 1;
            outstanding -= p;
        }
        v.penalty = Waterfall.penaltyDue(c);
        // slither-disable-next-line unused-return (a dry run with an unlimited budget: what it applies is the answer)
        Waterfall.payInstallments(l, c, type(uint256).max, true);
        v.interest = c.interestApplied;
        v.principal = c.principalApplied;
        v.totalDue = v.penalty + v.interest + v.principal;
        v.maxPayable = v.totalDue;
        if (c.k <= n) {
            (uint256 i, uint256 p) = Waterfall.dues(l, c.k, c.outstanding, c.a);
            v.maxPayable += i + p - c.ic - c.pc; // the next installment, paid early
        }
    }

    /// @notice A lender's position in a loan (ICoLendingLedger.positionOf); `NotATrancheLender` if it holds none.
    function _positionOf(LedgerState storage s, uint256 loanId, address lender)
        private
        view
        returns (ILedgerTypes.PositionView memory v)
    {
        Loan storage l = s.loans[loanId];
        uint16 idx = s.indexOf[lender];
        uint256 n = l.trancheCount;
        uint256 t = 0;
        uint16 share;
        for (; t < n; ++t) {
            uint16 i;
            (i, share) = Splitting.trancheAt(l, t);
            if (i == idx && idx != 0) break;
        }
        if (t == n) revert ILedgerErrors.NotATrancheLender(loanId, lender);
        v.shareBps = share;
        v.amount = uint128(Splitting.trancheAmount(l, t));
        v.funded = l.fundedMask & (1 << t) != 0;
        v.lead = t == 0;
        (v.incomeCredited, v.reserveHeld, v.principalCredited, v.recoveredCredited) =
            Splitting.positionCredits(l, t, share, Splitting.totals(l));
    }

    /// @notice A borrower's credit record summed over its loans (ICoLendingLedger.creditRecord).
    function _creditRecord(LedgerState storage s, bytes32 borrowerId)
        private
        view
        returns (ILedgerTypes.CreditRecord memory r)
    {
        uint256[] storage ids = s.borrowerLoans[borrowerId];
        uint256 count = ids.length;
        for (uint256 i; i < count; ++i) {
            Loan storage l = s.loans[ids[i]];
            ILedgerTypes.LoanStatus st = l.status;
            if (
                st == ILedgerTypes.LoanStatus.Originated || st == ILedgerTypes.LoanStatus.Funded
                    || st == ILedgerTypes.LoanStatus.Cancelled
            ) continue;
            r.loansTaken += 1;
            if (st == ILedgerTypes.LoanStatus.Active) r.active += 1;
            else if (st == ILedgerTypes.LoanStatus.Closed) r.closed += 1;
            else r.defaulted += 1; // Defaulted, WrittenOff or Recovered: the borrower defaulted
            r.onTimeInstallments += uint32(l.cursor.onTime());
            r.lateInstallments += l.late;
            r.totalDaysLate += l.totalDaysLate;
            if (l.maxDaysLate > r.maxDaysLate) r.maxDaysLate = l.maxDaysLate;
            r.amountWrittenOff += l.writtenOff;
        }
    }

    /// @notice The audit snapshot of loans `firstId`.. (ICoLendingLedger.auditSnapshot, which gives the layout).
    function _auditSnapshot(LedgerState storage s, uint256 firstId, uint256 count)
        private
        view
        returns (uint256[] memory words)
    {
        uint256 last = s.loanCount;
        if (firstId == 0 || firstId > last || count == 0) return words;
        uint256 end = count > last - firstId ? last + 1 : firstId + count;
        uint256 size = 0;
        for (uint256 id = firstId; id < end; ++id) {
            size += SNAPSHOT_LOAN_WORDS + SNAPSHOT_TRANCHE_WORDS * s.loans[id].trancheCount;
        }
        words = new uint256[](size);
        uint256 p = 0;
        for (uint256 id = firstId; id < end; ++id) {
            p = _snapshotLoan(s, words, p, id);
        }
    }

    /// @dev Writes loan `id`'s words into `words` from index `p`; returns the index after them.
    function _snapshotLoan(LedgerState storage s, uint256[] memory words, uint256 p, uint256 id)
        private
        view
        returns (uint256)
    {
        Loan storage l = s.loans[id];
        LoanCursor word = l.cursor;
        uint256 n = l.trancheCount;
        words[p] = id;
        words[p + 1] = uint256(l.status);
        words[p + 2] = uint256(l.borrowerId);
        words[p + 3] = l.fundedCount;
        words[p + 4] = word.current();
        words[p + 5] = word.installmentAmount();
        words[p + 6] = _outstandingPrincipal(l);
        words[p + 7] = l.interestPaid;
        words[p + 8] = Splitting.feePaid(l);
        words[p + 9] = l.penaltyPaid;
        words[p + 10] = l.prepaymentFeePaid;
        words[p + 11] = l.principalPaid;
        words[p + 12] = l.recovered;
        words[p + 13] = l.owedAtDefault;
        words[p + 14] = l.writtenOff;
        words[p + 15] = n;
        p += SNAPSHOT_LOAN_WORDS;
        Splitting.Totals memory tot = Splitting.totals(l);
        for (uint256 t = 0; t < n; ++t) {
            _snapshotTranche(s, l, t, tot, words, p);
            p += SNAPSHOT_TRANCHE_WORDS;
        }
        return p;
    }

    /// @dev Writes tranche `t`'s words into `words` from index `p`.
    function _snapshotTranche(
        LedgerState storage s,
        Loan storage l,
        uint256 t,
        Splitting.Totals memory tot,
        uint256[] memory words,
        uint256 p
    ) private view {
        (uint16 idx, uint16 share) = Splitting.trancheAt(l, t);
        words[p] = uint256(uint160(s.institutions[idx].account));
        words[p + 1] = share;
        words[p + 2] = (l.fundedMask >> t) & 1;
        (uint256 income, uint256 held, uint256 principal, uint256 recovered) =
            Splitting.positionCredits(l, t, share, tot);
        words[p + 3] = income;
        words[p + 4] = held;
        words[p + 5] = principal;
        words[p + 6] = recovered;
    }
}
