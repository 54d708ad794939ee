// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {SplitMath} from "../libraries/SplitMath.sol";
import {AccountWord} from "../types/AccountWord.sol";
import {F_EXTRA, Institution, LedgerState, Loan} from "../types/LedgerState.sol";
import {TrancheWord, TrancheWordLibrary} from "../types/TrancheWord.sol";
import {Closure} from "./Closure.sol";
import {Waterfall} from "./Waterfall.sol";

/// @title Splitting
/// @notice Where the money of a loan goes (docs/ledger-spec.md, "Splitting"): the service fee carved out of the
/// interest, every lender credited the increase of its cumulative floor share of each component (the reserve part of
/// its income held back). What happens when the loan ends is in Closure.
/// @dev Internal library. Every credit goes through `distribute` and `credit`: straight to the account words, or,
/// in a batch, into a memory cache written once per institution (`flush`).
library Splitting {
    using SafeCast for uint256;

    /// @notice A loan's cumulative split components.
    struct Totals {
        uint256 income; // interestPaid - feePaid + penaltyPaid + prepaymentFeePaid
        uint256 principal; // principalPaid
        uint256 recovered; // recovered
    }

    /// @notice Lender credits of a batch, kept in memory and written once per institution by `flush`. With no
    /// capacity (a zero-initialised struct) every credit is written through at once.
    struct Credits {
        uint256 count;
        uint256[] idx;
        uint256[] withdrawable;
        uint256[] reserve;
    }

    /// @dev Capacity of a batch's credit cache (institutions).
    uint256 private constant CREDIT_CACHE = 16;

    // ----------------------------------------------------------------- tranches

    /// @notice Tranche `t` of the loan: institution index and share.
    function trancheAt(Loan storage l, uint256 t) internal view returns (uint16 institution, uint16 shareBps) {
        return l.tranches[t / TrancheWordLibrary.PER_WORD].at(t % TrancheWordLibrary.PER_WORD);
    }

    /// @notice The institution index of tranche `t`.
    function institutionAt(Loan storage l, uint256 t) internal view returns (uint16 institution) {
        return l.tranches[t / TrancheWordLibrary.PER_WORD].institutionAt(t % TrancheWordLibrary.PER_WORD);
    }

    /// @notice Principal of tranche `t`: floor(principal * share / BPS), the lead (t == 0) takes the rest.
    function trancheAmount(Loan storage l, uint256 t) internal view returns (uint256) {
        uint256 principal = l.principal;
        if (t != 0) {
            (, uint16 share) = trancheAt(l, t);
            return SplitMath.bpsOf(principal, share);
        }
        return principal - othersOf(l, principal);
    }

    /// @notice Σ over the non-lead tranches of floor(amount * share / BPS).
    function othersOf(Loan storage l, uint256 amount) internal view returns (uint256 sum) {
        uint256 n = l.trancheCount;
        for (uint256 t = 1; t < n; ++t) {
            (, uint16 share) = trancheAt(l, t);
            sum += SplitMath.bpsOf(amount, share);
        }
    }

    // ------------------------------------------------------------------- totals

    /// @notice Cumulative service fee: floor(interestPaid * serviceFeeBps / BPS).
    function feePaid(Loan storage l) internal view returns (uint256) {
        return SplitMath.bpsOf(l.interestPaid, l.serviceFeeBps);
    }

    /// @notice The loan's cumulative split components.
    function totals(Loan storage l) internal view returns (Totals memory t) {
        uint256 interestPaid = l.interestPaid;
        t.income = interestPaid - SplitMath.bpsOf(interestPaid, l.serviceFeeBps) + l.penaltyPaid + l.prepaymentFeePaid;
        t.principal = l.principalPaid;
        t.recovered = l.recovered;
    }

    /// @notice Tranche `t`'s cumulative credits given the loan's totals `tot` (PositionView's last four fields): its
    /// income credit (and what of it is still held in reserve for this loan), principal and recoveries. The lead
    /// (t == 0) takes the income and principal remainders once the loan has ended, the recoveries' remainder once
    /// recoveries reach owedAtDefault.
    function positionCredits(Loan storage l, uint256 t, uint256 share, Totals memory tot)
        internal
        view
        returns (uint256 income, uint256 held, uint256 principal, uint256 recovered)
    {
        income = SplitMath.bpsOf(tot.income, share);
        principal = SplitMath.bpsOf(tot.principal, share);
        recovered = SplitMath.bpsOf(tot.recovered, share);
        ILedgerTypes.LoanStatus status = l.status;
        if (status == ILedgerTypes.LoanStatus.Active || status == ILedgerTypes.LoanStatus.Defaulted) {
            held = SplitMath.bpsOf(income, l.reserveBps);
        }
        // Closed, WrittenOff or Recovered: the loan's reserve was released (or absorbed) when it ended; held stays 0.
        if (
            t == 0
                && (
                    status == ILedgerTypes.LoanStatus.Closed || status == ILedgerTypes.LoanStatus.WrittenOff
                        || status == ILedgerTypes.LoanStatus.Recovered
                )
        ) {
            income = tot.income - othersOf(l, tot.income);
            principal = tot.principal - othersOf(l, tot.principal);
        }
        if (t == 0 && tot.recovered != 0 && tot.recovered == l.owedAtDefault) {
            recovered = tot.recovered - othersOf(l, tot.recovered);
        }
    }

    // ------------------------------------------------------------------ credits

    /// @notice A batch's credit cache.
    function newCredits() internal pure returns (Credits memory cr) {
        cr.idx = new uint256[](CREDIT_CACHE);
        cr.withdrawable = new uint256[](CREDIT_CACHE);
        cr.reserve = new uint256[](CREDIT_CACHE);
    }

    /// @notice Credits institution `idx` `wDelta` to withdrawable and `resDelta` to reserve: into the cache if it
    /// holds the institution or has room for it, else straight to its account word.
    function credit(LedgerState storage s, Credits memory cr, uint256 idx, uint256 wDelta, uint256 resDelta)
        internal
    {
        uint256 count = cr.count;
        for (uint256 i; i < count; ++i) {
            if (cr.idx[i] == idx) {
                cr.withdrawable[i] += wDelta;
                cr.reserve[i] += resDelta;
                return;
            }
        }
        if (count < cr.idx.length) {
            cr.idx[count] = idx;
            cr.withdrawable[count] = wDelta;
            cr.reserve[count] = resDelta;
            cr.count = count + 1;
            return;
        }
        AccountWord word = s.accounts[uint16(idx)];
        s.accounts[uint16(idx)] = word.add(wDelta, resDelta);
    }

    /// @notice Writes the cached credits to the account words (one write each) and empties the cache.
    function flush(LedgerState storage s, Credits memory cr) internal {
        uint256 count = cr.count;
        for (uint256 i; i < count; ++i) {
            uint16 idx = uint16(cr.idx[i]);
            s.accounts[idx] = s.accounts[idx].add(cr.withdrawable[i], cr.reserve[i]);
        }
        cr.count = 0;
    }

    /// @notice Credits every lender the increase of its cumulative floor credit on each component between totals
    /// `b` and `a`; the reserve part of its income credit goes to its reserve. `reducesLoss`: the credits
    /// (recoveries after a write-off) also reduce each lender's recorded loss. Remainders stay undistributed here
    /// (see `endLoan` and `recoveryRemainder`).
    // The reserve is a floor of the lender's floored income credit by design (docs/ledger-spec.md, "Splitting"):
    // dividing before multiplying is the rule, not a precision loss.
    // slither-disable-start divide-before-multiply
    function distribute(
        LedgerState storage s,
        Loan storage l,
        Credits memory cr,
        Totals memory b,
        Totals memory a,
        bool reducesLoss
    ) internal {
        uint256 n = l.trancheCount;
        uint256 reserveBps = l.reserveBps;
        (uint256 incB, uint256 incA, uint256 prB, uint256 prA) = (b.income, a.income, b.principal, a.principal);
        (uint256 recB, uint256 recA) = (b.recovered, a.recovered);
        TrancheWord word = l.tranches[0];
        if (cr.idx.length != 0 || recA != recB) {
            for (uint256 t; t < n; ++t) {
                if (t == TrancheWordLibrary.PER_WORD) word = l.tranches[1];
                (uint256 idx, uint256 share) = word.next(); // entry t: the word moves on by one entry each time
                word = word.rest();
                (uint256 wDelta, uint256 resDelta) = SplitMath.lenderCredit(incB, incA, prB, prA, share, reserveBps);
                if (recA != recB) wDelta += SplitMath.increase(recB, recA, share);
                if (wDelta | resDelta == 0) continue;
                credit(s, cr, idx, wDelta, resDelta);
                if (reducesLoss && wDelta != 0) _reduceLoss(s.institutions[uint16(idx)], wDelta);
            }
            return;
        }
        // Written through, a payment (no recoveries): this runs once per lender, so the account word's update
        // (AccountWord.add) is spelled out, with one slot computation, one read and one write, and one overflow
        // check at the end.
        mapping(uint16 => AccountWord) storage accounts = s.accounts;
        uint256 overflow;
        for (uint256 first; first < n; first += TrancheWordLibrary.PER_WORD) {
            if (first != 0) word = l.tranches[1];
            uint256 end = n - first < TrancheWordLibrary.PER_WORD ? n : first + TrancheWordLibrary.PER_WORD;
            for (uint256 t = first; t < end; ++t) {
                (uint256 idx, uint256 share) = word.next();
                word = word.rest();
                (uint256 wDelta, uint256 resDelta) = SplitMath.lenderCredit(incB, incA, prB, prA, share, reserveBps);
                assembly ("memory-safe") {
                    if or(wDelta, resDelta) {
                        mstore(0, idx)
                        mstore(32, accounts.slot)
                        let slot := keccak256(0, 64)
                        let v := sload(slot)
                        // deltas < 2^130 and fields < 2^128: the sums cannot wrap 256 bits; a carry past 128 bits
                        // is collected in `overflow`
                        let w := add(and(v, 0xffffffffffffffffffffffffffffffff), wDelta)
                        let r := add(shr(128, v), resDelta)
                        overflow := or(overflow, shr(128, or(w, r)))
                        sstore(slot, or(w, shl(128, r)))
                    }
                }
            }
        }
        if (overflow != 0) revert SafeCast.SafeCastOverflowedUintDowncast(128, overflow << 128);
    }
    // slither-disable-end divide-before-multiply

    /// @dev Reduces an institution's recorded loss by a recovery credit (not below 0).
    function _reduceLoss(Institution storage inst, uint256 amount) private {
        uint256 loss = inst.loss;
        if (loss != 0) inst.loss = uint128(loss - Math.min(loss, amount));
    }

    /// @notice Once recoveries reach owedAtDefault they are final: their remainder (< one unit per tranche) goes to
    /// the lead, as closure does for income and principal.
    function recoveryRemainder(LedgerState storage s, Loan storage l, uint256 recovered, bool reducesLoss) internal {
        (uint16 lead, uint16 leadShare) = trancheAt(l, 0);
        uint256 leftover = recovered - othersOf(l, recovered) - SplitMath.bpsOf(recovered, leadShare);
        if (leftover == 0) return;
        s.accounts[lead] = s.accounts[lead].add(leftover, 0);
        if (reducesLoss) _reduceLoss(s.institutions[lead], leftover);
    }

    // --------------------------------------------------------------- settlement

    /// @notice Settles an applied payment: commits the cursor, credits the fee recipient and the lenders (through
    /// `cr`), closes the loan once repaid, and returns the breakdown for the audit record. `prepaymentFee` (prepay
    /// only) is lender income with the rest.
    function settle(
        LedgerState storage s,
        Loan storage l,
        Waterfall.Cursor memory c,
        Credits memory cr,
        uint256 amount,
        uint256 prepaymentFee
    ) internal returns (ILedgerTypes.RepaymentBreakdown memory r) {
        // The totals before the payment and the service fee its interest carries, from one read of the cumulative
        // slot (slot 4 only when it holds something).
        uint256 interest = l.interestPaid;
        Totals memory b = Totals({income: interest, principal: l.principalPaid, recovered: 0});
        uint256 feeBps = l.serviceFeeBps;
        if (feeBps != 0) {
            uint256 feeBefore = SplitMath.bpsOf(interest, feeBps);
            r.feePaid = SplitMath.bpsOf(interest + c.interestApplied, feeBps) - feeBefore;
            b.income -= feeBefore;
        }
        if (l.flags & F_EXTRA != 0) b.income += uint256(l.penaltyPaid) + l.prepaymentFeePaid;
        Totals memory a = Totals({
            income: b.income + c.interestApplied - r.feePaid + c.penaltyApplied + prepaymentFee,
            principal: b.principal + c.principalApplied,
            recovered: 0
        });
        uint256 outstanding = c.outstanding - c.pc;
        if (outstanding == 0) c.k = uint256(l.periods) + 1; // repaid: no installment left (later ones owe 0)
        if (prepaymentFee != 0) l.prepaymentFeePaid += prepaymentFee.toUint128();
        Waterfall.commit(l, c, prepaymentFee != 0);
        if (r.feePaid != 0) credit(s, cr, l.feeRecipient, r.feePaid, 0);
        distribute(s, l, cr, b, a, false);
        if (outstanding == 0) {
            flush(s, cr); // ending a loan moves reserves: the cached credits must be in storage first
            l.status = ILedgerTypes.LoanStatus.Closed;
            // slither-disable-next-line unused-return (nothing is absorbed at a closure: there is no loss)
            Closure.endLoan(s, l, 0);
        }
        r.amount = amount;
        r.penaltyPaid = c.penaltyApplied;
        r.interestPaid = c.interestApplied;
        r.principalPaid = c.principalApplied;
        r.installment = uint16(c.k);
        r.outstanding = outstanding;
        r.status = outstanding == 0 ? ILedgerTypes.LoanStatus.Closed : ILedgerTypes.LoanStatus.Active;
        r.onTimeCompleted = uint16(c.onTime);
        r.lateCompleted = uint16(c.late);
        r.daysLate = uint32(c.daysLate);
        r.maxDaysLate = uint32(c.maxDaysLate);
        r.penaltyAccrued = Waterfall.penaltyDue(c);
    }
}
