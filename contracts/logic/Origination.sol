// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {ScheduleMath} from "../libraries/ScheduleMath.sol";
import {BPS, Institution, LedgerState, Loan, MAX_PERIODS, MAX_TRANCHES} from "../types/LedgerState.sol";
import {TrancheWord, TrancheWordLibrary} from "../types/TrancheWord.sol";
import {Policy} from "./Policy.sol";

/// @title Origination
/// @notice A loan comes into being (docs/ledger-spec.md, "Origination"): its terms and tranches are validated
/// against the limits the ledger can store and against the policy, then stored.
/// @dev Linked external library, run by `delegatecall` from CoLendingLedger on the ledger's storage; the ledger
/// checks the role and the pause and writes the audit record.
library Origination {
    /// @notice Validates and stores a new loan; returns its id.
    /// @param s The ledger's storage.
    /// @param terms The loan's terms.
    /// @param tranches The tranches, lead first.
    /// @return loanId The new loan's id.
    function originate(
        LedgerState storage s,
        ILedgerTypes.LoanTerms memory terms,
        ILedgerTypes.Tranche[] memory tranches
    ) external returns (uint256 loanId) {
        loanId = ++s.loanCount;
        _checkTerms(s, loanId, terms);
        Loan storage l = s.loans[loanId];
        _storeTranches(s, loanId, l, tranches);
        _checkSchedule(s, terms);
        l.status = ILedgerTypes.LoanStatus.Originated;
        l.method = terms.method;
        l.periods = terms.periods;
        l.periodSeconds = terms.periodSeconds;
        l.annualRateBps = terms.annualRateBps;
        l.penaltyRateBps = terms.penaltyRateBps;
        l.serviceFeeBps = terms.serviceFeeBps;
        l.reserveBps = terms.reserveBps;
        l.prepaymentFeeBps = terms.prepaymentFeeBps;
        l.gracePeriod = terms.gracePeriod;
        l.borrower = terms.borrower;
        l.fundingDeadline = terms.fundingDeadline;
        l.feeRecipient = s.indexOf[terms.feeRecipient];
        l.borrowerId = terms.borrowerId;
        l.principal = terms.principal;
        // The policy's timing as it stands now is the loan's for life: a later policy does not reach back.
        ILedgerTypes.PolicyParams storage p = s.policy;
        l.defaultAfter = p.defaultAfter;
        l.publicDefaultDelay = p.publicDefaultDelay;
        l.disburseBy = terms.fundingDeadline + p.disbursementWindow;
        if (terms.loanRef != bytes32(0)) {
            l.loanRef = terms.loanRef;
            s.loanByRef[terms.loanRef] = loanId;
        }
        s.borrowerLoans[terms.borrowerId].push(loanId);
    }

    /// @dev The terms' own limits, the policy's term checks, and the amounts the schedule derives from them.
    function _checkTerms(LedgerState storage s, uint256 loanId, ILedgerTypes.LoanTerms memory terms) private view {
        if (terms.borrower == address(0)) revert ILedgerErrors.ZeroAddress();
        if (terms.principal == 0) revert ILedgerErrors.ZeroAmount();
        // The schedule cursor keeps principal-bounded amounts in 96 bits (7.9e28 base units).
        if (terms.principal > type(uint96).max) {
            revert ILedgerErrors.PrincipalAboveCap(terms.principal, type(uint96).max);
        }
        if (terms.periods == 0 || terms.periods > MAX_PERIODS) {
            revert ILedgerErrors.PeriodsOutOfRange(terms.periods, MAX_PERIODS);
        }
        if (terms.periodSeconds == 0) revert ILedgerErrors.ZeroPeriodSeconds();
        if ((terms.feeRecipient != address(0)) != (terms.serviceFeeBps > 0)) {
            revert ILedgerErrors.FeeRecipientMismatch(terms.feeRecipient, terms.serviceFeeBps);
        }
        if (terms.serviceFeeBps > BPS) revert ILedgerErrors.ServiceFeeAboveWhole(terms.serviceFeeBps);
        if (terms.prepaymentFeeBps > BPS) revert ILedgerErrors.PrepaymentFeeAboveWhole(terms.prepaymentFeeBps);
        if (terms.reserveBps > BPS) revert ILedgerErrors.ReserveAboveWhole(terms.reserveBps);
        if (terms.fundingDeadline <= block.timestamp) {
            revert ILedgerErrors.DeadlinePassed(loanId, terms.fundingDeadline);
        }
        if (terms.feeRecipient != address(0) && s.indexOf[terms.feeRecipient] == 0) {
            revert ILedgerErrors.UnknownInstitution(terms.feeRecipient);
        }
        Policy.checkTerms(s, terms);
        if (terms.loanRef != bytes32(0)) {
            uint256 other = s.loanByRef[terms.loanRef];
            if (other != 0) revert ILedgerErrors.LoanRefTaken(terms.loanRef, other);
        }
    }

    /// @dev The schedule the terms make: its installment amount A (fixed at disbursement from these terms alone)
    /// must fit the cursor's 96 bits - a loan whose A cannot be stored is refused now, not at disbursement with the
    /// lenders' funds committed - and what it actually charges, every interest rounded up, must stay within the
    /// policy's rate cap (Policy.checkEffectiveRate).
    function _checkSchedule(LedgerState storage s, ILedgerTypes.LoanTerms memory terms) private view {
        uint8 method = uint8(terms.method);
        uint256 a = ScheduleMath.installmentAmount(
            method, terms.principal, terms.annualRateBps, terms.periodSeconds, terms.periods
        );
        if (a > type(uint96).max) revert ILedgerErrors.InstallmentAboveLimit(a, type(uint96).max);
        uint256 n = terms.periods;
        uint256 outstanding = terms.principal;
        uint256 interestTotal = 0;
        uint256 balanceTotal = 0;
        for (uint256 k = 1; k <= n && outstanding != 0; ++k) {
            (uint256 i, uint256 p) = ScheduleMath.installment(
                method, a, outstanding, terms.annualRateBps, terms.periodSeconds, k == n
            );
            interestTotal += i;
            balanceTotal += outstanding;
            outstanding -= p;
        }
        Policy.checkEffectiveRate(s, interestTotal, balanceTotal, terms.periodSeconds);
    }

    /// @dev Validates and packs the tranches (lead first), then applies the policy's platform-share check.
    function _storeTranches(
        LedgerState storage s,
        uint256 loanId,
        Loan storage l,
        ILedgerTypes.Tranche[] memory tranches
    ) private {
        uint256 n = tranches.length;
        if (n == 0 || n > MAX_TRANCHES) revert ILedgerErrors.InvalidTrancheCount(n);
        uint256 sum = 0;
        uint256 platformShare = 0;
        bool zeroShare = false;
        TrancheWord[2] memory words = [TrancheWord.wrap(0), TrancheWord.wrap(0)];
        for (uint256 t; t < n; ++t) {
            address lender = tranches[t].lender;
            uint16 share = tranches[t].shareBps;
            uint16 idx = s.indexOf[lender];
            if (idx == 0) revert ILedgerErrors.UnknownInstitution(lender);
            for (uint256 u; u < t; ++u) {
                if (tranches[u].lender == lender) revert ILedgerErrors.DuplicateLender(lender);
            }
            if (share == 0) zeroShare = true;
            sum += share;
            Institution storage inst = s.institutions[idx];
            if (inst.isPool) revert ILedgerErrors.PoolCannotOriginate(lender);
            if (inst.isPlatform) platformShare += share;
            if (share <= BPS) {
                uint256 w = t / TrancheWordLibrary.PER_WORD;
                words[w] = words[w].withEntry(t % TrancheWordLibrary.PER_WORD, idx, share);
            }
        }
        if (zeroShare || sum != BPS) revert ILedgerErrors.SharesNotWhole(sum);
        Policy.checkPlatformShare(s, loanId, n, platformShare);
        l.trancheCount = uint8(n);
        l.tranches[0] = words[0];
        if (n > TrancheWordLibrary.PER_WORD) l.tranches[1] = words[1];
    }
}
