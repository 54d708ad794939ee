// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerEvents} from "../interfaces/ILedgerEvents.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {SplitMath} from "../libraries/SplitMath.sol";
import {
    BPS,
    F_POOL,
    F_TRANSFERRED,
    F_WRITE_OFF_SHARES,
    Institution,
    LedgerState,
    Loan,
    MAX_TRANCHES,
    Offer,
    PoolCollections
} from "../types/LedgerState.sol";
import {AuditHead} from "../types/AuditHead.sol";
import {OffsetWord, OffsetWordLibrary} from "../types/OffsetWord.sol";
import {TrancheWord, TrancheWordLibrary} from "../types/TrancheWord.sol";
import {AuditChain} from "./AuditChain.sol";
import {Policy} from "./Policy.sol";
import {Splitting} from "./Splitting.sol";

/// @title Participations
/// @notice Positions change hands (docs/ledger-spec.md, "Participations"): a holder offers part or all of its share
/// of a loan to a named institution at a price, the buyer accepts, and the position moves with the offset rule
/// that keeps every holder's credits exact - what was credited before stays with the seller, every unit after
/// follows the new shares.
/// @dev Linked external library, run by `delegatecall` from CoLendingLedger; the ledger checks the pause and the
/// lock and pulls the price; the records are written here (AuditChain, from the head the ledger passes and stores):
/// the ledger's own code stays within its size budget.
library Participations {
    using SafeCast for uint256;

    /// @dev What an acceptance moves.
    struct Transfer {
        uint256 loanId;
        address seller;
        address buyer;
        uint256 shareBps;
        uint256 price;
    }

    /// @dev A holding in a loan: the tranche index (trancheCount if the institution holds none) and its share.
    struct Holding {
        uint256 t;
        uint256 share;
    }

    /// @notice Opens an offer of `shareBps` of loan `loanId` from the caller's position to `buyer` and writes its
    /// record (PositionOffered) after `head`.
    /// @param s The ledger's storage.
    /// @param head The audit head.
    /// @param loanId The loan (Active, Defaulted or WrittenOff).
    /// @param seller The caller: a registered institution holding at least `shareBps` of the loan.
    /// @param buyer A registered institution other than the seller.
    /// @param shareBps The share of the loan offered (> 0).
    /// @param price The price in the settlement token (< 2^128).
    /// @param expiry The last second at which the offer can be accepted (>= now).
    /// @return The new audit head.
    /// @return offerId The new offer's id (from 1).
    function offer(
        LedgerState storage s,
        AuditHead head,
        uint256 loanId,
        address seller,
        address buyer,
        uint256 shareBps,
        uint256 price,
        uint256 expiry
    ) external returns (AuditHead, uint256 offerId) {
        if (expiry < block.timestamp) revert ILedgerErrors.DeadlinePassed(loanId, expiry);
        if (price > type(uint128).max) revert ILedgerErrors.PriceAboveLimit(price, type(uint128).max);
        uint16 sellerIdx = s.indexOf[seller];
        uint16 buyerIdx = s.indexOf[buyer];
        Loan storage l = s.loans[loanId];
        _check(l, loanId, seller, sellerIdx, buyer, buyerIdx, shareBps);
        offerId = ++s.offerCount;
        s.offers[offerId] = Offer({
            price: uint128(price),
            expiry: expiry.toUint40(),
            loanId: loanId.toUint40(),
            seller: sellerIdx,
            buyer: buyerIdx,
            shareBps: uint16(shareBps)
        });
        // The words the acceptance writes, allocated now (zero offsets): the acceptance then changes a non-zero
        // slot instead of creating one (docs/ledger-spec.md, "Participations", storage and gas).
        if (OffsetWord.unwrap(l.offsets[sellerIdx]) == 0) l.offsets[sellerIdx] = OffsetWordLibrary.ZERO;
        if (OffsetWord.unwrap(l.offsets[buyerIdx]) == 0) l.offsets[buyerIdx] = OffsetWordLibrary.ZERO;
        bytes memory rec = abi.encode(
            0, ILedgerEvents.PositionOffered.selector, loanId, seller, buyer, offerId, shareBps, price, expiry, 0
        );
        return (AuditChain.append(head, rec, 3), offerId);
    }

    /// @notice Accepts offer `offerId`: re-checks it, moves the position and credits the price to the seller (the
    /// ledger pulls it from the buyer in the same call), closes the offer and writes its record
    /// (PositionTransferred) after `head`.
    /// @param s The ledger's storage.
    /// @param head The audit head.
    /// @param offerId The offer (open, not expired).
    /// @param caller The buyer's account.
    /// @return The new audit head.
    /// @return The price to pull from the buyer.
    function accept(LedgerState storage s, AuditHead head, uint256 offerId, address caller)
        external
        returns (AuditHead, uint256)
    {
        Offer memory o = s.offers[offerId];
        if (o.loanId == 0) revert ILedgerErrors.OfferNotOpen(offerId);
        if (block.timestamp > o.expiry) revert ILedgerErrors.OfferExpired(offerId, o.expiry);
        Institution storage buyer = s.institutions[o.buyer];
        if (buyer.account != caller) revert ILedgerErrors.NotOfferBuyer(offerId, caller);
        delete s.offers[offerId];
        Institution storage seller = s.institutions[o.seller];
        Transfer memory x =
            Transfer({loanId: o.loanId, seller: seller.account, buyer: caller, shareBps: o.shareBps, price: o.price});
        Loan storage l = s.loans[x.loanId];
        (Holding memory from, Holding memory to) =
            _check(l, x.loanId, x.seller, o.seller, caller, o.buyer, x.shareBps);
        uint256 n = l.trancheCount;
        if (to.t == n && n == MAX_TRANCHES) revert ILedgerErrors.InvalidTrancheCount(n + 1);
        bool writtenOff = l.status == ILedgerTypes.LoanStatus.WrittenOff;
        _checkPlatformShare(s, l, x.loanId, from, to, x.shareBps, seller.isPlatform, buyer.isPlatform);
        if (!writtenOff) _moveExposure(s, l, o, from, to, x.shareBps, caller);
        _moveOffsets(l, o.seller, o.buyer, x.shareBps, writtenOff, buyer.isPool);
        _moveShares(l, from, to, o.buyer, x.shareBps);
        if (x.price != 0) s.accounts[o.seller] = s.accounts[o.seller].add(x.price, 0);
        bytes memory rec = abi.encode(
            0, ILedgerEvents.PositionTransferred.selector, x.loanId, x.seller, caller, offerId, x.shareBps, x.price, 0
        );
        return (AuditChain.append(head, rec, 3), x.price);
    }

    /// @notice Closes offer `offerId` unaccepted and writes its record (OfferCancelled) after `head`.
    /// @param s The ledger's storage.
    /// @param head The audit head.
    /// @param offerId The offer (open).
    /// @param caller The seller's account.
    /// @return The new audit head.
    function cancel(LedgerState storage s, AuditHead head, uint256 offerId, address caller)
        external
        returns (AuditHead)
    {
        Offer storage o = s.offers[offerId];
        uint256 loanId = o.loanId;
        if (loanId == 0) revert ILedgerErrors.OfferNotOpen(offerId);
        if (s.institutions[o.seller].account != caller) revert ILedgerErrors.NotOfferSeller(offerId, caller);
        delete s.offers[offerId];
        return AuditChain.append(head, abi.encode(0, ILedgerEvents.OfferCancelled.selector, loanId, caller, offerId, 0), 2);
    }

    /// @notice ICoLendingLedger.offerOf, ABI-encoded as the ledger returns it.
    /// @param s The ledger's storage.
    /// @param offerId The offer.
    /// @return The encoded OfferView (all zero unless the offer is open).
    function offerOf(LedgerState storage s, uint256 offerId) external view returns (bytes memory) {
        Offer memory o = s.offers[offerId];
        if (o.loanId == 0) return abi.encode(ILedgerTypes.OfferView(0, address(0), address(0), 0, 0, 0));
        return abi.encode(
            ILedgerTypes.OfferView({
                loanId: o.loanId,
                seller: s.institutions[o.seller].account,
                buyer: s.institutions[o.buyer].account,
                shareBps: o.shareBps,
                price: o.price,
                expiry: o.expiry
            })
        );
    }

    // ------------------------------------------------------------------ credits

    /// @notice Splitting.distribute for a loan whose positions changed hands (F_TRANSFERRED): every holder, past
    /// and present, is credited the increase of its credits with its offsets (Splitting.creditsOf) between totals
    /// `b` and `a`, written through to the account words; `reducesLoss`: recoveries after a write-off, which reduce
    /// a holder's recorded loss only on the share it held at the write-off and still holds (`shareKept`).
    /// @param s The ledger's storage.
    /// @param l The loan.
    /// @param b The loan's totals before.
    /// @param a The loan's totals after.
    /// @param reducesLoss Whether the credits reduce recorded losses.
    // The reserve is a floor of the holder's floored income credit by design (Splitting).
    // slither-disable-start divide-before-multiply
    function distribute(
        LedgerState storage s,
        Loan storage l,
        Splitting.Totals memory b,
        Splitting.Totals memory a,
        bool reducesLoss
    ) external {
        uint256 n = l.trancheCount;
        uint256 reserveBps = l.reserveBps;
        bool pooled = l.flags & F_POOL != 0;
        for (uint256 t; t < n; ++t) {
            (uint16 idx, uint16 share) = Splitting.trancheAt(l, t);
            if (share == 0) continue; // a past holder: its credits no longer move
            (uint256 incB, uint256 prB, uint256 recB) = Splitting.creditsOf(l, idx, share, b, true);
            (uint256 incA, uint256 prA, uint256 recA) = Splitting.creditsOf(l, idx, share, a, true);
            uint256 resDelta = SplitMath.bpsOf(incA, reserveBps) - SplitMath.bpsOf(incB, reserveBps);
            uint256 wDelta = incA - incB - resDelta + (prA - prB) + (recA - recB);
            if (wDelta | resDelta == 0) continue;
            s.accounts[idx] = s.accounts[idx].add(wDelta, resDelta);
            Institution storage inst = s.institutions[idx];
            if (pooled && (prA - prB) + (recA - recB) != 0 && inst.isPool) {
                _addPoolCollections(s.poolCollections[idx], prA - prB, recA - recB);
            }
            if (reducesLoss && wDelta != 0) {
                Splitting.reduceLoss(inst, _lossReduction(l, t, share, wDelta, b.recovered, a.recovered));
            }
        }
    }

    /// @dev A pool's cumulative principal and recovery credits grow by `principal` and `recovered` (each credit is
    /// at most the loan's principal or owedAtDefault, below 2^128; the totals are checked).
    function _addPoolCollections(PoolCollections storage c, uint256 principal, uint256 recovered) private {
        c.principal = (c.principal + principal).toUint128();
        c.recovered = (c.recovered + recovered).toUint128();
    }
    // slither-disable-end divide-before-multiply

    /// @notice min(share, tranche `t`'s share at the write-off): the part of its share a holder held at the
    /// write-off and still holds. Before any transfer after the write-off the shares are those of the write-off.
    /// @param l The loan.
    /// @param t The tranche.
    /// @param share Its share now.
    function shareKept(Loan storage l, uint256 t, uint256 share) internal view returns (uint256) {
        if (l.flags & F_WRITE_OFF_SHARES == 0) return share;
        // slither-disable-next-line unused-return (the institution index of the entry is not needed)
        (, uint16 atWriteOff) = l.sharesAtWriteOff[t / TrancheWordLibrary.PER_WORD].at(t % TrancheWordLibrary.PER_WORD);
        return Math.min(share, atWriteOff);
    }

    /// @dev What of tranche `t`'s recovery credit `wDelta` (recoveries from `recB` to `recA`) reduces its holder's
    /// recorded loss, with m = `shareKept`: all of it if m == share, the increase of floor(recovered * m / BPS) if
    /// 0 < m < share, nothing if m == 0.
    function _lossReduction(Loan storage l, uint256 t, uint256 share, uint256 wDelta, uint256 recB, uint256 recA)
        private
        view
        returns (uint256)
    {
        uint256 m = shareKept(l, t, share);
        if (m == share) return wDelta;
        return m == 0 ? 0 : SplitMath.increase(recB, recA, m);
    }

    // ------------------------------------------------------------------ checks

    /// @dev The checks an offer and its acceptance share; returns the seller's and the buyer's holdings (the
    /// buyer's tranche index is trancheCount when it holds none).
    function _check(
        Loan storage l,
        uint256 loanId,
        address seller,
        uint16 sellerIdx,
        address buyer,
        uint16 buyerIdx,
        uint256 shareBps
    ) private view returns (Holding memory from, Holding memory to) {
        ILedgerTypes.LoanStatus status = l.status;
        if (
            status != ILedgerTypes.LoanStatus.Active && status != ILedgerTypes.LoanStatus.Defaulted
                && status != ILedgerTypes.LoanStatus.WrittenOff
        ) revert ILedgerErrors.LoanNotInStatus(loanId, status);
        if (shareBps == 0) revert ILedgerErrors.ZeroShare();
        if (sellerIdx == 0) revert ILedgerErrors.UnknownInstitution(seller);
        if (buyerIdx == 0) revert ILedgerErrors.UnknownInstitution(buyer);
        if (buyerIdx == sellerIdx) revert ILedgerErrors.SelfTransfer(seller);
        uint256 n = l.trancheCount;
        from.t = n;
        to.t = n;
        for (uint256 t; t < n; ++t) {
            (uint16 idx, uint16 share) = Splitting.trancheAt(l, t);
            if (idx == sellerIdx) (from.t, from.share) = (t, share);
            else if (idx == buyerIdx) (to.t, to.share) = (t, share);
        }
        if (from.share < shareBps) revert ILedgerErrors.ShareNotHeld(loanId, seller, from.share, shareBps);
    }

    /// @dev The platform minimum (docs/ledger-spec.md, "Participations"): checked when the transfer lowers the
    /// platforms' share (a platform sells to a non-platform) or makes a one-holder loan co-lent, if more than one
    /// holder then holds a positive share.
    function _checkPlatformShare(
        LedgerState storage s,
        Loan storage l,
        uint256 loanId,
        Holding memory from,
        Holding memory to,
        uint256 shareBps,
        bool sellerIsPlatform,
        bool buyerIsPlatform
    ) private view {
        bool lowers = sellerIsPlatform && !buyerIsPlatform;
        bool becomesCoLent = from.share == BPS && shareBps < BPS;
        if (!lowers && !becomesCoLent) return;
        uint256 n = l.trancheCount;
        uint256 holders = 0;
        uint256 platformShare = 0;
        for (uint256 t; t < n; ++t) {
            (uint16 idx, uint16 share) = Splitting.trancheAt(l, t);
            uint256 after_ = t == from.t ? share - shareBps : t == to.t ? share + shareBps : share;
            if (after_ == 0) continue;
            ++holders;
            if (s.institutions[idx].isPlatform) platformShare += after_;
        }
        if (to.t == n) {
            ++holders; // the buyer, new to the loan
            if (buyerIsPlatform) platformShare += shareBps;
        }
        if (holders > 1) Policy.checkPlatformShare(s, loanId, holders, platformShare);
    }

    // ------------------------------------------------------------------ moves

    /// @dev Tranche amounts floor(P * share / BPS) (the lead takes the rest) change for the seller, the buyer and
    /// the lead; each one's exposure changes by its amount's change (they sum to 0). The buyer's exposure after
    /// must stay within the policy's cap.
    function _moveExposure(
        LedgerState storage s,
        Loan storage l,
        Offer memory o,
        Holding memory from,
        Holding memory to,
        uint256 shareBps,
        address buyer
    ) private {
        uint256 principal = l.principal;
        // Changes of the non-lead amounts; the lead's is minus their sum.
        int256 dSeller = from.t == 0
            ? int256(0)
            : int256(SplitMath.bpsOf(principal, from.share - shareBps)) - int256(SplitMath.bpsOf(principal, from.share));
        int256 dBuyer = to.t == 0
            ? int256(0)
            : int256(SplitMath.bpsOf(principal, to.share + shareBps)) - int256(SplitMath.bpsOf(principal, to.share));
        int256 dLead = -(dSeller + dBuyer);
        if (from.t == 0) dSeller = dLead;
        else if (to.t == 0) dBuyer = dLead;
        else if (dLead != 0) _addExposure(s.institutions[Splitting.institutionAt(l, 0)], dLead);
        _addExposure(s.institutions[o.seller], dSeller);
        uint256 exposure = _addExposure(s.institutions[o.buyer], dBuyer);
        Policy.checkExposure(s, buyer, exposure);
    }

    /// @dev exposure += delta; returns the new exposure.
    function _addExposure(Institution storage inst, int256 delta) private returns (uint256 exposure) {
        exposure = uint256(int256(uint256(inst.exposure)) + delta);
        inst.exposure = exposure.toUint128();
    }

    /// @dev The offset rule (docs/ledger-spec.md, "Participations"): with each component standing at T, the
    /// seller's offset grows by T * shareBps and the buyer's shrinks by as much, so neither one's credit moves now.
    /// After a write-off, the first transfer keeps the shares of the write-off (for the loss a recovery reduces).
    /// A pool buying marks the loan F_POOL: its later credits count in the pool's collections.
    function _moveOffsets(
        Loan storage l,
        uint16 seller,
        uint16 buyer,
        uint256 shareBps,
        bool writtenOff,
        bool buyerIsPool
    ) private {
        Splitting.Totals memory tot = Splitting.totals(l);
        int256 di = int256(tot.income * shareBps);
        int256 dp = int256(tot.principal * shareBps);
        (int256 si, int256 sp) = l.offsets[seller].offsets();
        l.offsets[seller] = OffsetWordLibrary.pack(si + di, sp + dp);
        (int256 bi, int256 bp) = l.offsets[buyer].offsets();
        l.offsets[buyer] = OffsetWordLibrary.pack(bi - di, bp - dp);
        if (tot.recovered != 0) {
            int256 dr = int256(tot.recovered * shareBps);
            l.recoveryOffsets[seller] += dr;
            l.recoveryOffsets[buyer] -= dr;
        }
        uint8 flags = l.flags;
        if (writtenOff && flags & F_WRITE_OFF_SHARES == 0) {
            l.sharesAtWriteOff[0] = l.tranches[0];
            if (l.trancheCount > TrancheWordLibrary.PER_WORD) l.sharesAtWriteOff[1] = l.tranches[1];
            flags |= F_WRITE_OFF_SHARES;
        }
        if (buyerIsPool) flags |= F_POOL;
        l.flags = flags | F_TRANSFERRED;
    }

    /// @dev The seller's share shrinks, the buyer's grows or the buyer's tranche is appended (funded: the loan is
    /// disbursed). Each tranche word touched is written once.
    function _moveShares(Loan storage l, Holding memory from, Holding memory to, uint16 buyer, uint256 shareBps)
        private
    {
        uint256 per = TrancheWordLibrary.PER_WORD;
        uint256 n = l.trancheCount;
        TrancheWord[2] memory words = [l.tranches[0], n > per ? l.tranches[1] : TrancheWord.wrap(0)];
        words[from.t / per] = words[from.t / per].withShare(from.t % per, from.share - shareBps);
        if (to.t < n) {
            words[to.t / per] = words[to.t / per].withShare(to.t % per, to.share + shareBps);
        } else {
            words[n / per] = words[n / per].withEntry(n % per, buyer, shareBps);
            l.trancheCount = uint8(n + 1);
        }
        if (from.t < per || to.t < per) l.tranches[0] = words[0];
        if (from.t >= per || to.t >= per) l.tranches[1] = words[1];
    }
}
