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

    /// @dev Commits the cursor, credits the fee recipient and the lenders (through `cr`), closes the loan once
    /// repaid, and returns the breakdown for the audit record.
    /// `prepaymentFee` (prepay only) is added to the lenders' income with the rest.
    function _settle(Loan storage l, Cursor memory c, Credits memory cr, uint256 amount, uint256 prepaymentFee)
        internal
        returns (RepaymentBreakdown memory r)
    {
        uint256 incomeBefore;
        uint256 principalBefore;
        (incomeBefore, principalBefore, r.feePaid) = _priorTotals(l, c.interestApplied);
        uint256 outstanding = c.outstanding - c.pc;
        if (outstanding == 0) c.k = uint256(l.periods) + 1; // repaid: no installment left (later ones owe 0)
        if (prepaymentFee != 0) l.prepaymentFeePaid += prepaymentFee.toUint128();
        _commit(l, c, prepaymentFee != 0);
        if (r.feePaid != 0) _credit(cr, l.feeRecipient, r.feePaid, 0);
        _distributePayment(
            l,
            cr,
            incomeBefore,
            incomeBefore + c.interestApplied - r.feePaid + c.penaltyApplied + prepaymentFee,
            principalBefore,
            principalBefore + c.principalApplied
        );
        if (outstanding == 0) {
            _flush(cr); // ending a loan moves reserves: the cached credits must be in storage first
            l.status = LoanStatus.Closed;
            _endLoan(l, 0);
        }
        r.amount = amount;
        r.penaltyPaid = c.penaltyApplied;
        r.interestPaid = c.interestApplied;
        r.principalPaid = c.principalApplied;
        r.installment = uint16(c.k);
        r.outstanding = outstanding;
        r.status = outstanding == 0 ? LoanStatus.Closed : LoanStatus.Active;
        r.onTimeCompleted = uint16(c.onTime);
        r.lateCompleted = uint16(c.late);
        r.daysLate = uint32(c.daysLate);
        r.maxDaysLate = uint32(c.maxDaysLate);
        r.penaltyAccrued = c.penalty;
    }

    /// @dev The loan's cumulative income and principal before a payment applying `interestApplied` of interest,
    /// and the service fee that interest carries (one read of the cumulative slot; slot 4 only when non-zero).
    function _priorTotals(Loan storage l, uint256 interestApplied)
        internal
        view
        returns (uint256 income, uint256 principal, uint256 fee)
    {
        uint256 interest = l.interestPaid;
        principal = l.principalPaid;
        income = interest;
        uint256 feeBps = l.serviceFeeBps;
        if (feeBps != 0) {
            uint256 feeBefore = SplitMath.bpsOf(interest, feeBps);
            fee = SplitMath.bpsOf(interest + interestApplied, feeBps) - feeBefore;
            income -= feeBefore;
        }
        if (l.flags & F_EXTRA != 0) income += uint256(l.penaltyPaid) + l.prepaymentFeePaid;
    }

    /// @dev Credits every lender of a payment the increase of its cumulative floor credit on income (between
    /// `incB` and `incA`; the reserve part to `reserve`) and on principal (between `prB` and `prA`): into the
    /// batch cache `cr` if it has capacity, else straight to the account slots.
    // The reserve is a floor of the lender's floored income credit by design (docs/ledger-spec.md, Splitting):
    // dividing before multiplying is the rule, not a precision loss.
    // slither-disable-start divide-before-multiply
    function _distributePayment(Loan storage l, Credits memory cr, uint256 incB, uint256 incA, uint256 prB, uint256 prA)
        internal
    {
        if (cr.idx.length != 0) {
            _distributeCached(l, cr, incB, incA, prB, prA);
            return;
        }
        uint256 n = l.trancheCount;
        uint256 reserveBps = l.reserveBps;
        uint256 accountsSlot;
        assembly ("memory-safe") {
            accountsSlot := _accounts.slot
        }
        uint256 word = l.tranches[0];
        uint256 overflow;
        for (uint256 t; t < n; ++t) {
            if (t == SplitMath.PER_WORD) word = l.tranches[1];
            // The per-lender cost of a repayment, so in assembly. The arithmetic is `_credits`'s (see there why
            // nothing overflows or underflows: components < 2^130, share and reserveBps <= BPS, floors are
            // monotone); entry t of the word is (uint16 institution, uint16 share) at bit 32t (SplitMath.pack).
            // Then _accounts[idx] (withdrawable: low 128 bits, reserve: high 128 bits) is read once and written
            // once; the sums cannot wrap 256 bits, and any carry past 128 bits is collected in `overflow`.
            assembly ("memory-safe") {
                let entry := shr(shl(5, and(t, 7)), word)
                let share := and(shr(16, entry), 0xffff)
                let iB := div(mul(incB, share), 10000)
                let iA := div(mul(incA, share), 10000)
                let resDelta := 0
                if reserveBps {
                    resDelta := sub(div(mul(iA, reserveBps), 10000), div(mul(iB, reserveBps), 10000))
                }
                let wDelta := add(sub(sub(iA, iB), resDelta), sub(div(mul(prA, share), 10000), div(mul(prB, share), 10000)))
                if or(wDelta, resDelta) {
                    mstore(0, and(entry, 0xffff))
                    mstore(32, accountsSlot)
                    let slot := keccak256(0, 64)
                    let v := sload(slot)
                    let w := add(and(v, 0xffffffffffffffffffffffffffffffff), wDelta)
                    let res := add(shr(128, v), resDelta)
                    overflow := or(overflow, shr(128, or(w, res)))
                    sstore(slot, or(w, shl(128, res)))
                }
            }
        }
        if (overflow != 0) revert SafeCast.SafeCastOverflowedUintDowncast(128, overflow << 128);
    }
    // slither-disable-end divide-before-multiply

    /// @dev `_distributePayment` into the batch cache.
    function _distributeCached(Loan storage l, Credits memory cr, uint256 incB, uint256 incA, uint256 prB, uint256 prA)
        private
    {
        uint256 n = l.trancheCount;
        uint256 reserveBps = l.reserveBps;
        uint256 word = l.tranches[0];
        for (uint256 t; t < n; ++t) {
            if (t == SplitMath.PER_WORD) word = l.tranches[1];
            (uint16 idx, uint16 share) = SplitMath.unpack(word, t % SplitMath.PER_WORD);
            uint256 wDelta;
            uint256 resDelta = 0;
            unchecked {
                // Same arithmetic as `_credits` (see there why it cannot overflow or underflow).
                uint256 iB = incB * share / BPS;
                uint256 iA = incA * share / BPS;
                if (reserveBps != 0) {
                    // slither-disable-next-line divide-before-multiply (the reserve is a part of the floored credit)
                    resDelta = iA * reserveBps / BPS - iB * reserveBps / BPS;
                }
                wDelta = iA - iB - resDelta + (prA * share / BPS - prB * share / BPS);
            }
            if (wDelta | resDelta != 0) _credit(cr, idx, wDelta, resDelta);
        }
    }

    /// @dev A batch's credit cache with room for CREDIT_CACHE institutions.
    function _newCredits() internal pure returns (Credits memory cr) {
        cr.idx = new uint256[](CREDIT_CACHE);
        cr.withdrawable = new uint256[](CREDIT_CACHE);
        cr.reserve = new uint256[](CREDIT_CACHE);
    }

    /// @dev Credits institution `idx`: into the cache if it has the institution or room for it, else to storage.
    function _credit(Credits memory cr, uint256 idx, uint256 wDelta, uint256 resDelta) internal {
        uint256 cap = cr.idx.length;
        uint256 count = cr.count;
        for (uint256 i; i < count; ++i) {
            if (cr.idx[i] == idx) {
                cr.withdrawable[i] += wDelta;
                cr.reserve[i] += resDelta;
                return;
            }
        }
        if (count < cap) {
            cr.idx[count] = idx;
            cr.withdrawable[count] = wDelta;
            cr.reserve[count] = resDelta;
            cr.count = count + 1;
            return;
        }
        _addToAccount(uint16(idx), wDelta, resDelta);
    }

    /// @dev Writes the cached credits to storage (one account slot write each) and empties the cache.
    function _flush(Credits memory cr) internal {
        uint256 count = cr.count;
        for (uint256 i; i < count; ++i) {
            _addToAccount(uint16(cr.idx[i]), cr.withdrawable[i], cr.reserve[i]);
        }
        cr.count = 0;
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
        _addToAccount(idx, wDelta, resDelta);
        if (reducesLoss && wDelta != 0) {
            Institution storage inst = _institutions[idx];
            uint256 loss = inst.loss;
            if (loss != 0) inst.loss = uint128(loss - Math.min(loss, wDelta));
        }
    }

    /// @dev Adds to an institution's balances with one read and one write of the packed slot (withdrawable in
    /// the low 128 bits, reserve in the high 128 bits, as `Account` lays them out).
    function _addToAccount(uint16 idx, uint256 wDelta, uint256 resDelta) internal {
        Account storage acc = _accounts[idx];
        uint256 w;
        uint256 res;
        // Deltas are < 2^130 (see `_credits`) and the fields < 2^128, so the sums cannot wrap 256 bits.
        assembly ("memory-safe") {
            let v := sload(acc.slot)
            w := add(and(v, 0xffffffffffffffffffffffffffffffff), wDelta)
            res := add(shr(128, v), resDelta)
        }
        if ((w | res) >> 128 != 0) revert SafeCast.SafeCastOverflowedUintDowncast(128, w > res ? w : res);
        assembly ("memory-safe") {
            sstore(acc.slot, or(w, shl(128, res)))
        }
    }

    /// @dev Ends a loan (Closed: `loss` 0; WrittenOff: `loss` = written-off principal): the lead gets the income
    /// and principal remainders, exposures are released, and each lender's reserve for this loan is released;
    /// on a write-off its reserve absorbs its loss share first (`_releaseTranche`). Returns the total absorbed.
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
                idx, amount, SplitMath.bpsOf(inc, l.reserveBps), lossShare, t == 0 ? left.income : 0
            );
        }
    }

    /// @dev One lender's part of ending a loan: its exposure `amount` released; `remainder` (lead only) credited;
    /// its reserve for the loan `held` (capped at its reserve balance, which an earlier write-off may have drawn
    /// on) released to withdrawable. On a write-off (`lossShare` > 0) the reserve balance absorbs the loss share
    /// first: absorbed = min(lossShare, reserve) (this loan's provision first, then the general reserve), the rest
    /// of the share is recorded as loss, and reserve -= max(absorbed, held) (docs/ledger-spec.md, write-off).
    /// Returns what the reserve absorbed.
    function _releaseTranche(uint16 idx, uint256 amount, uint256 held, uint256 lossShare, uint256 remainder)
        private
        returns (uint256 absorbed)
    {
        Institution storage inst = _institutions[idx];
        inst.exposure -= uint128(amount); // added in full when the tranche was funded
        Account storage acc = _accounts[idx];
        uint256 reserve = acc.reserve;
        uint256 release = Math.min(held, reserve);
        if (lossShare != 0) {
            absorbed = Math.min(lossShare, reserve);
            if (absorbed > release) release = absorbed;
            if (lossShare > absorbed) inst.loss += (lossShare - absorbed).toUint128();
        }
        if (release != 0) acc.reserve = uint128(reserve - release); // release <= reserve
        if (release + remainder != 0) acc.withdrawable += (release + remainder).toUint128();
    }
}
