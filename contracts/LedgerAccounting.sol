// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {LedgerStorage} from "./LedgerStorage.sol";
import {SplitMath} from "./libraries/SplitMath.sol";

/// @title LedgerAccounting
/// @notice Where the money of a payment goes: the cursor is committed, the service fee credited, every lender
/// credited the increase of its cumulative floor share (the reserve part held back), and, when a loan ends, the
/// lead given the remainders, exposures released and reserves released or set against the loss
/// (docs/ledger-spec.md, "Splitting", "Overdue, penalty, default, write-off, recovery").
/// @dev No state of its own: the storage layout is LedgerStorage's.
abstract contract LedgerAccounting is LedgerStorage {
    using SafeCast for uint256;

    /// @dev Commits the cursor, credits the fee recipient and the lenders, closes the loan once repaid, and
    /// returns the breakdown for the audit record.
    /// `prepaymentFee` (prepay only) is added to the lenders' income with the rest.
    function _settle(Loan storage l, Cursor memory c, uint256 amount, uint256 prepaymentFee)
        internal
        returns (RepaymentBreakdown memory r)
    {
        // Before/after totals from one read of the cumulative slots (a repaid loan has no recoveries).
        uint256 interestBefore = l.interestPaid;
        uint256 feeBps = l.serviceFeeBps;
        uint256 feeBefore = SplitMath.bpsOf(interestBefore, feeBps);
        r.feePaid = SplitMath.bpsOf(interestBefore + c.interestApplied, feeBps) - feeBefore;
        Totals memory before = Totals({income: 0, principal: 0, recovered: 0});
        before.income = interestBefore - feeBefore + l.penaltyPaid + l.prepaymentFeePaid;
        before.principal = l.principalPaid;
        Totals memory afterwards = Totals({income: 0, principal: 0, recovered: 0});
        afterwards.income =
            before.income + c.interestApplied - r.feePaid + c.penaltyApplied + prepaymentFee;
        afterwards.principal = before.principal + c.principalApplied;
        uint256 outstanding = c.outstanding - c.pc;
        if (outstanding == 0) c.k = uint256(l.periods) + 1; // repaid: no installment left (later ones owe 0)
        if (prepaymentFee != 0) l.prepaymentFeePaid += prepaymentFee.toUint128();
        _commit(l, c);
        if (r.feePaid != 0) _accounts[l.feeRecipient].withdrawable += r.feePaid.toUint128();
        _distribute(l, before, afterwards, false);
        if (outstanding == 0) {
            l.status = LoanStatus.Closed;
            _endLoan(l, 0);
        }
        r.amount = amount;
        r.penaltyPaid = c.penaltyApplied;
        r.interestPaid = c.interestApplied;
        r.principalPaid = c.principalApplied;
        r.installment = uint16(c.k);
        r.outstanding = outstanding;
        r.status = l.status;
        r.onTimeCompleted = uint16(c.onTime);
        r.lateCompleted = uint16(c.late);
        r.daysLate = uint32(c.daysLate);
        r.maxDaysLate = uint32(c.maxDaysLate);
        r.penaltyAccrued = c.penalty;
    }

    // ------------------------------------------------------------------ splits

    /// @dev Cumulative service fee: floor(interestPaid * serviceFeeBps / BPS).
    function _feePaid(Loan storage l) internal view returns (uint256) {
        return SplitMath.bpsOf(l.interestPaid, l.serviceFeeBps);
    }

    /// @dev The loan's cumulative split components.
    function _totals(Loan storage l) internal view returns (Totals memory t) {
        uint256 interestPaid = l.interestPaid;
        t.income = interestPaid - SplitMath.bpsOf(interestPaid, l.serviceFeeBps) + l.penaltyPaid
            + l.prepaymentFeePaid;
        t.principal = l.principalPaid;
        t.recovered = l.recovered;
    }

    /// @dev Credits every lender the increase of its cumulative floor credit on each component between `b` and
    /// `a`; the reserve part of the income credit goes to `reserve`. `writtenOff`: the credits (recoveries) also
    /// reduce each lender's recorded loss. Remainders stay undistributed here: the lead gets the income and
    /// principal remainders when the loan ends (closure or write-off), the recoveries' remainder once recoveries
    /// reach owedAtDefault (a remainder handed out earlier could call for a negative credit later).
    function _distribute(Loan storage l, Totals memory b, Totals memory a, bool writtenOff) internal {
        uint256 n = l.trancheCount;
        uint256 reserveBps = l.reserveBps;
        uint256 word = l.tranches[0];
        for (uint256 t; t < n; ++t) {
            if (t == SplitMath.PER_WORD) word = l.tranches[1];
            (uint16 idx, uint16 share) = SplitMath.unpack(word, t % SplitMath.PER_WORD);
            (uint256 wDelta, uint256 resDelta) = _credits(b, a, share, reserveBps);
            if (wDelta != 0 || resDelta != 0) _creditAccount(idx, wDelta, resDelta, writtenOff);
        }
    }

    /// @dev A lender's credit increase between totals `b` and `a`: to withdrawable (income net of reserve,
    /// principal, recoveries) and to reserve (the reserve part of its income credit).
    function _credits(Totals memory b, Totals memory a, uint256 share, uint256 reserveBps)
        internal
        pure
        returns (uint256 wDelta, uint256 resDelta)
    {
        unchecked {
            // Hot path, so plain arithmetic instead of Math.mulDiv, with the same result: every component is below
            // 2^130 and share, reserveBps <= BPS, so no product overflows, and `x * y / BPS` is exactly
            // mulDiv(x, y, BPS, floor). Floors are monotone in x, so no difference underflows, and the reserve
            // increase never exceeds the income increase (reserveBps <= BPS, checked at origination).
            uint256 incB = b.income * share / BPS;
            uint256 incA = a.income * share / BPS;
            // The reserve is a part of the floored income credit, by the spec: divide first on purpose.
            // slither-disable-next-line divide-before-multiply
            resDelta = incA * reserveBps / BPS - incB * reserveBps / BPS;
            wDelta = incA - incB - resDelta + (a.principal * share / BPS - b.principal * share / BPS)
                + (a.recovered * share / BPS - b.recovered * share / BPS);
        }
    }

    /// @dev Adds to an institution's balances (one slot); `reducesLoss`: the credit also reduces its recorded loss.
    function _creditAccount(uint16 idx, uint256 wDelta, uint256 resDelta, bool reducesLoss) internal {
        if (wDelta == 0 && resDelta == 0) return;
        Account storage acc = _accounts[idx];
        if (wDelta != 0) acc.withdrawable += wDelta.toUint128();
        if (resDelta != 0) acc.reserve += resDelta.toUint128();
        if (reducesLoss && wDelta != 0) {
            Institution storage inst = _institutions[idx];
            uint256 loss = inst.loss;
            if (loss != 0) inst.loss = uint128(loss - Math.min(loss, wDelta));
        }
    }

    /// @dev Ends a loan (Closed: `loss` 0; WrittenOff: `loss` = written-off principal): the lead gets the income
    /// and principal remainders, exposures are released, and each lender's reserve for this loan is released
    /// (Closed) or absorbs its loss share first (WrittenOff). Returns the total absorbed by reserves.
    function _endLoan(Loan storage l, uint256 loss) internal returns (uint256 absorbedTotal) {
        Totals memory tot = _totals(l);
        // Running leftovers; the lead (t == 0, visited last) takes what remains of each.
        Totals memory left = Totals({
            income: tot.income + tot.principal, // undistributed remainder (recoveries keep theirs: see _distribute)
            principal: l.principal, // tranche amounts (exposure)
            recovered: loss // loss shares
        });
        for (uint256 t = l.trancheCount; t != 0;) {
            unchecked {
                --t; // t >= 1 before the decrement: no underflow
            }
            (uint16 idx, uint16 share) = _trancheAt(l, t);
            uint256 inc = SplitMath.bpsOf(tot.income, share);
            left.income -= inc + SplitMath.bpsOf(tot.principal, share);
            uint256 amount = t == 0 ? left.principal : SplitMath.bpsOf(l.principal, share);
            left.principal -= amount;
            uint256 lossShare = t == 0 ? left.recovered : SplitMath.bpsOf(loss, share);
            left.recovered -= lossShare;
            absorbedTotal += _releaseTranche(
                idx, amount, SplitMath.bpsOf(inc, l.reserveBps), loss != 0, lossShare, t == 0 ? left.income : 0
            );
        }
    }

    /// @dev One lender's part of ending a loan: its exposure `amount` released; its reserve for the loan `held`
    /// released (closed) or set against its `lossShare` (written off, the rest recorded as loss); `remainder`
    /// (lead only) credited. Returns what the reserve absorbed.
    function _releaseTranche(
        uint16 idx,
        uint256 amount,
        uint256 held,
        bool writtenOff,
        uint256 lossShare,
        uint256 remainder
    ) private returns (uint256 release) {
        Institution storage inst = _institutions[idx];
        inst.exposure -= uint128(amount); // added in full when the tranche was funded
        release = held;
        if (writtenOff) {
            release = Math.min(lossShare, held); // the provision pays the lender back first
            if (lossShare > release) inst.loss += (lossShare - release).toUint128();
        }
        Account storage acc = _accounts[idx];
        if (release != 0) acc.reserve -= uint128(release);
        if (release + remainder != 0) acc.withdrawable += (release + remainder).toUint128();
        if (!writtenOff) release = 0; // only a write-off reports absorption
    }
}
