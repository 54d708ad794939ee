// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICoLendingLedger} from "./interfaces/ICoLendingLedger.sol";
import {LedgerExtension} from "./LedgerExtension.sol";
import {LedgerAccounting} from "./LedgerAccounting.sol";
import {LedgerStorage} from "./LedgerStorage.sol";
import {ScheduleMath} from "./libraries/ScheduleMath.sol";
import {SplitMath} from "./libraries/SplitMath.sol";

/// @title CoLendingLedger
/// @notice One ledger for every co-lending loan, settling in one ERC-20 fixed at construction. The life cycle:
/// registerInstitution → originate → fund (each tranche) → disburse → repay / repayBatch / prepay → Closed; or
/// cancel before disbursement; or markDefault → writeOff → recover. Every state change writes one audit record.
/// @dev docs/ledger-spec.md is the specification. Entry points that move tokens are nonReentrant; state is
/// written before tokens move (checks, effects, interactions) and `_pull` verifies the amount received.
/// The loan views and the cold paths (originate, prepay, markDefault, writeOff, recover) run in LedgerExtension,
/// deployed by the constructor and reached by `delegatecall` (views through `extensionView`, a static self-call),
/// which keeps both contracts under the 24 KiB code-size limit. This contract's ABI is the whole of ICoLendingLedger.
contract CoLendingLedger is ICoLendingLedger, LedgerAccounting {
    using SafeCast for uint256;

    /// @notice The contract whose code the ledger runs for its views and cold paths.
    address public immutable EXTENSION;

    /// @param token_ The settlement token.
    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param initialPolicy The policy in force from deployment.
    constructor(IERC20 token_, address admin, PolicyParams memory initialPolicy) LedgerStorage(token_) {
        if (admin == address(0)) revert ZeroAddress();
        EXTENSION = address(new LedgerExtension(token_));
        _grantRole(DEFAULT_ADMIN_ROLE, admin); // record 1
        _setPolicy(initialPolicy);
        bytes32 head =
            _nextHead(keccak256(abi.encode(_head(), PolicyUpdated.selector, msg.sender, initialPolicy)));
        emit PolicyUpdated(msg.sender, initialPolicy, head); // record 2
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICoLendingLedger
    function token() external view returns (address) {
        return address(TOKEN);
    }

    /// @inheritdoc ICoLendingLedger
    function auditHead() external view returns (bytes32) {
        return _head();
    }

    /// @inheritdoc ICoLendingLedger
    function policy() external view returns (PolicyParams memory) {
        return _policy;
    }

    /// @inheritdoc ICoLendingLedger
    function loanCount() external view returns (uint256) {
        return _loanCount;
    }

    /// @inheritdoc ICoLendingLedger
    function institutionCount() external view returns (uint16) {
        return _institutionCount;
    }

    /// @inheritdoc ICoLendingLedger
    function institutionAt(uint16 index) external view returns (address) {
        return _institutions[index].account;
    }

    /// @inheritdoc ICoLendingLedger
    function loansOf(bytes32 borrowerId) external view returns (uint256[] memory) {
        return _borrowerLoans[borrowerId];
    }

    /// @inheritdoc ICoLendingLedger
    function getLoan(uint256) external view returns (LoanView memory) {
        _viewInExtension();
    }

    /// @inheritdoc ICoLendingLedger
    function getTranches(uint256) external view returns (TrancheView[] memory) {
        _viewInExtension();
    }

    /// @inheritdoc ICoLendingLedger
    function scheduleOf(uint256) external view returns (InstallmentView[] memory) {
        _viewInExtension();
    }

    /// @inheritdoc ICoLendingLedger
    function amountDue(uint256) external view returns (DueView memory) {
        _viewInExtension();
    }

    /// @inheritdoc ICoLendingLedger
    function prepaymentQuote(uint256, uint256) external view returns (uint256) {
        _viewInExtension();
    }

    /// @inheritdoc ICoLendingLedger
    function positionOf(uint256, address) external view returns (PositionView memory) {
        _viewInExtension();
    }

    /// @inheritdoc ICoLendingLedger
    function accountOf(address account) external view returns (AccountView memory v) {
        uint16 idx = _indexOf[account];
        if (idx == 0) return v;
        Institution storage inst = _institutions[idx];
        Account storage acc = _accounts[idx];
        v.index = idx;
        v.isPlatform = inst.isPlatform;
        v.withdrawable = acc.withdrawable;
        v.reserve = acc.reserve;
        v.loss = inst.loss;
        v.exposure = inst.exposure;
        v.name = inst.name;
    }

    /// @inheritdoc ICoLendingLedger
    function creditRecord(bytes32 borrowerId) external view returns (CreditRecord memory r) {
        uint256[] storage ids = _borrowerLoans[borrowerId];
        uint256 count = ids.length;
        for (uint256 i; i < count; ++i) {
            Loan storage l = _loans[ids[i]];
            LoanStatus s = l.status;
            if (s == LoanStatus.Originated || s == LoanStatus.Funded || s == LoanStatus.Cancelled) continue;
            r.loansTaken += 1;
            if (s == LoanStatus.Active) r.active += 1;
            else if (s == LoanStatus.Closed) r.closed += 1;
            else r.defaulted += 1; // Defaulted or WrittenOff
            r.onTimeInstallments += l.onTime;
            r.lateInstallments += l.late;
            r.totalDaysLate += l.totalDaysLate;
            if (l.maxDaysLate > r.maxDaysLate) r.maxDaysLate = l.maxDaysLate;
            r.amountWrittenOff += l.writtenOff;
        }
    }

    /// @inheritdoc ICoLendingLedger
    function auditSnapshot(uint256, uint256) external view returns (uint256[] memory) {
        _viewInExtension();
    }

    /// @notice Runs `data` (a call of one of the views above) in LedgerExtension against this ledger's storage and
    /// returns its raw result. Only the ledger itself may call it (`NotSelfCall` otherwise): the views reach it
    /// through a static self-call, so it can never change state.
    function extensionView(bytes calldata data) external returns (bytes memory) {
        if (msg.sender != address(this)) revert NotSelfCall(msg.sender);
        // slither-disable-next-line controlled-delegatecall (fixed, immutable target: our own extension; self-only)
        (bool ok, bytes memory result) = EXTENSION.delegatecall(data);
        if (!ok) _bubble(result);
        return result;
    }

    /// @dev Answers the current view call by a static self-call of `extensionView(msg.data)`, then returns the
    /// extension's raw return data (or bubbles its revert data).
    function _viewInExtension() private view {
        (bool ok, bytes memory result) = address(this).staticcall(abi.encodeCall(this.extensionView, (msg.data)));
        if (!ok) _bubble(result);
        assembly ("memory-safe") {
            // result = abi.encode(bytes inner): [offset][length][inner...]
            return(add(result, 96), mload(add(result, 64)))
        }
    }

    /// @dev Runs the current call in LedgerExtension (delegatecall) and returns or reverts with its raw data.
    function _callExtension() private {
        // slither-disable-next-line controlled-delegatecall (fixed, immutable target; msg.data of a declared stub)
        (bool ok, bytes memory result) = EXTENSION.delegatecall(msg.data);
        if (!ok) _bubble(result);
        assembly ("memory-safe") {
            return(add(result, 32), mload(result))
        }
    }

    /// @dev Reverts with `data` as the revert data (custom errors pass through unchanged).
    function _bubble(bytes memory data) private pure {
        assembly ("memory-safe") {
            revert(add(data, 32), mload(data))
        }
    }

    // ------------------------------------------------------------ institutions

    /// @inheritdoc ICoLendingLedger
    function registerInstitution(address account, string calldata name, bool isPlatform)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        whenNotPaused
        returns (uint16 index)
    {
        if (account == address(0)) revert ZeroAddress();
        if (_indexOf[account] != 0) revert InstitutionExists(account);
        index = ++_institutionCount;
        _indexOf[account] = index;
        Institution storage inst = _institutions[index];
        inst.account = account;
        inst.isPlatform = isPlatform;
        inst.name = name;
        AccessControl._grantRole(LENDER_ROLE, account); // recorded by InstitutionRegistered, not AccessChanged
        bytes32 head =
            _nextHead(keccak256(abi.encode(_head(), InstitutionRegistered.selector, index, account, name, isPlatform)));
        emit InstitutionRegistered(index, account, name, isPlatform, head);
    }

    /// @inheritdoc ICoLendingLedger
    function setPolicy(PolicyParams calldata params) external onlyRole(DEFAULT_ADMIN_ROLE) whenNotPaused {
        _setPolicy(params);
        bytes32 head = _nextHead(keccak256(abi.encode(_head(), PolicyUpdated.selector, msg.sender, params)));
        emit PolicyUpdated(msg.sender, params, head);
    }

    // -------------------------------------------------------------- origination

    /// @inheritdoc ICoLendingLedger
    /// @dev Runs in LedgerExtension (code size).
    function originate(LoanTerms calldata, Tranche[] calldata) external returns (uint256) {
        _callExtension();
    }

    // --------------------------------------------------- funding, cancel, disburse

    /// @inheritdoc ICoLendingLedger
    function fund(uint256 loanId) external onlyRole(LENDER_ROLE) whenNotPaused nonReentrant {
        Loan storage l = _loanIn(loanId, LoanStatus.Originated);
        if (block.timestamp > l.fundingDeadline) revert DeadlinePassed(loanId, l.fundingDeadline);
        uint16 idx = _indexOf[msg.sender];
        uint256 n = l.trancheCount;
        uint256 t = 0;
        for (; t < n; ++t) {
            (uint16 i,) = _trancheAt(l, t);
            if (i == idx) break;
        }
        if (t == n) revert NotATrancheLender(loanId, msg.sender);
        uint16 bit = uint16(1 << t);
        if (l.fundedMask & bit != 0) revert AlreadyFunded(loanId, msg.sender);
        uint256 amount = _trancheAmount(l, t);
        Institution storage inst = _institutions[idx];
        uint256 exposure = inst.exposure + amount;
        _checkExposure(msg.sender, exposure);
        inst.exposure = exposure.toUint128();
        l.fundedMask |= bit;
        bool full = ++l.fundedCount == n;
        if (full) l.status = LoanStatus.Funded;
        bytes32 head = _nextHead(
            keccak256(abi.encode(_head(), TrancheFunded.selector, loanId, msg.sender, amount, exposure, full))
        );
        emit TrancheFunded(loanId, msg.sender, amount, exposure, full, head);
        _pull(msg.sender, amount);
    }

    /// @inheritdoc ICoLendingLedger
    function cancel(uint256 loanId) external whenNotPaused nonReentrant {
        Loan storage l = _loans[loanId];
        LoanStatus status = l.status;
        if (status != LoanStatus.Originated && status != LoanStatus.Funded) revert LoanNotInStatus(loanId, status);
        bool expired = status == LoanStatus.Originated && block.timestamp > l.fundingDeadline;
        if (!expired && !hasRole(ORIGINATOR_ROLE, msg.sender)) revert CancelNotAllowed(loanId, msg.sender);
        uint256 refunded = 0;
        uint256 mask = l.fundedMask;
        uint256 n = l.trancheCount;
        for (uint256 t; t < n; ++t) {
            if (mask & (1 << t) == 0) continue;
            (uint16 idx,) = _trancheAt(l, t);
            uint256 amount = _trancheAmount(l, t);
            refunded += amount;
            _accounts[idx].withdrawable += amount.toUint128(); // pull, not push: the lender withdraws
            _institutions[idx].exposure -= uint128(amount);
        }
        l.status = LoanStatus.Cancelled;
        bytes32 head = _nextHead(keccak256(abi.encode(_head(), LoanCancelled.selector, loanId, msg.sender, refunded)));
        emit LoanCancelled(loanId, msg.sender, refunded, head);
    }

    /// @inheritdoc ICoLendingLedger
    function disburse(uint256 loanId) external onlyRole(ORIGINATOR_ROLE) whenNotPaused nonReentrant {
        Loan storage l = _loanIn(loanId, LoanStatus.Funded);
        uint256 principal = l.principal;
        uint256 a = ScheduleMath.installmentAmount(
            uint8(l.method), principal, l.annualRateBps, l.periodSeconds, l.periods
        );
        l.status = LoanStatus.Active;
        l.disbursedAt = uint40(block.timestamp);
        l.current = 1;
        l.outstanding = uint96(principal); // < 2^96, checked at origination
        l.installmentAmount = a.toUint96();
        l.penaltyCheckpoint = uint32(block.timestamp);
        address borrower = l.borrower;
        bytes32 head =
            _nextHead(keccak256(abi.encode(_head(), LoanDisbursed.selector, loanId, borrower, principal, a)));
        emit LoanDisbursed(loanId, borrower, principal, a, head);
        _push(borrower, principal);
    }

    // --------------------------------------------------------------- repayment

    /// @inheritdoc ICoLendingLedger
    function repay(uint256 loanId, uint256 amount) external whenNotPaused nonReentrant {
        // slither-disable-next-line uninitialized-local (the empty cache means: write each credit through)
        Credits memory writeThrough; // no cache: a single payment writes each credit once anyway
        _setHead(_repay(loanId, amount, writeThrough, _head()));
        _pull(msg.sender, amount);
    }

    /// @inheritdoc ICoLendingLedger
    /// @dev One pull (and one fee-on-transfer check) for the batch; lender credits accumulate in memory and are
    /// written once per institution; the audit head stays in memory and is stored once. Every loan still gets its
    /// own record, chained exactly as if written one by one.
    function repayBatch(uint256[] calldata loanIds, uint256[] calldata amounts)
        external
        onlyRole(SERVICER_ROLE)
        whenNotPaused
        nonReentrant
    {
        uint256 n = loanIds.length;
        if (n != amounts.length) revert LengthMismatch(n, amounts.length);
        if (n == 0) revert ZeroAmount();
        Credits memory cr = _newCredits();
        bytes32 head = _head();
        uint256 total = 0;
        for (uint256 i; i < n; ++i) {
            uint256 amount = amounts[i];
            head = _repay(loanIds[i], amount, cr, head);
            total += amount;
        }
        _flush(cr);
        _setHead(head);
        _pull(msg.sender, total); // one transfer for the whole batch; any failure above reverts it all
    }

    /// @dev Applies one repayment from msg.sender (tokens pulled by the caller): penalty, then installments.
    /// Writes its audit record after `prev` and returns the new head (the caller stores it).
    function _repay(uint256 loanId, uint256 amount, Credits memory cr, bytes32 prev) private returns (bytes32 head) {
        if (amount == 0) revert ZeroAmount();
        Loan storage l = _loanIn(loanId, LoanStatus.Active);
        Cursor memory c = _load(l);
        uint256 left = _payInstallments(l, c, _payPenalty(c, amount), false);
        if (left != 0) revert Overpayment(loanId, amount, amount - left);
        RepaymentBreakdown memory r = _settle(l, c, cr, amount, 0);
        // Encode once: the record hashes abi.encode(prev, topic0, loanId, payer, r) (17 words) and the event's data
        // is abi.encode(r, head), i.e. words 4..17 of the same buffer once the head is written into word 17.
        bytes memory rec = abi.encode(prev, RepaymentApplied.selector, loanId, msg.sender, r, bytes32(0));
        bytes32 digest;
        assembly ("memory-safe") {
            digest := keccak256(add(rec, 32), 544)
        }
        head = _chain(prev, digest);
        bytes32 topic0 = RepaymentApplied.selector;
        assembly ("memory-safe") {
            let data := add(rec, 160) // skip the length word and prev, topic0, loanId, payer
            mstore(add(data, 416), head)
            log3(data, 448, topic0, loanId, caller()) // = emit RepaymentApplied(loanId, msg.sender, r, head)
        }
    }

    /// @inheritdoc ICoLendingLedger
    function withdraw() external whenNotPaused nonReentrant {
        uint16 idx = _indexOf[msg.sender];
        if (idx == 0) revert UnknownInstitution(msg.sender);
        Account storage acc = _accounts[idx];
        uint256 packed;
        assembly ("memory-safe") {
            packed := sload(acc.slot)
        }
        uint256 amount = uint128(packed); // withdrawable: the low 128 bits
        if (amount == 0) revert ZeroAmount();
        assembly ("memory-safe") {
            sstore(acc.slot, shl(128, shr(128, packed))) // withdrawable = 0, reserve kept: one write
        }
        bytes32 head = _nextHead(keccak256(abi.encode(_head(), Withdrawn.selector, msg.sender, amount)));
        emit Withdrawn(msg.sender, amount, head);
        _push(msg.sender, amount);
    }

    // ------------------------------------------------------------ cold paths

    /// @inheritdoc ICoLendingLedger
    function prepay(uint256, uint256) external {
        _callExtension();
    }

    /// @inheritdoc ICoLendingLedger
    function markDefault(uint256) external {
        _callExtension();
    }

    /// @inheritdoc ICoLendingLedger
    function writeOff(uint256) external {
        _callExtension();
    }

    /// @inheritdoc ICoLendingLedger
    function recover(uint256, uint256) external {
        _callExtension();
    }

    // ------------------------------------------------------------------- pause

    /// @inheritdoc ICoLendingLedger
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
        bytes32 head = _nextHead(keccak256(abi.encode(_head(), LedgerPaused.selector, msg.sender)));
        emit LedgerPaused(msg.sender, head);
    }

    /// @inheritdoc ICoLendingLedger
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
        bytes32 head = _nextHead(keccak256(abi.encode(_head(), LedgerUnpaused.selector, msg.sender)));
        emit LedgerUnpaused(msg.sender, head);
    }

    // ------------------------------------------------------------------- roles

    /// @dev Every grant (grantRole, the constructor's admin) writes an AccessChanged record: who may originate,
    /// fund, service or pause is part of the trail. A grant that changes nothing writes nothing.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted) _recordAccess(role, account, true);
    }

    /// @dev Every revocation (revokeRole, renounceRole) writes an AccessChanged record.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked) _recordAccess(role, account, false);
    }

    function _recordAccess(bytes32 role, address account, bool granted) private {
        bytes32 head =
            _nextHead(keccak256(abi.encode(_head(), AccessChanged.selector, role, account, msg.sender, granted)));
        emit AccessChanged(role, account, msg.sender, granted, head);
    }
}
