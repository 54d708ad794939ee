// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {SplitMath} from "../libraries/SplitMath.sol";
import {AccountWord} from "../types/AccountWord.sol";
import {F_TRANSFERRED, Institution, LedgerState, Loan} from "../types/LedgerState.sol";
import {Splitting} from "./Splitting.sol";

/// @title Closure
/// @notice A loan ends (docs/ledger-spec.md, "Closure"), repaid or written off: the lead takes the income and
/// principal remainders, the lenders' exposures are released, and each lender's reserve for the loan is released,
/// or on a write-off set against its share of the loss first.
/// @dev Linked external library: it runs once per loan, so the ledger's repayment path, which closes a loan with
/// its last payment, calls it by `delegatecall` instead of carrying its code.
library Closure {
    using SafeCast for uint256;

    /// @notice Ends a loan (Closed: `loss` 0; WrittenOff: `loss` = the written-off principal): the lead gets the
    /// income and principal remainders, exposures are released, and each lender's reserve for this loan is
    /// released; on a write-off its reserve absorbs its loss share first.
    /// @param s The ledger's storage.
    /// @param l The loan, its status already Closed or WrittenOff.
    /// @param loss The principal written off (0 at closure).
    /// @return absorbedTotal What the lenders' reserves absorbed of the loss.
    function endLoan(LedgerState storage s, Loan storage l, uint256 loss) external returns (uint256 absorbedTotal) {
        Splitting.Totals memory tot = Splitting.totals(l);
        // Running leftovers; the lead (t == 0, visited last) takes what remains of each.
        uint256 leftIncome = tot.income + tot.principal; // the undistributed remainder (recoveries keep theirs)
        uint256 leftAmount = l.principal; // tranche amounts (exposures)
        uint256 leftLoss = loss; // loss shares
        uint256 reserveBps = l.reserveBps;
        bool transferred = l.flags & F_TRANSFERRED != 0;
        for (uint256 t = l.trancheCount; t != 0;) {
            unchecked {
                --t; // t >= 1 before the decrement: no underflow
            }
            (uint16 idx, uint16 share) = Splitting.trancheAt(l, t);
            // slither-disable-next-line unused-return (recoveries keep their remainder: see recoveryRemainder)
            (uint256 inc, uint256 principalCredit,) = Splitting.creditsOf(l, idx, share, tot, transferred);
            leftIncome -= inc + principalCredit;
            uint256 amount = t == 0 ? leftAmount : SplitMath.bpsOf(l.principal, share);
            leftAmount -= amount;
            uint256 lossShare = t == 0 ? leftLoss : SplitMath.bpsOf(loss, share);
            leftLoss -= lossShare;
            absorbedTotal += _releaseTranche(
                s, idx, amount, SplitMath.bpsOf(inc, reserveBps), lossShare, t == 0 ? leftIncome : 0
            );
        }
    }

    /// @dev One lender's part of ending a loan: its exposure `amount` released; `remainder` (lead only) credited;
    /// its reserve for the loan `held` (capped at its reserve balance, which an earlier write-off may have drawn on)
    /// released to withdrawable. On a write-off (`lossShare` > 0) the reserve absorbs the loss share first:
    /// absorbed = min(lossShare, reserve) (this loan's provision first, then the general reserve), the rest is
    /// recorded as loss, and reserve -= max(absorbed, held) (docs/ledger-spec.md, "Credit risk"). Returns what the
    /// reserve absorbed.
    function _releaseTranche(
        LedgerState storage s,
        uint16 idx,
        uint256 amount,
        uint256 held,
        uint256 lossShare,
        uint256 remainder
    ) private returns (uint256 absorbed) {
        Institution storage inst = s.institutions[idx];
        inst.exposure -= uint128(amount); // added in full when the tranche was funded
        AccountWord word = s.accounts[idx];
        uint256 reserve = word.reserve();
        uint256 release = Math.min(held, reserve);
        if (lossShare != 0) {
            absorbed = Math.min(lossShare, reserve);
            if (absorbed > release) release = absorbed;
            if (lossShare > absorbed) inst.loss += (lossShare - absorbed).toUint128();
        }
        if (release + remainder != 0) {
            s.accounts[idx] = AccountWord.wrap(0).add(word.withdrawable() + release + remainder, reserve - release);
        }
    }
}
