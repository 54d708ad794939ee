// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ILedgerTypes} from "./interfaces/ILedgerTypes.sol";
import {LendingPolicy} from "./LendingPolicy.sol";
import {ScheduleMath} from "./libraries/ScheduleMath.sol";
import {SplitMath} from "./libraries/SplitMath.sol";

/// @title LedgerStorage
/// @notice Storage layout, audit chain and the internal accounting of the co-lending ledger: schedule cursor,
/// penalty accrual, cumulative-floor splits and loan settlement (docs/ledger-spec.md).
/// @dev A loan's hot state sits in few slots. A common repayment (nothing overdue, no partial installment pending)
/// reads slot 0 (terms + flags), slot 1 (schedule cursor: O_k, A, k, penalty checkpoint, on-time counter; written)
/// and slot 3 (cumulative interest + principal; written) and the tranche word; the `flags` of slot 0 say when the
/// partial-payment slot (2), the penalty/prepayment-fee totals (4) or the accrued penalty (5) must be read too.
/// Lender credits are derived from cumulative totals, so a repayment writes one account slot per lender and
/// nothing per lender per loan.
/// Block time: due dates, grace, penalty accrual, default thresholds and funding deadlines compare against
/// `block.timestamp` by nature (Slither's low `timestamp` findings). A proposer can move it by seconds; every
/// period, grace and threshold here is days long, and penalty accrues per second, so a skew moves a penalty by
/// at most a few seconds' interest.
abstract contract LedgerStorage is ILedgerTypes, LendingPolicy, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice May originate, disburse and cancel loans.
    bytes32 public constant ORIGINATOR_ROLE = keccak256("ORIGINATOR_ROLE");
    /// @notice Registered institutions: may fund their tranches.
    bytes32 public constant LENDER_ROLE = keccak256("LENDER_ROLE");
    /// @notice May post batch repayments, mark defaults and write loans off.
    bytes32 public constant SERVICER_ROLE = keccak256("SERVICER_ROLE");
    /// @notice May pause and unpause the ledger.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    uint256 internal constant BPS = 10_000;
    uint256 internal constant DAY = 86_400;
    uint256 internal constant MAX_PERIODS = 600;
    uint256 internal constant MAX_TRANCHES = 16;
    /// @dev `auditSnapshot` words per loan, and per tranche after them.
    uint256 internal constant SNAPSHOT_LOAN_WORDS = 16;
    uint256 internal constant SNAPSHOT_TRANCHE_WORDS = 7;
    /// @dev Audit head layout: bits 0-55 the seq, bits 56-247 the chain hash (192 bits), bits 248-255 zero, so
    /// that the head fits a uint248 beside Pausable's flag in one slot: the pause check every call makes warms
    /// the head (2,100 gas less per record).
    uint256 private constant SEQ_MASK = type(uint56).max;
    uint256 private constant HASH_MASK = type(uint248).max ^ SEQ_MASK;
    /// @dev Loan flag: interestPaidCur or principalPaidCur is non-zero.
    uint8 internal constant F_PARTIAL = 1;
    /// @dev Loan flag: penaltyAccrued is non-zero.
    uint8 internal constant F_PENALTY = 2;
    /// @dev Loan flag: penaltyPaid or prepaymentFeePaid is non-zero (they only grow).
    uint8 internal constant F_EXTRA = 4;
    /// @dev Capacity of the in-memory credit cache of a batch.
    uint256 internal constant CREDIT_CACHE = 16;

    /// @dev The settlement token, fixed at construction.
    IERC20 internal immutable TOKEN;

    /// @dev One loan. Slot comments give the packing; fields of a slot are read and written together.
    struct Loan {
        // slot 0: terms, read on every payment, written only at status changes (224 bits)
        LoanStatus status;
        RepaymentMethod method;
        uint8 trancheCount;
        uint16 periods;
        uint40 disbursedAt;
        uint32 periodSeconds;
        uint16 annualRateBps;
        uint16 penaltyRateBps;
        uint16 serviceFeeBps;
        uint16 reserveBps;
        uint16 prepaymentFeeBps;
        uint32 gracePeriod;
        uint8 flags; // F_PARTIAL | F_PENALTY | F_EXTRA: which cold slots hold non-zero values (232 bits)
        // slot 1: the schedule cursor, written on every payment (256 bits) as one word by `_commit`, which
        // relies on this exact layout (as `_addPaid` does on slot 3's). Principal < 2^96 (checked at
        // origination) bounds O_k; A is SafeCast. uint32 timestamps last until 2106.
        uint96 outstanding; // O_k (after default: the outstanding principal)
        uint96 installmentAmount; // A
        uint16 current; // current installment k, 1-based; periods + 1 once repaid
        uint32 penaltyCheckpoint;
        uint16 onTime;
        // slot 2: partial payments of installment k (read only with F_PARTIAL)
        uint128 interestPaidCur;
        uint128 principalPaidCur;
        // slot 3: cumulative gross interest and principal
        uint128 interestPaid;
        uint128 principalPaid;
        // slot 4 (read on payments only with F_EXTRA)
        uint128 penaltyPaid;
        uint128 prepaymentFeePaid;
        // slot 5: accrued unpaid penalty (read on payments only with F_PENALTY) and the late counters
        uint128 penaltyAccrued;
        uint16 late;
        uint16 maxDaysLate;
        uint24 totalDaysLate;
        // slot 6
        uint128 recovered;
        uint128 owedAtDefault;
        // slot 7 (cold)
        address borrower;
        uint40 fundingDeadline;
        uint16 feeRecipient; // institution index, 0 if none
        uint16 fundedMask; // bit t set once tranche t is funded
        uint8 fundedCount;
        // slot 8
        bytes32 borrowerId;
        // slot 9
        uint128 principal;
        uint128 writtenOff;
        // slots 10-11: tranches, (uint16 institution, uint16 share) eight per word, lead first
        uint256[2] tranches;
    }

    /// @dev An institution's balances: one slot, so a credit is one SSTORE.
    struct Account {
        uint128 withdrawable;
        uint128 reserve;
    }

    /// @dev An institution's registration and risk figures (cold).
    struct Institution {
        address account;
        bool isPlatform;
        uint128 loss;
        uint128 exposure;
        string name;
    }

    /// @dev Working copy of a loan's schedule cursor while a payment is applied (memory only).
    struct Cursor {
        uint256 k;
        uint256 outstanding; // O_k
        uint256 ic; // interest paid in installment k
        uint256 pc; // principal paid in installment k
        uint256 penalty; // accrued unpaid penalty (accrued up to now)
        uint256 penaltyApplied;
        uint256 interestApplied;
        uint256 principalApplied;
        uint256 onTime;
        uint256 late;
        uint256 daysLate;
        uint256 maxDaysLate;
    }

    /// @dev Lender credits of a batch, accumulated in memory and written once (`_flush`). Zero capacity: every
    /// credit is written through at once.
    struct Credits {
        uint256 count;
        uint256[] idx;
        uint256[] withdrawable;
        uint256[] reserve;
    }

    /// @dev Cumulative split components of a loan.
    struct Totals {
        uint256 income; // interestPaid - feePaid + penaltyPaid + prepaymentFeePaid
        uint256 principal;
        uint256 recovered;
    }

    // First variable of this contract: packed right after Pausable's `_paused` (slot 3, see SEQ_MASK).
    uint248 private _auditHead;
    // Written by `originate`, which runs in LedgerExtension through delegatecall: Slither, reading this unit
    // alone, sees no write.
    // slither-disable-next-line uninitialized-state
    uint256 internal _loanCount;
    uint16 internal _institutionCount;
    mapping(uint256 loanId => Loan) internal _loans;
    mapping(uint16 index => Account) internal _accounts;
    mapping(uint16 index => Institution) internal _institutions;
    // Written by CoLendingLedger (registerInstitution, originate); LedgerExtension, analysed alone, only reads them.
    // slither-disable-next-line uninitialized-state
    mapping(address account => uint16 index) internal _indexOf;
    // slither-disable-next-line uninitialized-state
    mapping(bytes32 borrowerId => uint256[] loanIds) internal _borrowerLoans;

    /// @param token_ The settlement token.
    constructor(IERC20 token_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        TOKEN = token_;
    }

    // ------------------------------------------------------------------ audit

    /// @dev Advances the audit chain: the new head keeps bits 56-247 of `digest` and the next seq.
    /// `digest` is keccak256(abi.encode(auditHead, topic0, <event args but the head>)), built by the caller.
    function _nextHead(bytes32 digest) internal returns (bytes32 head) {
        head = _chain(_head(), digest);
        _setHead(head);
    }

    /// @dev The head following `prev` for a record hashing to `digest` (a batch keeps the head in memory and
    /// stores it once with `_setHead`).
    function _chain(bytes32 prev, bytes32 digest) internal pure returns (bytes32) {
        unchecked {
            // seq < 2^56 - 1 (7.2e16 records) for any conceivable ledger: no carry into the hash bits
            return bytes32((uint256(digest) & HASH_MASK) | ((uint256(prev) & SEQ_MASK) + 1));
        }
    }

    /// @dev Stores the head of the last record written.
    function _setHead(bytes32 head) internal {
        _auditHead = uint248(uint256(head)); // bits 248-255 of a head are zero
    }

    /// @dev The current head (the previous head of the next record).
    function _head() internal view returns (bytes32) {
        return bytes32(uint256(_auditHead));
    }

    // ------------------------------------------------------------- token flow

    /// @dev Pulls exactly `amount` from `from`; rejects tokens that deliver a different amount (fee on transfer),
    /// which would break conservation.
    function _pull(address from, uint256 amount) internal {
        uint256 before = TOKEN.balanceOf(address(this));
        TOKEN.safeTransferFrom(from, address(this), amount);
        uint256 received = TOKEN.balanceOf(address(this)) - before;
        if (received != amount) revert UnexpectedTransferAmount(amount, received);
    }

    /// @dev Sends `amount` to `to`.
    function _push(address to, uint256 amount) internal {
        TOKEN.safeTransfer(to, amount);
    }

    // ------------------------------------------------------------------ loans

    /// @dev The loan, which must be in `status`.
    function _loanIn(uint256 loanId, LoanStatus status) internal view returns (Loan storage l) {
        l = _loans[loanId];
        if (l.status != status) revert LoanNotInStatus(loanId, l.status);
    }

    /// @dev Tranche `t`: institution index and share.
    function _trancheAt(Loan storage l, uint256 t) internal view returns (uint16 institution, uint16 shareBps) {
        return SplitMath.unpack(l.tranches[t / SplitMath.PER_WORD], t % SplitMath.PER_WORD);
    }

    /// @dev Principal of tranche `t`: floor(principal * share / BPS), the lead (t == 0) takes the rest.
    function _trancheAmount(Loan storage l, uint256 t) internal view returns (uint256) {
        uint256 principal = l.principal;
        if (t != 0) {
            (, uint16 share) = _trancheAt(l, t);
            return SplitMath.bpsOf(principal, share);
        }
        uint256 others = 0;
        uint256 n = l.trancheCount;
        for (uint256 i = 1; i < n; ++i) {
            (, uint16 share) = _trancheAt(l, i);
            others += SplitMath.bpsOf(principal, share);
        }
        return principal - others;
    }

    /// @dev Due date of installment k.
    function _dueDate(Loan storage l, uint256 k) internal view returns (uint256) {
        return uint256(l.disbursedAt) + k * uint256(l.periodSeconds);
    }

    /// @dev Interest and principal due in installment k given O_k.
    function _dues(Loan storage l, uint256 k, uint256 outstanding) internal view returns (uint256, uint256) {
        return ScheduleMath.installment(
            uint8(l.method), l.installmentAmount, outstanding, l.annualRateBps, l.periodSeconds, k == l.periods
        );
    }

    /// @dev Penalty accrued since the checkpoint and not yet in `penaltyAccrued`: for each overdue unpaid
    /// installment j, ceil(unpaid_j * penaltyRate * (now - max(checkpoint, due_j)) / (BPS * YEAR)).
    /// `paidCur`: what is already paid towards installment k (interest + principal).
    function _pendingPenalty(Loan storage l, uint256 k, uint256 outstanding, uint256 paidCur)
        internal
        view
        returns (uint256 acc)
    {
        uint256 rate = l.penaltyRateBps;
        if (rate == 0 || l.status != LoanStatus.Active) return 0;
        uint256 n = l.periods;
        uint256 grace = l.gracePeriod;
        uint256 checkpoint = l.penaltyCheckpoint;
        for (uint256 j = k; j <= n; ++j) {
            uint256 due = _dueDate(l, j);
            if (block.timestamp <= due + grace) break;
            (uint256 i, uint256 p) = _dues(l, j, outstanding);
            uint256 unpaid = i + p;
            if (j == k) unpaid -= paidCur;
            uint256 from = checkpoint > due ? checkpoint : due;
            if (block.timestamp > from) acc += ScheduleMath.penalty(unpaid, rate, block.timestamp - from);
            outstanding -= p;
        }
    }

    /// @dev Loads the cursor with the penalty accrued up to now.
    /// The flags spare the cold slots when they hold zeros.
    function _load(Loan storage l) internal view returns (Cursor memory c) {
        c.k = l.current;
        c.outstanding = l.outstanding;
        uint256 flags = l.flags;
        if (flags & F_PARTIAL != 0) {
            c.ic = l.interestPaidCur;
            c.pc = l.principalPaidCur;
        }
        c.penalty = _pendingPenalty(l, c.k, c.outstanding, c.ic + c.pc);
        if (flags & F_PENALTY != 0) c.penalty += l.penaltyAccrued;
    }

    /// @dev Applies up to `budget` to the accrued penalty.
    function _payPenalty(Cursor memory c, uint256 budget) internal pure returns (uint256) {
        uint256 x = Math.min(budget, c.penalty);
        c.penalty -= x;
        c.penaltyApplied += x;
        return budget - x;
    }

    /// @dev Applies up to `budget` to installments oldest first (interest, then principal), returning what is left.
    /// `onlyDue`: only installments already due (due_k <= now); otherwise also the next one not yet due.
    function _payInstallments(Loan storage l, Cursor memory c, uint256 budget, bool onlyDue)
        internal
        view
        returns (uint256)
    {
        uint256 n = l.periods;
        uint256 kStart = c.k;
        // With a non-zero rate every installment owes interest (O_k > 0 while Active), so an exhausted budget
        // completes nothing more: stop before computing the next installment's dues. (At rate 0 an installment
        // may owe nothing and completes even with no budget left, so the loop must look at it.)
        bool stopWhenSpent = l.annualRateBps != 0;
        while (c.k <= n) {
            if (budget == 0 && stopWhenSpent) break;
            if (onlyDue) {
                if (_dueDate(l, c.k) > block.timestamp) break;
            } else if (c.k != kStart && _dueDate(l, c.k - 1) > block.timestamp) {
                break; // installment k-1 is not due yet: k would be a second installment paid early
            }
            (uint256 i, uint256 p) = _dues(l, c.k, c.outstanding);
            uint256 x = Math.min(budget, i - c.ic);
            c.ic += x;
            c.interestApplied += x;
            budget -= x;
            x = Math.min(budget, p - c.pc);
            c.pc += x;
            c.principalApplied += x;
            budget -= x;
            if (c.ic != i || c.pc != p) break;
            _completeInstallment(l, c, p);
        }
        return budget;
    }

    /// @dev Closes installment k in the cursor (its principal `p` paid): credit record, O_{k+1} = O_k - p.
    function _completeInstallment(Loan storage l, Cursor memory c, uint256 p) internal view {
        uint256 due = _dueDate(l, c.k);
        if (block.timestamp > due + l.gracePeriod) {
            uint256 d = (block.timestamp - due) / DAY; // floor: whole days late
            c.late += 1;
            c.daysLate += d;
            if (d > c.maxDaysLate) c.maxDaysLate = d;
        } else {
            c.onTime += 1;
        }
        c.outstanding -= p;
        // Repaid: the installments left owe nothing and are skipped, not counted on time or late (spec, closure).
        // Exact integer principal, nothing timestamp-derived: zero means repaid.
        // slither-disable-next-line incorrect-equality
        c.k = c.outstanding == 0 ? uint256(l.periods) + 1 : c.k + 1;
        c.ic = 0;
        c.pc = 0;
    }

    /// @dev Writes the cursor back: schedule position, partial payments, cumulative totals, penalty checkpoint and
    /// credit counters. Only changed slots are written.
    /// `extra`: penaltyPaid or prepaymentFeePaid grows outside the cursor (a prepayment fee). Slots holding zero
    /// before and after (flag clear) are not touched.
    function _commit(Loan storage l, Cursor memory c, bool extra) internal {
        uint256 flags = l.flags;
        uint256 newFlags = flags;
        // Slot 1 as one word (layout: outstanding bits 0-95, installmentAmount 96-191, current 192-207,
        // penaltyCheckpoint 208-239, onTime 240-255). c.outstanding <= the O_k loaded from this slot (< 2^96);
        // c.k <= periods + 1 <= 601; the checkpoint is uint32 seconds (valid until 2106); onTime counts
        // installments (<= 600): no field can spill into the next.
        uint256 checkpoint = uint32(block.timestamp);
        uint256 k = c.k;
        uint256 outstanding = c.outstanding;
        uint256 onTime = c.onTime;
        assembly ("memory-safe") {
            let slot := add(l.slot, 1)
            let v := sload(slot)
            let a := and(shr(96, v), 0xffffffffffffffffffffffff)
            let t := add(shr(240, v), onTime)
            sstore(slot, or(or(outstanding, shl(96, a)), or(or(shl(192, k), shl(208, checkpoint)), shl(240, t))))
        }
        if (c.ic != 0 || c.pc != 0) {
            l.interestPaidCur = uint128(c.ic); // <= one installment's dues, < 2^128
            l.principalPaidCur = uint128(c.pc);
            newFlags |= F_PARTIAL;
        } else if (flags & F_PARTIAL != 0) {
            l.interestPaidCur = 0;
            l.principalPaidCur = 0;
            newFlags &= ~uint256(F_PARTIAL);
        }
        _addPaid(l, c.interestApplied, c.principalApplied);
        if (c.penaltyApplied != 0) {
            l.penaltyPaid += c.penaltyApplied.toUint128();
            extra = true;
        }
        if (extra) newFlags |= F_EXTRA;
        if (c.penalty != 0) {
            l.penaltyAccrued = c.penalty.toUint128();
            newFlags |= F_PENALTY;
        } else if (flags & F_PENALTY != 0) {
            l.penaltyAccrued = 0;
            newFlags &= ~uint256(F_PENALTY);
        }
        if (c.late != 0) {
            l.late += uint16(c.late);
            l.totalDaysLate += c.daysLate.toUint24();
            if (c.maxDaysLate > l.maxDaysLate) l.maxDaysLate = c.maxDaysLate.toUint16();
        }
        if (newFlags != flags) l.flags = uint8(newFlags);
    }

    /// @dev interestPaid += `interest`, principalPaid += `principal` with one read and one write of slot 3
    /// (interestPaid low 128 bits, principalPaid high 128 bits); reverts like SafeCast past 128 bits.
    function _addPaid(Loan storage l, uint256 interest, uint256 principal) internal {
        uint256 ip;
        uint256 pp;
        assembly ("memory-safe") {
            let v := sload(add(l.slot, 3))
            ip := add(and(v, 0xffffffffffffffffffffffffffffffff), interest)
            pp := add(shr(128, v), principal)
        }
        // interest, principal < 2^130 (one payment), so the sums cannot wrap 256 bits
        uint256 packed = uint256(ip.toUint128()) | (uint256(pp.toUint128()) << 128);
        assembly ("memory-safe") {
            sstore(add(l.slot, 3), packed)
        }
    }
}
