// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {ScheduleMath} from "../libraries/ScheduleMath.sol";
import {Institution, LedgerState, Loan, loanIn} from "../types/LedgerState.sol";
import {LoanCursorLibrary} from "../types/LoanCursor.sol";
import {Policy} from "./Policy.sol";
import {Splitting} from "./Splitting.sol";

/// @title Funding
/// @notice Between origination and the first repayment (docs/ledger-spec.md, "Funding"): each lender funds its
/// tranche, the loan is disbursed to the borrower once every tranche is funded, or cancelled with the funded
/// tranches credited back.
/// @dev Linked external library, run by `delegatecall` from CoLendingLedger; the ledger checks roles and the pause,
/// writes the records and moves the tokens.
library Funding {
    using SafeCast for uint256;

    /// @notice Books the tranche of `lender` (institution `idx`) as funded.
    /// @param s The ledger's storage.
    /// @param loanId The loan (Originated, before its funding deadline).
    /// @param lender The caller.
    /// @return amount The tranche amount to pull from the lender.
    /// @return exposure The lender's exposure after funding.
    /// @return full Whether every tranche is now funded (the loan is Funded).
    function fund(LedgerState storage s, uint256 loanId, address lender)
        external
        returns (uint256 amount, uint256 exposure, bool full)
    {
        Loan storage l = loanIn(s, loanId, ILedgerTypes.LoanStatus.Originated);
        if (block.timestamp > l.fundingDeadline) revert ILedgerErrors.DeadlinePassed(loanId, l.fundingDeadline);
        uint16 idx = s.indexOf[lender];
        uint256 n = l.trancheCount;
        uint256 t = 0;
        for (; t < n; ++t) {
            if (Splitting.institutionAt(l, t) == idx) break;
        }
        if (t == n) revert ILedgerErrors.NotATrancheLender(loanId, lender);
        uint16 bit = uint16(1 << t);
        if (l.fundedMask & bit != 0) revert ILedgerErrors.AlreadyFunded(loanId, lender);
        amount = Splitting.trancheAmount(l, t);
        Institution storage inst = s.institutions[idx];
        exposure = inst.exposure + amount;
        Policy.checkExposure(s, lender, exposure);
        inst.exposure = exposure.toUint128();
        l.fundedMask |= bit;
        full = ++l.fundedCount == n;
        if (full) l.status = ILedgerTypes.LoanStatus.Funded;
    }

    /// @notice Cancels a loan before disbursement; every funded tranche is credited back to its lender's
    /// withdrawable balance (pull, not push) and its exposure released.
    /// @param s The ledger's storage.
    /// @param loanId The loan (Originated or Funded).
    /// @param caller The caller.
    /// @param isOriginator Whether the caller holds ORIGINATOR_ROLE (others only after the funding deadline of an
    /// unfunded loan, or the disbursement deadline of a funded one).
    /// @return refunded Σ of the funded tranches.
    function cancel(LedgerState storage s, uint256 loanId, address caller, bool isOriginator)
        external
        returns (uint256 refunded)
    {
        Loan storage l = s.loans[loanId];
        ILedgerTypes.LoanStatus status = l.status;
        if (status != ILedgerTypes.LoanStatus.Originated && status != ILedgerTypes.LoanStatus.Funded) {
            revert ILedgerErrors.LoanNotInStatus(loanId, status);
        }
        // Anyone may cancel a loan left unfunded past its funding deadline, or funded but not disbursed past its
        // disbursement deadline: the lenders' funds never wait on the originator forever.
        bool expired = status == ILedgerTypes.LoanStatus.Originated
            ? block.timestamp > l.fundingDeadline
            : block.timestamp > l.disburseBy;
        if (!expired && !isOriginator) revert ILedgerErrors.CancelNotAllowed(loanId, caller);
        uint256 mask = l.fundedMask;
        uint256 n = l.trancheCount;
        for (uint256 t; t < n; ++t) {
            if (mask & (1 << t) == 0) continue;
            uint16 idx = Splitting.institutionAt(l, t);
            uint256 amount = Splitting.trancheAmount(l, t);
            refunded += amount;
            s.accounts[idx] = s.accounts[idx].add(amount, 0);
            s.institutions[idx].exposure -= uint128(amount);
        }
        l.status = ILedgerTypes.LoanStatus.Cancelled;
    }

    /// @notice Starts a funded loan's schedule now: installment 1, O_1 = principal, A fixed from the terms.
    /// @param s The ledger's storage.
    /// @param loanId The loan (Funded).
    /// @return borrower Who receives the principal.
    /// @return principal The principal to send.
    /// @return a The installment amount A.
    function disburse(LedgerState storage s, uint256 loanId)
        external
        returns (address borrower, uint256 principal, uint256 a)
    {
        Loan storage l = loanIn(s, loanId, ILedgerTypes.LoanStatus.Funded);
        principal = l.principal;
        // < 2^96: checked at origination, from the same terms
        a = ScheduleMath.installmentAmount(uint8(l.method), principal, l.annualRateBps, l.periodSeconds, l.periods);
        l.status = ILedgerTypes.LoanStatus.Active;
        l.disbursedAt = uint40(block.timestamp);
        l.cursor = LoanCursorLibrary.pack(principal, a, 1, uint32(block.timestamp), 0);
        borrower = l.borrower;
    }
}
