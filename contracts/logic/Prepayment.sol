// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {ScheduleMath} from "../libraries/ScheduleMath.sol";
import {BPS, LedgerState, Loan, loanIn} from "../types/LedgerState.sol";
import {Splitting} from "./Splitting.sol";
import {Waterfall} from "./Waterfall.sol";

/// @title Prepayment
/// @notice Early repayment, 提前还款 (docs/ledger-spec.md, "Prepayment"): the accrued penalty, everything already
/// due, the current installment's interest in full (当期利息照收), the prepaid principal and the prepayment fee, then
/// the rest of the principal re-amortized over the periods left.
/// @dev Linked external library, run by `delegatecall` from CoLendingLedger; the ledger writes the record and pulls
/// the amount. `quote` runs the same simulation as `prepay`, so the quote is what the prepayment pulls.
library Prepayment {
    /// @notice Applies a prepayment of `principalAmount` now.
    /// @param s The ledger's storage.
    /// @param loanId The loan (Active).
    /// @param principalAmount The principal prepaid (> 0).
    /// @return r The whole payment's breakdown.
    /// @return fee The prepayment fee.
    /// @return newA The re-amortized installment amount.
    /// @return total The amount to pull from the payer.
    function prepay(LedgerState storage s, uint256 loanId, uint256 principalAmount)
        external
        returns (ILedgerTypes.RepaymentBreakdown memory r, uint256 fee, uint256 newA, uint256 total)
    {
        if (principalAmount == 0) revert ILedgerErrors.ZeroAmount();
        Loan storage l = loanIn(s, loanId, ILedgerTypes.LoanStatus.Active);
        Waterfall.Cursor memory c;
        (c, fee, newA, total) = _simulate(loanId, l, principalAmount);
        c.a = newA;
        // slither-disable-next-line uninitialized-local (the empty cache means: write each credit through)
        Splitting.Credits memory writeThrough;
        r = Splitting.settle(s, l, c, writeThrough, total, fee);
    }

    /// @notice The exact amount `prepay(loanId, principalAmount)` would pull now.
    /// @param s The ledger's storage.
    /// @param loanId The loan (Active).
    /// @param principalAmount The principal to prepay (> 0).
    /// @return total The amount.
    function quote(LedgerState storage s, uint256 loanId, uint256 principalAmount)
        external
        view
        returns (uint256 total)
    {
        if (principalAmount == 0) revert ILedgerErrors.ZeroAmount();
        (,,, total) = _simulate(loanId, loanIn(s, loanId, ILedgerTypes.LoanStatus.Active), principalAmount);
    }

    /// @dev A prepayment now: accrued penalty, every installment already due, the current installment's full
    /// interest, `principalAmount` as its principal, and the fee ceil(principalAmount * feeBps / BPS). Returns the
    /// cursor after it, the fee, the re-amortized A and the total to pull.
    function _simulate(uint256 loanId, Loan storage l, uint256 principalAmount)
        private
        view
        returns (Waterfall.Cursor memory c, uint256 fee, uint256 newA, uint256 total)
    {
        c = Waterfall.load(l);
        // Everything already due is paid in full: what these leave of an unlimited budget is of no interest.
        // slither-disable-next-line unused-return
        Waterfall.payPenalty(c, type(uint256).max);
        // slither-disable-next-line unused-return
        Waterfall.payInstallments(l, c, type(uint256).max, true);
        uint256 n = l.periods;
        if (c.k > n) revert ILedgerErrors.Overpayment(loanId, principalAmount, 0);
        uint256 maxPrincipal = c.outstanding - c.pc;
        if (principalAmount > maxPrincipal) revert ILedgerErrors.Overpayment(loanId, principalAmount, maxPrincipal);
        (uint256 i, uint256 p) = Waterfall.dues(l, c.k, c.outstanding, c.a);
        // Prepaying accelerates, it never defers: at least the installment's scheduled principal is paid in it.
        uint256 minimum = p > c.pc ? p - c.pc : 0;
        if (principalAmount < minimum) revert ILedgerErrors.PrepaymentBelowSchedule(loanId, principalAmount, minimum);
        // 当期利息照收: the current installment's interest in full
        c.interestApplied += i - c.ic;
        c.principalApplied += principalAmount;
        Waterfall.completeInstallment(l, c, c.pc + principalAmount, false);
        newA = c.a;
        // Principal left means the installment was not the last (it pays at least its scheduled principal, all of
        // it in the last): a period remains to re-amortize over.
        if (c.outstanding != 0) {
            if (l.method != ILedgerTypes.RepaymentMethod.InterestFirst) {
                newA = ScheduleMath.installmentAmount(
                    uint8(l.method), c.outstanding, l.annualRateBps, l.periodSeconds, n + 1 - c.k
                );
            }
        }
        // The cursor keeps A in 96 bits: a re-amortization it cannot hold is refused, by the quote as by the
        // prepayment.
        if (newA > type(uint96).max) revert ILedgerErrors.InstallmentAboveLimit(newA, type(uint96).max);
        fee = Math.mulDiv(principalAmount, l.prepaymentFeeBps, BPS, Math.Rounding.Ceil); // a due: rounds up
        total = c.penaltyApplied + c.interestApplied + c.principalApplied + fee;
    }
}
