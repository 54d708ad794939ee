// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title StorageFloorRepay
/// @notice Benchmark reference: a repayment that touches only what the ledger's data model and audit trail must
/// touch, and computes nothing - a lower bound on the gas of the ledger's `repay` and `repayBatch`.
/// @dev Never deployed for real. Per repayment it does, with the least storage the ledger's figures fit in (amounts
/// up to 2^96, so that 18-decimal tokens keep working):
///   - one slot for the pause flag and the audit head, read and written (packed as in the ledger);
///   - three cold slots of the loan - terms with the installment amount A; principal with the tranche word;
///     the schedule cursor (O_k, cumulative interest, k, penalty checkpoint, on-time count: 244 bits) - and only
///     the cursor written;
///   - one account slot per lender (withdrawable | reserve), read and written;
///   - the audit record as the ledger writes it: keccak256 over abi.encode(prev, topic0, loanId, payer, breakdown)
///     and a log3 of the same 14 words, encoded once;
///   - the payment pulled with the same fee-on-transfer check (balanceOf before and after), and the same reentrancy
///     lock: a bit of the head's word, set on entry and cleared on exit (london EVM: no transient storage).
/// Everything the ledger computes is left out: dues, penalty accrual, the waterfall, the service fee, the
/// cumulative-floor splits, reserves, the credit record. A batch pulls once and stores the head once, as the
/// ledger's does; its lenders' account slots are warm after the first loan.
contract StorageFloorRepay {
    using SafeERC20 for IERC20;

    /// @dev The ledger's RepaymentBreakdown, field for field (LoanStatus as its uint8).
    struct Breakdown {
        uint256 amount;
        uint256 penaltyPaid;
        uint256 interestPaid;
        uint256 feePaid;
        uint256 principalPaid;
        uint16 installment;
        uint256 outstanding;
        uint8 status;
        uint16 onTimeCompleted;
        uint16 lateCompleted;
        uint32 daysLate;
        uint32 maxDaysLate;
        uint256 penaltyAccrued;
    }

    struct Loan {
        uint256 terms;
        uint256 principalAndTranches; // tranche word: lender index t in bits 16t..16t+15 (two lenders here)
        uint256 cursor;
    }

    uint256 private constant SEQ_MASK = (1 << 55) - 1;
    uint256 private constant LOCK = 1 << 55;
    uint256 private constant HASH_MASK = type(uint248).max ^ ((1 << 56) - 1);

    IERC20 public immutable TOKEN;
    bool private _paused;
    uint248 private _head;
    mapping(uint256 loanId => Loan) private _loans;
    mapping(uint256 index => uint256) private _accounts;

    /// @notice Same shape (topics and data) as the ledger's RepaymentApplied.
    event RepaymentApplied(uint256 indexed loanId, address indexed payer, Breakdown breakdown, bytes32 head);

    /// @dev Reentered while locked.
    error ReentrantCall();

    /// @dev A transfer delivered another amount than asked (fee-on-transfer token).
    error UnexpectedTransferAmount(uint256 expected, uint256 received);

    /// @param token The settlement token.
    constructor(IERC20 token) {
        TOKEN = token;
    }

    /// @notice Gives loans `firstLoan`..`firstLoan + count - 1` non-zero words with lenders `a` and `b`, and both
    /// lenders non-zero balances, as a running ledger holds them (setup, not measured).
    function setUp(uint256 firstLoan, uint256 count, uint16 a, uint16 b) external {
        for (uint256 id = firstLoan; id < firstLoan + count; ++id) {
            _loans[id] = Loan({terms: 1, principalAndTranches: (1 << 128) | (uint256(b) << 16) | a, cursor: 1});
        }
        _accounts[a] = 1;
        _accounts[b] = 1;
    }

    /// @dev The ledger's lock: a bit of the head's word, which every record writes anyway.
    modifier nonReentrant() {
        uint248 h = _head;
        if (h & LOCK != 0) revert ReentrantCall();
        _head = h | uint248(LOCK);
        _;
        _head &= ~uint248(LOCK);
    }

    /// @notice One repayment of `amount` on `loanId`: the storage, the record and the pull only.
    function repay(uint256 loanId, uint256 amount) external nonReentrant {
        require(!_paused);
        _head = uint248(uint256(_record(loanId, amount, bytes32(uint256(_head)))));
        _pull(amount);
    }

    /// @notice Many repayments with one pull of their total and one store of the head.
    function repayBatch(uint256[] calldata loanIds, uint256[] calldata amounts) external nonReentrant {
        require(!_paused);
        bytes32 head = bytes32(uint256(_head));
        uint256 total = 0;
        for (uint256 i; i < loanIds.length; ++i) {
            head = _record(loanIds[i], amounts[i], head);
            total += amounts[i];
        }
        _head = uint248(uint256(head));
        _pull(total);
    }

    function _record(uint256 loanId, uint256 amount, bytes32 prev) private returns (bytes32 head) {
        Loan storage l = _loans[loanId];
        uint256 terms = l.terms;
        uint256 word = l.principalAndTranches;
        uint256 cursor = l.cursor;
        l.cursor = cursor + amount;
        _accounts[word & 0xffff] += amount;
        _accounts[(word >> 16) & 0xffff] += amount;
        Breakdown memory r;
        r.amount = amount;
        r.interestPaid = terms;
        r.principalPaid = amount;
        r.outstanding = word >> 128;
        r.installment = uint16(cursor);
        r.status = 3;
        bytes memory rec = abi.encode(prev, RepaymentApplied.selector, loanId, msg.sender, r, bytes32(0));
        bytes32 digest;
        assembly ("memory-safe") {
            digest := keccak256(add(rec, 32), 544)
        }
        head = bytes32((uint256(digest) & HASH_MASK) | (uint256(prev) & LOCK) | ((uint256(prev) & SEQ_MASK) + 1));
        bytes32 topic0 = RepaymentApplied.selector;
        assembly ("memory-safe") {
            let data := add(rec, 160)
            mstore(add(data, 416), and(head, not(LOCK)))
            log3(data, 448, topic0, loanId, caller())
        }
    }

    function _pull(uint256 amount) private {
        uint256 before = TOKEN.balanceOf(address(this));
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = TOKEN.balanceOf(address(this)) - before;
        if (received != amount) revert UnexpectedTransferAmount(amount, received);
    }
}
