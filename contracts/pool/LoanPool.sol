// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICoLendingLedger} from "../interfaces/ICoLendingLedger.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {ILoanPool} from "../interfaces/ILoanPool.sol";
import {AuditChain} from "../logic/AuditChain.sol";
import {AuditHead} from "../types/AuditHead.sol";
import {PoolClassToken} from "./PoolClassToken.sol";

/// @title LoanPool
/// @notice A pool of positions bought on a CoLendingLedger, financed by a senior and a junior class
/// (docs/ledger-spec.md, "Loan pools"): subscribe during the subscription window, the arranger buys positions
/// through the ledger's offers, anyone distributes what the ledger credited the pool through the waterfall (senior
/// coupon, principal to senior then junior, the rest to junior; losses written down junior first, restored senior
/// first), and investors claim in O(1) with per-class cumulative amounts per token.
/// @dev One contract per pool, registered on the ledger with `registerPool`. Its audit head (the ledger's format
/// and rule, types/AuditHead.sol) also holds the reentrancy lock of the calls that move tokens. State is written
/// before tokens move; the settlement token and the ledger are the only contracts called besides the class tokens.
contract LoanPool is ILoanPool {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @dev Basis points in one whole.
    uint256 private constant BPS = 10_000;
    /// @dev Seconds in a year (ACT/365 fixed).
    uint256 private constant YEAR = 365 days;
    /// @dev The scale of the cumulative amounts per class token.
    uint256 private constant ACC_SCALE = 1e18;

    ICoLendingLedger private immutable LEDGER;
    IERC20 private immutable TOKEN;
    PoolClassToken private immutable SENIOR;
    PoolClassToken private immutable JUNIOR;
    address private immutable ARRANGER;
    uint16 private immutable SENIOR_COUPON_BPS;
    uint16 private immutable MIN_JUNIOR_BPS;
    uint40 private immutable SUBSCRIPTION_END;
    uint40 private immutable PURCHASE_END;

    /// @dev The pool's books, packed (PoolState without `unclaimed`, which is the token balance less `cash`).
    struct Book {
        uint128 seniorBalance;
        uint128 juniorBalance;
        uint128 seniorWrittenDown;
        uint128 juniorWrittenDown;
        uint128 seniorInterestOwed;
        uint128 cash;
        uint128 collected;
        uint128 principalSeen;
        uint128 lossSeen;
        uint40 accruedAt;
        bool bought; // a position was bought (the junior minimum was checked)
    }

    /// @dev A holder's claims in one class: the cumulative amount per token at its last checkpoint and what it
    /// earned up to then and has not claimed.
    struct Holder {
        uint160 paid;
        uint96 owed;
    }

    AuditHead private _auditHead;
    Book private _book;
    /// @dev Per class: paid to the class × ACC_SCALE / its supply, cumulative (each step floored).
    uint256[2] private _acc;
    mapping(address holder => Holder)[2] private _holders;

    /// @param ledger_ The ledger the pool buys positions on (its token() is the settlement token).
    /// @param arranger_ Who buys positions into the pool.
    /// @param terms_ The pool's terms, fixed for its life.
    /// @param name The pool's name: the class tokens are "<name> Senior" (SNR) and "<name> Junior" (JNR).
    constructor(address ledger_, address arranger_, PoolTerms memory terms_, string memory name) {
        if (ledger_ == address(0) || arranger_ == address(0)) revert ZeroAddress();
        if (terms_.minJuniorBps > BPS) revert MinJuniorAboveWhole(terms_.minJuniorBps);
        LEDGER = ICoLendingLedger(ledger_);
        IERC20 token_ = IERC20(LEDGER.token());
        TOKEN = token_;
        ARRANGER = arranger_;
        SENIOR_COUPON_BPS = terms_.seniorCouponBps;
        MIN_JUNIOR_BPS = terms_.minJuniorBps;
        SUBSCRIPTION_END = terms_.subscriptionEnd;
        PURCHASE_END = terms_.purchaseEnd;
        uint8 decimals = IERC20Metadata(address(token_)).decimals();
        SENIOR = new PoolClassToken(string.concat(name, " Senior"), "SNR", decimals);
        JUNIOR = new PoolClassToken(string.concat(name, " Junior"), "JNR", decimals);
        // The coupon runs from the end of the subscription window, when the senior balance is final.
        _book.accruedAt = terms_.subscriptionEnd;
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ILoanPool
    function terms() external view returns (PoolTerms memory) {
        return PoolTerms(SENIOR_COUPON_BPS, MIN_JUNIOR_BPS, SUBSCRIPTION_END, PURCHASE_END);
    }

    /// @inheritdoc ILoanPool
    function state() external view returns (PoolState memory v) {
        Book memory b = _book;
        v.seniorBalance = b.seniorBalance;
        v.juniorBalance = b.juniorBalance;
        v.seniorWrittenDown = b.seniorWrittenDown;
        v.juniorWrittenDown = b.juniorWrittenDown;
        v.seniorInterestOwed = b.seniorInterestOwed;
        v.cash = b.cash;
        v.collected = b.collected;
        v.principalSeen = b.principalSeen;
        v.lossSeen = b.lossSeen;
        v.unclaimed = TOKEN.balanceOf(address(this)) - b.cash;
        v.accruedAt = b.accruedAt;
    }

    /// @inheritdoc ILoanPool
    function ledger() external view returns (address) {
        return address(LEDGER);
    }

    /// @inheritdoc ILoanPool
    function token() external view returns (address) {
        return address(TOKEN);
    }

    /// @inheritdoc ILoanPool
    function senior() external view returns (address) {
        return address(SENIOR);
    }

    /// @inheritdoc ILoanPool
    function junior() external view returns (address) {
        return address(JUNIOR);
    }

    /// @inheritdoc ILoanPool
    function arranger() external view returns (address) {
        return ARRANGER;
    }

    /// @inheritdoc ILoanPool
    function auditHead() external view returns (bytes32) {
        return _auditHead.value();
    }

    /// @inheritdoc ILoanPool
    function claimable(uint8 cls, address holder) external view returns (uint256) {
        return _claimable(cls, _classToken(cls), holder, _holders[cls][holder]);
    }

    // ------------------------------------------------------------------ investors

    /// @inheritdoc ILoanPool
    function subscribe(uint8 cls, uint256 amount) external {
        PoolClassToken classToken = _classToken(cls);
        if (block.timestamp > SUBSCRIPTION_END) revert SubscriptionClosed(SUBSCRIPTION_END);
        if (amount == 0) revert ZeroAmount();
        AuditHead head = _lock();
        Book storage b = _book;
        b.cash = (b.cash + amount).toUint128();
        if (cls == 0) b.seniorBalance = (b.seniorBalance + amount).toUint128();
        else b.juniorBalance = (b.juniorBalance + amount).toUint128();
        head = AuditChain.append(head, abi.encode(0, PoolSubscribed.selector, msg.sender, cls, amount, 0), 1);
        _auditHead = head;
        _pull(msg.sender, amount);
        classToken.mint(msg.sender, amount); // checkpoints the investor first (onClassTransfer)
        _auditHead = head.unlocked();
    }

    /// @inheritdoc ILoanPool
    /// @dev No lock, like the ledger's withdraw: the only external calls are the class token's balance (a view)
    /// and the final transfer, made once the claim is zeroed and its record written. A claim while a locked call
    /// runs is refused.
    function claim(uint8 cls) external returns (uint256 amount) {
        AuditHead head = _auditHead;
        if (head.isLocked()) revert ReentrantCall();
        PoolClassToken classToken = _classToken(cls);
        Holder storage h = _holders[cls][msg.sender];
        amount = _claimable(cls, classToken, msg.sender, h);
        if (amount == 0) revert NothingToClaim();
        _holders[cls][msg.sender] = Holder(uint160(_acc[cls]), 0); // acc < 2^160 (checked where it grows)
        _auditHead = AuditChain.append(head, abi.encode(0, Claimed.selector, msg.sender, cls, amount, 0), 1);
        TOKEN.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc ILoanPool
    function onClassTransfer(address from, address to) external {
        uint256 cls;
        if (msg.sender == address(SENIOR)) cls = 0;
        else if (msg.sender == address(JUNIOR)) cls = 1;
        else revert NotClassToken(msg.sender);
        uint256 a = _acc[cls];
        if (a == 0) return; // nothing was ever paid to the class: nothing to checkpoint
        IERC20 classToken = IERC20(msg.sender);
        if (from != address(0)) _checkpoint(_holders[cls][from], classToken, from, a);
        if (to != address(0) && to != from) _checkpoint(_holders[cls][to], classToken, to, a);
    }

    // ------------------------------------------------------------------ arranger

    /// @inheritdoc ILoanPool
    function buy(uint256 offerId) external {
        if (msg.sender != ARRANGER) revert NotArranger(msg.sender);
        if (block.timestamp > PURCHASE_END) revert PurchaseClosed(PURCHASE_END);
        AuditHead head = _lock();
        ILedgerTypes.OfferView memory o = LEDGER.offerOf(offerId);
        Book storage b = _book;
        if (!b.bought) {
            uint256 juniorSubscribed = JUNIOR.totalSupply();
            uint256 total = SENIOR.totalSupply() + juniorSubscribed;
            if (juniorSubscribed * BPS < total * MIN_JUNIOR_BPS) {
                revert JuniorBelowMinimum(juniorSubscribed * BPS / total, MIN_JUNIOR_BPS); // total > 0 here
            }
            b.bought = true;
        }
        uint256 cash = b.cash;
        if (o.price > cash) revert InsufficientCash(o.price, cash);
        b.cash = uint128(cash - o.price);
        head = AuditChain.append(
            head, abi.encode(0, PositionBought.selector, offerId, o.loanId, o.shareBps, o.price, 0), 2
        );
        _auditHead = head;
        // Exactly the price: the ledger pulls it in acceptOffer, which re-checks the offer (open, not expired,
        // this pool its buyer) and moves the position.
        if (o.price != 0) TOKEN.forceApprove(address(LEDGER), o.price);
        LEDGER.acceptOffer(offerId);
        _auditHead = head.unlocked();
    }

    // ------------------------------------------------------------------ distribution

    /// @dev What one distribution moves (the Distributed record's fields).
    struct Flows {
        uint256 collected;
        uint256 interest;
        uint256 principal;
        uint256 seniorInterest;
        uint256 seniorPrincipal;
        uint256 juniorPrincipal;
        uint256 juniorResidual;
        int256 lossChange;
    }

    /// @inheritdoc ILoanPool
    function distribute() external {
        AuditHead head = _lock();
        Book memory b = _book;
        Flows memory f;
        ILedgerTypes.AccountView memory account = LEDGER.accountOf(address(this));
        f.collected = account.withdrawable;
        uint256 released = block.timestamp > PURCHASE_END ? b.cash : 0;
        if (f.collected == 0 && released == 0 && account.loss == b.lossSeen) revert NothingToDistribute();
        // Principal collections: the ledger's principal and recovery credits since the last distribution (all of
        // them are in what is withdrawn now: principal credits go to withdrawable), and the released cash.
        (uint256 principalCredits, uint256 recoveryCredits) = LEDGER.poolCollectionsOf(address(this));
        uint256 seen = principalCredits + recoveryCredits;
        uint256 ledgerPrincipal = seen - b.principalSeen;
        f.principal = ledgerPrincipal + released;
        f.interest = f.collected - ledgerPrincipal;
        b.principalSeen = seen.toUint128();
        b.cash -= uint128(released);
        b.collected = (b.collected + f.collected).toUint128();
        _accrue(b);
        f.lossChange = _allocateLoss(b, account.loss);
        _waterfall(b, f);
        _book = b;
        head = AuditChain.append(
            head,
            abi.encode(
                0,
                Distributed.selector,
                f.collected,
                f.interest,
                f.principal,
                f.seniorInterest,
                f.seniorPrincipal,
                f.juniorPrincipal,
                f.juniorResidual,
                f.lossChange,
                0
            ),
            0
        );
        _auditHead = head;
        _pay(0, SENIOR, f.seniorInterest + f.seniorPrincipal);
        _pay(1, JUNIOR, f.juniorPrincipal + f.juniorResidual);
        if (f.collected != 0) {
            uint256 before = TOKEN.balanceOf(address(this));
            LEDGER.withdraw();
            uint256 received = TOKEN.balanceOf(address(this)) - before;
            if (received != f.collected) revert UnexpectedTransferAmount(f.collected, received);
        }
        _auditHead = head.unlocked();
    }

    /// @dev The senior coupon from accruedAt to now on the senior balance (unchanged since: balances change only
    /// at subscriptions, before subscriptionEnd, where accrual starts, and at distributions, after this accrual),
    /// rounded up: seniorBalance × seniorCouponBps × Δt / (BPS × YEAR).
    function _accrue(Book memory b) private view {
        if (block.timestamp <= b.accruedAt) return;
        uint256 elapsed = block.timestamp - b.accruedAt;
        uint256 due = Math.ceilDiv(uint256(b.seniorBalance) * SENIOR_COUPON_BPS * elapsed, BPS * YEAR);
        b.seniorInterestOwed = (b.seniorInterestOwed + due).toUint128();
        b.accruedAt = uint40(block.timestamp);
    }

    /// @dev The ledger's recorded loss of the pool moved from lossSeen to `lossNow`: an increase writes junior's
    /// balance down, then senior's (what exceeds both is not allocated); a decrease (recoveries after a write-off)
    /// restores senior's write-down first, then junior's. Returns the change.
    function _allocateLoss(Book memory b, uint256 lossNow) private pure returns (int256 change) {
        uint256 seen = b.lossSeen;
        if (lossNow == seen) return 0;
        b.lossSeen = uint128(lossNow); // the ledger keeps it in 128 bits
        if (lossNow > seen) {
            uint256 left = lossNow - seen;
            uint256 j = Math.min(left, b.juniorBalance);
            b.juniorBalance -= uint128(j);
            b.juniorWrittenDown += uint128(j);
            uint256 sr = Math.min(left - j, b.seniorBalance);
            b.seniorBalance -= uint128(sr);
            b.seniorWrittenDown += uint128(sr);
            return int256(left);
        }
        uint256 back = seen - lossNow;
        uint256 s = Math.min(back, b.seniorWrittenDown);
        b.seniorWrittenDown -= uint128(s);
        b.seniorBalance += uint128(s);
        uint256 jr = Math.min(back - s, b.juniorWrittenDown);
        b.juniorWrittenDown -= uint128(jr);
        b.juniorBalance += uint128(jr);
        return -int256(back);
    }

    /// @dev The waterfall: (1) senior's coupon owed from interest collections; (2) principal collections to
    /// senior's balance, then junior's; (3) the rest to junior.
    function _waterfall(Book memory b, Flows memory f) private pure {
        f.seniorInterest = Math.min(b.seniorInterestOwed, f.interest);
        b.seniorInterestOwed -= uint128(f.seniorInterest);
        f.seniorPrincipal = Math.min(f.principal, b.seniorBalance);
        b.seniorBalance -= uint128(f.seniorPrincipal);
        f.juniorPrincipal = Math.min(f.principal - f.seniorPrincipal, b.juniorBalance);
        b.juniorBalance -= uint128(f.juniorPrincipal);
        f.juniorResidual = f.interest - f.seniorInterest + (f.principal - f.seniorPrincipal - f.juniorPrincipal);
    }

    /// @dev Adds `amount` paid to class `cls` to its cumulative amount per token: floor(amount × ACC_SCALE /
    /// supply); what the floor leaves (and anything paid to a class without tokens) stays with the pool.
    function _pay(uint256 cls, PoolClassToken classToken, uint256 amount) private {
        if (amount == 0) return;
        uint256 supply = classToken.totalSupply();
        if (supply == 0) return;
        uint256 a = _acc[cls] + amount * ACC_SCALE / supply;
        _acc[cls] = uint256(a.toUint160()); // a holder's checkpoint keeps it in 160 bits
    }

    // ------------------------------------------------------------------ claims

    /// @dev owed + balance × (acc − paid) / ACC_SCALE, floored.
    function _claimable(uint256 cls, IERC20 classToken, address who, Holder storage h)
        private
        view
        returns (uint256)
    {
        Holder memory x = h;
        uint256 a = _acc[cls];
        if (a == x.paid) return x.owed;
        return x.owed + classToken.balanceOf(who) * (a - x.paid) / ACC_SCALE;
    }

    /// @dev Brings `who`'s claims up to the cumulative amount `a` with its balance before the transfer.
    function _checkpoint(Holder storage h, IERC20 classToken, address who, uint256 a) private {
        Holder memory x = h;
        if (x.paid == a) return;
        uint256 owed = x.owed + classToken.balanceOf(who) * (a - x.paid) / ACC_SCALE;
        h.paid = uint160(a);
        h.owed = owed.toUint96();
    }

    // ------------------------------------------------------------------ helpers

    /// @dev The token of class `cls`.
    function _classToken(uint256 cls) private view returns (PoolClassToken) {
        if (cls == 0) return SENIOR;
        if (cls == 1) return JUNIOR;
        revert UnknownClass(uint8(cls));
    }

    /// @dev Sets the lock bit of the audit head (entry points that move tokens); returns the head.
    function _lock() private returns (AuditHead head) {
        head = _auditHead;
        if (head.isLocked()) revert ReentrantCall();
        head = head.locked();
        _auditHead = head;
    }

    /// @dev Pulls exactly `amount` from `from`; refuses a token that delivers a different amount.
    function _pull(address from, uint256 amount) private {
        uint256 before = TOKEN.balanceOf(address(this));
        TOKEN.safeTransferFrom(from, address(this), amount);
        uint256 received = TOKEN.balanceOf(address(this)) - before;
        if (received != amount) revert UnexpectedTransferAmount(amount, received);
    }
}
