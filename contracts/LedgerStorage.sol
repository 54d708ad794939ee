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
/// @dev A loan's hot state sits in few slots: terms (slot 0, read only), O_k + A (1), the current installment's
/// partial payments (2), cumulative interest + principal (3), penalty checkpoint + k + credit counters (5). Lender credits are derived from cumulative totals,
/// so a repayment writes one account slot per lender and nothing per lender per loan.
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
    uint256 private constant SEQ_MASK = type(uint64).max;

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
        // slot 1: O_k (after default: the outstanding principal) and A
        uint128 outstanding;
        uint128 installmentAmount;
        // slot 2: partial payments of installment k
        uint128 interestPaidCur;
        uint128 principalPaidCur;
        // slot 3: cumulative gross interest and principal
        uint128 interestPaid;
        uint128 principalPaid;
        // slot 4
        uint128 penaltyPaid;
        uint128 prepaymentFeePaid;
        // slot 5: written on every payment: penalty accrual, schedule position, credit-record counters (256 bits)
        uint128 penaltyAccrued;
        uint40 penaltyCheckpoint;
        uint16 current; // current installment k, 1-based; periods + 1 once repaid
        uint16 onTime;
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

    /// @dev Cumulative split components of a loan.
    struct Totals {
        uint256 income; // interestPaid - feePaid + penaltyPaid + prepaymentFeePaid
        uint256 principal;
        uint256 recovered;
    }

    bytes32 private _auditHead;
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

    /// @dev Advances the audit chain: the new head keeps the high 192 bits of `digest` and the next seq.
    /// `digest` is keccak256(abi.encode(auditHead, topic0, <event args but the head>)), built by the caller.
    function _nextHead(bytes32 digest) internal returns (bytes32 head) {
        uint256 seq = (uint256(_auditHead) & SEQ_MASK) + 1;
        head = bytes32((uint256(digest) & ~SEQ_MASK) | seq);
        _auditHead = head;
    }

    /// @dev The current head (the previous head of the next record).
    function _head() internal view returns (bytes32) {
        return _auditHead;
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
    function _pendingPenalty(Loan storage l) internal view returns (uint256 acc) {
        uint256 rate = l.penaltyRateBps;
        if (rate == 0 || l.status != LoanStatus.Active) return 0;
        uint256 n = l.periods;
        uint256 k = l.current;
        uint256 outstanding = l.outstanding;
        uint256 grace = l.gracePeriod;
        uint256 checkpoint = l.penaltyCheckpoint;
        for (uint256 j = k; j <= n; ++j) {
            uint256 due = _dueDate(l, j);
            if (block.timestamp <= due + grace) break;
            (uint256 i, uint256 p) = _dues(l, j, outstanding);
            uint256 unpaid = i + p;
            if (j == k) unpaid -= uint256(l.interestPaidCur) + l.principalPaidCur;
            uint256 from = checkpoint > due ? checkpoint : due;
            if (block.timestamp > from) acc += ScheduleMath.penalty(unpaid, rate, block.timestamp - from);
            outstanding -= p;
        }
    }

    /// @dev Loads the cursor with the penalty accrued up to now.
    function _load(Loan storage l) internal view returns (Cursor memory c) {
        c.k = l.current;
        c.outstanding = l.outstanding;
        c.ic = l.interestPaidCur;
        c.pc = l.principalPaidCur;
        c.penalty = uint256(l.penaltyAccrued) + _pendingPenalty(l);
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
        while (c.k <= n) {
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
        c.k += 1;
        c.ic = 0;
        c.pc = 0;
    }

    /// @dev Writes the cursor back: schedule position, partial payments, cumulative totals, penalty checkpoint and
    /// credit counters. Only changed slots are written.
    function _commit(Loan storage l, Cursor memory c) internal {
        if (c.k != l.current) {
            l.current = uint16(c.k);
            l.outstanding = uint128(c.outstanding); // <= principal, fits
        }
        l.interestPaidCur = uint128(c.ic);
        l.principalPaidCur = uint128(c.pc);
        l.interestPaid += c.interestApplied.toUint128();
        l.principalPaid += c.principalApplied.toUint128();
        if (c.penaltyApplied != 0) l.penaltyPaid += c.penaltyApplied.toUint128();
        l.penaltyAccrued = c.penalty.toUint128();
        l.penaltyCheckpoint = uint40(block.timestamp);
        if (c.onTime != 0) l.onTime += uint16(c.onTime);
        if (c.late != 0) {
            l.late += uint16(c.late);
            l.totalDaysLate += c.daysLate.toUint24();
            if (c.maxDaysLate > l.maxDaysLate) l.maxDaysLate = c.maxDaysLate.toUint16();
        }
    }
}
