// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICoLendingLedger} from "./interfaces/ICoLendingLedger.sol";
import {AuditChain} from "./logic/AuditChain.sol";
import {CreditRisk} from "./logic/CreditRisk.sol";
import {Funding} from "./logic/Funding.sol";
import {Institutions} from "./logic/Institutions.sol";
import {LoanViews} from "./logic/LoanViews.sol";
import {Origination} from "./logic/Origination.sol";
import {Participations} from "./logic/Participations.sol";
import {Policy} from "./logic/Policy.sol";
import {Prepayment} from "./logic/Prepayment.sol";
import {Splitting} from "./logic/Splitting.sol";
import {Waterfall} from "./logic/Waterfall.sol";
import {AccountWord} from "./types/AccountWord.sol";
import {AuditHead} from "./types/AuditHead.sol";
import {LedgerState, Loan, loanIn} from "./types/LedgerState.sol";

/// @title CoLendingLedger
/// @notice One ledger for every co-lending loan, settling in one ERC-20 fixed at construction. The life cycle:
/// registerInstitution → originate → fund (each tranche) → disburse → repay / repayBatch / prepay → Closed; or
/// cancel before disbursement; or markDefault → writeOff → recover. Every state change writes one audit record.
/// @dev docs/ledger-spec.md is the specification. This is the only stateful contract: it holds every entry point,
/// every token transfer and every audit record. The rules live in libraries named after the spec's sections
/// (`logic/`): the hot path (Waterfall, Splitting, AuditChain, Policy) is internal and compiled in; Origination,
/// Prepayment, CreditRisk and LoanViews are linked external libraries reached by `delegatecall` on this contract's
/// storage (`_s`). Entry points that move tokens are nonReentrant, with the lock in the audit head's word; state is
/// written before tokens move (checks, effects, interactions) and `_pull` verifies the amount received.
contract CoLendingLedger is ICoLendingLedger, AccessControl, Pausable {
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

    /// @dev The settlement token, fixed at construction.
    IERC20 private immutable TOKEN;

    // The first variable of this contract: packed right after Pausable's `_paused`, so the pause check every call
    // makes warms the word each record writes. It also holds the reentrancy lock (AuditHead).
    AuditHead private _auditHead;
    /// @dev Everything else: loans, accounts, institutions, policy (types/LedgerState.sol).
    LedgerState private _s;

    /// @param token_ The settlement token.
    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param initialPolicy The policy in force from deployment.
    constructor(IERC20 token_, address admin, PolicyParams memory initialPolicy) {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        TOKEN = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin); // record 1
        Policy.validate(initialPolicy);
        _s.policy = initialPolicy;
        _record(abi.encode(0, PolicyUpdated.selector, msg.sender, initialPolicy, 0), 1); // record 2
    }

    /// @dev Entry points that move tokens: no reentry while one runs. The lock is a bit of the audit head's word,
    /// which every such call writes anyway (types/AuditHead.sol).
    modifier nonReentrant() {
        AuditHead h = _auditHead;
        if (h.isLocked()) revert ReentrantCall();
        _auditHead = h.locked();
        _;
        _auditHead = _auditHead.unlocked();
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICoLendingLedger
    function token() external view returns (address) {
        return address(TOKEN);
    }

    /// @inheritdoc ICoLendingLedger
    function auditHead() external view returns (bytes32) {
        return _auditHead.value();
    }

    /// @inheritdoc ICoLendingLedger
    function policy() external view returns (PolicyParams memory) {
        return _s.policy;
    }

    /// @inheritdoc ICoLendingLedger
    function loanCount() external view returns (uint256) {
        return _s.loanCount;
    }

    /// @inheritdoc ICoLendingLedger
    function institutionCount() external view returns (uint16) {
        return _s.institutionCount;
    }

    /// @inheritdoc ICoLendingLedger
    function institutionAt(uint16 index) external view returns (address) {
        return _s.institutions[index].account;
    }

    /// @inheritdoc ICoLendingLedger
    function loanByRef(bytes32 loanRef) external view returns (uint256) {
        return _s.loanByRef[loanRef];
    }

    /// @inheritdoc ICoLendingLedger
    function loansOf(bytes32 borrowerId) external view returns (uint256[] memory) {
        return _s.borrowerLoans[borrowerId];
    }

    /// @inheritdoc ICoLendingLedger
    function offerOf(uint256 offerId) external view returns (OfferView memory) {
        _answer(Participations.offerOf(_s, offerId));
    }

    /// @inheritdoc ICoLendingLedger
    function offerCount() external view returns (uint256) {
        return _s.offerCount;
    }

    /// @inheritdoc ICoLendingLedger
    function getLoan(uint256 loanId) external view returns (LoanView memory) {
        _answer(LoanViews.getLoan(_s, loanId));
    }

    /// @inheritdoc ICoLendingLedger
    function getTranches(uint256 loanId) external view returns (TrancheView[] memory) {
        _answer(LoanViews.getTranches(_s, loanId));
    }

    /// @inheritdoc ICoLendingLedger
    function scheduleOf(uint256 loanId) external view returns (InstallmentView[] memory) {
        _answer(LoanViews.scheduleOf(_s, loanId));
    }

    /// @inheritdoc ICoLendingLedger
    function amountDue(uint256 loanId) external view returns (DueView memory) {
        _answer(LoanViews.amountDue(_s, loanId));
    }

    /// @inheritdoc ICoLendingLedger
    function prepaymentQuote(uint256 loanId, uint256 principalAmount) external view returns (uint256) {
        return Prepayment.quote(_s, loanId, principalAmount);
    }

    /// @inheritdoc ICoLendingLedger
    function positionOf(uint256 loanId, address lender) external view returns (PositionView memory) {
        _answer(LoanViews.positionOf(_s, loanId, lender));
    }

    /// @inheritdoc ICoLendingLedger
    function auditSnapshot(uint256 firstId, uint256 count) external view returns (uint256[] memory) {
        _answer(LoanViews.auditSnapshot(_s, firstId, count));
    }

    /// @inheritdoc ICoLendingLedger
    function accountOf(address account) external view returns (AccountView memory) {
        _answer(Institutions.accountOf(_s, account));
    }

    /// @inheritdoc ICoLendingLedger
    function poolCollectionsOf(address pool) external view returns (uint256, uint256) {
        _answer(Institutions.poolCollectionsOf(_s, pool));
    }

    /// @inheritdoc ICoLendingLedger
    function creditRecord(bytes32 borrowerId) external view returns (CreditRecord memory) {
        _answer(LoanViews.creditRecord(_s, borrowerId));
    }

    /// @dev Returns `encoded`, a view's answer as its library ABI-encoded it, as this call's return data: the view
    /// is declared with its real return type, and its encoder lives once, in the library.
    function _answer(bytes memory encoded) private pure {
        assembly ("memory-safe") {
            return(add(encoded, 32), mload(encoded))
        }
    }

    // ------------------------------------------------------------ institutions

    /// @inheritdoc ICoLendingLedger
    function registerInstitution(address account, string calldata name, bool isPlatform)
        external
        returns (uint16 index)
    {
        return _register(account, name, isPlatform, false);
    }

    /// @inheritdoc ICoLendingLedger
    function registerPool(address pool, string calldata name) external returns (uint16 index) {
        return _register(pool, name, false, true);
    }

    /// @dev Registers an institution (Institutions.register writes its records) and grants it LENDER_ROLE.
    function _register(address account, string calldata name, bool isPlatform, bool isPool)
        private
        onlyRole(DEFAULT_ADMIN_ROLE)
        whenNotPaused
        returns (uint16 index)
    {
        AccessControl._grantRole(LENDER_ROLE, account); // recorded by InstitutionRegistered, not AccessChanged
        (_auditHead, index) = Institutions.register(_s, _auditHead, account, name, isPlatform, isPool);
    }

    /// @inheritdoc ICoLendingLedger
    /// @dev Not whenNotPaused, like the role functions: replacing a compromised key is what an incident needs.
    function rotateInstitution(address account, address newAccount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _auditHead = Institutions.rotate(_s, _auditHead, account, newAccount);
        // The role moves with the address; InstitutionRotated records both (no AccessChanged records).
        AccessControl._revokeRole(LENDER_ROLE, account);
        AccessControl._grantRole(LENDER_ROLE, newAccount);
    }

    /// @inheritdoc ICoLendingLedger
    function setPolicy(PolicyParams calldata params) external onlyRole(DEFAULT_ADMIN_ROLE) whenNotPaused {
        Policy.set(_s, params);
        _record(abi.encode(0, PolicyUpdated.selector, msg.sender, params, 0), 1);
    }

    // -------------------------------------------------------------- origination

    /// @inheritdoc ICoLendingLedger
    function originate(LoanTerms calldata terms, Tranche[] calldata tranches)
        external
        onlyRole(ORIGINATOR_ROLE)
        whenNotPaused
        returns (uint256 loanId)
    {
        loanId = Origination.originate(_s, terms, tranches);
        bytes32 head = _advance(
            abi.encode(0, LoanOriginated.selector, loanId, terms.borrower, terms.borrowerId, terms, tranches)
        );
        emit LoanOriginated(loanId, terms.borrower, terms.borrowerId, terms, tranches, head);
    }

    // --------------------------------------------------- funding, cancel, disburse

    /// @inheritdoc ICoLendingLedger
    function fund(uint256 loanId) external onlyRole(LENDER_ROLE) whenNotPaused nonReentrant {
        (uint256 amount, uint256 exposure, bool full) = Funding.fund(_s, loanId, msg.sender);
        _record(abi.encode(0, TrancheFunded.selector, loanId, msg.sender, amount, exposure, full, 0), 2);
        _pull(msg.sender, amount);
    }

    /// @inheritdoc ICoLendingLedger
    function cancel(uint256 loanId) external whenNotPaused nonReentrant {
        uint256 refunded = Funding.cancel(_s, loanId, msg.sender, hasRole(ORIGINATOR_ROLE, msg.sender));
        _record(abi.encode(0, LoanCancelled.selector, loanId, msg.sender, refunded, 0), 2);
    }

    /// @inheritdoc ICoLendingLedger
    function disburse(uint256 loanId) external onlyRole(ORIGINATOR_ROLE) whenNotPaused nonReentrant {
        (address borrower, uint256 principal, uint256 a) = Funding.disburse(_s, loanId);
        _record(abi.encode(0, LoanDisbursed.selector, loanId, borrower, principal, a, 0), 2);
        _push(borrower, principal);
    }

    // --------------------------------------------------------------- repayment

    /// @inheritdoc ICoLendingLedger
    /// @dev Open while paused, like every borrower-funded inflow: the ledger never refuses a payment, so no
    /// penalty, lateness or default can come from time during which it refused one (docs/ledger-spec.md, "Roles").
    function repay(uint256 loanId, uint256 amount) external nonReentrant {
        // slither-disable-next-line uninitialized-local (the empty cache means: write each credit through)
        Splitting.Credits memory writeThrough;
        uint256 paid;
        AuditHead head;
        (head, paid) = _repay(loanId, amount, writeThrough, _auditHead);
        _auditHead = head;
        _pull(msg.sender, paid);
    }

    /// @inheritdoc ICoLendingLedger
    /// @dev One pull (and one fee-on-transfer check) for the batch; lender credits accumulate in memory and are
    /// written once per institution; the audit head stays in memory and is stored once. Every loan still gets its
    /// own record, chained exactly as if written one by one.
    function repayBatch(uint256[] calldata loanIds, uint256[] calldata amounts)
        external
        onlyRole(SERVICER_ROLE)
        nonReentrant
    {
        uint256 n = loanIds.length;
        if (n != amounts.length) revert LengthMismatch(n, amounts.length);
        if (n == 0) revert ZeroAmount();
        Splitting.Credits memory cr = Splitting.newCredits();
        AuditHead head = _auditHead;
        uint256 total = 0;
        for (uint256 i; i < n; ++i) {
            uint256 paid;
            (head, paid) = _repay(loanIds[i], amounts[i], cr, head);
            total += paid;
        }
        Splitting.flush(_s, cr);
        _auditHead = head;
        _pull(msg.sender, total); // one transfer for the whole batch; any failure above reverts it all
    }

    /// @dev Applies one repayment from msg.sender (tokens pulled by the caller) and writes its record after `prev`;
    /// returns the new head (the caller stores it) and the amount paid (`amount`, or everything due for the
    /// `type(uint256).max` sentinel).
    function _repay(uint256 loanId, uint256 amount, Splitting.Credits memory cr, AuditHead prev)
        private
        returns (AuditHead, uint256)
    {
        if (amount == 0) revert ZeroAmount();
        Loan storage l = loanIn(_s, loanId, LoanStatus.Active);
        Waterfall.Cursor memory c = Waterfall.load(l);
        (uint256 paid, uint256 left) = Waterfall.applyRepayment(l, c, amount);
        if (left != 0) revert Overpayment(loanId, amount, amount - left);
        if (paid == 0) revert NothingDue(loanId);
        RepaymentBreakdown memory r = Splitting.settle(_s, l, c, cr, paid, 0);
        return (AuditChain.append(prev, abi.encode(0, RepaymentApplied.selector, loanId, msg.sender, r, 0), 2), paid);
    }

    /// @inheritdoc ICoLendingLedger
    /// @dev Open while paused (a borrower-funded inflow, as `repay`).
    function prepay(uint256 loanId, uint256 principalAmount) external nonReentrant {
        (RepaymentBreakdown memory r, uint256 fee, uint256 newA, uint256 total) =
            Prepayment.prepay(_s, loanId, principalAmount);
        _record(
            abi.encode(0, PrepaymentApplied.selector, loanId, msg.sender, r, principalAmount, fee, newA, 0), 2
        );
        _pull(msg.sender, total);
    }

    /// @inheritdoc ICoLendingLedger
    /// @dev No reentrancy lock, unlike every entry point that pulls tokens: the only external call is the final
    /// transfer out, made once the caller's balance is zero and its record written, so a reentrant call finds the
    /// books complete and consistent (and a reentrant withdraw finds nothing to withdraw).
    function withdraw() external whenNotPaused {
        _withdraw(msg.sender);
    }

    /// @inheritdoc ICoLendingLedger
    /// @dev No reentrancy lock, as `withdraw`.
    function withdrawTo(address to) external whenNotPaused {
        if (to == address(0)) revert ZeroAddress();
        _withdraw(to);
    }

    /// @dev Sends the caller's whole withdrawable balance to `to` (its reserve stays): checks, effects, record,
    /// then the transfer.
    function _withdraw(address to) private {
        uint16 idx = _s.indexOf[msg.sender];
        if (idx == 0) revert UnknownInstitution(msg.sender);
        AccountWord word = _s.accounts[idx];
        uint256 amount = word.withdrawable();
        if (amount == 0) revert ZeroAmount();
        _s.accounts[idx] = AccountWord.wrap(0).add(0, word.reserve()); // withdrawable = 0, reserve kept
        _record(abi.encode(0, Withdrawn.selector, msg.sender, to, amount, 0), 2);
        _push(to, amount);
    }

    // ------------------------------------------------------------- credit risk

    /// @inheritdoc ICoLendingLedger
    function markDefault(uint256 loanId) external whenNotPaused nonReentrant {
        (uint256 owed, uint256 principal, uint256 unpaidInterest, uint256 penalty) =
            CreditRisk.markDefault(_s, loanId, hasRole(SERVICER_ROLE, msg.sender));
        _record(
            abi.encode(0, LoanDefaulted.selector, loanId, msg.sender, owed, principal, unpaidInterest, penalty, 0), 2
        );
    }

    /// @inheritdoc ICoLendingLedger
    function writeOff(uint256 loanId) external onlyRole(SERVICER_ROLE) whenNotPaused nonReentrant {
        (uint256 loss, uint256 absorbed) = CreditRisk.writeOff(_s, loanId);
        _record(abi.encode(0, LoanWrittenOff.selector, loanId, msg.sender, loss, absorbed, 0), 2);
    }

    /// @inheritdoc ICoLendingLedger
    /// @dev Open while paused (a borrower-funded inflow, as `repay`).
    function recover(uint256 loanId, uint256 amount) external nonReentrant {
        (uint256 recovered, uint256 outstanding, LoanStatus status) = CreditRisk.recover(_s, loanId, amount);
        _record(
            abi.encode(0, RecoveryApplied.selector, loanId, msg.sender, amount, recovered, outstanding, status, 0), 2
        );
        _pull(msg.sender, amount);
    }

    // ----------------------------------------------------------- participations

    /// @inheritdoc ICoLendingLedger
    function offerPosition(uint256 loanId, address buyer, uint16 shareBps, uint256 price, uint40 expiry)
        external
        whenNotPaused
        returns (uint256 offerId)
    {
        (_auditHead, offerId) =
            Participations.offer(_s, _auditHead, loanId, msg.sender, buyer, shareBps, price, expiry);
    }

    /// @inheritdoc ICoLendingLedger
    function acceptOffer(uint256 offerId) external whenNotPaused nonReentrant {
        uint256 price;
        (_auditHead, price) = Participations.accept(_s, _auditHead, offerId, msg.sender);
        if (price != 0) _pull(msg.sender, price);
    }

    /// @inheritdoc ICoLendingLedger
    /// @dev Open while paused: withdrawing an offer moves nothing.
    function cancelOffer(uint256 offerId) external {
        _auditHead = Participations.cancel(_s, _auditHead, offerId, msg.sender);
    }

    // ------------------------------------------------------------------- pause

    /// @inheritdoc ICoLendingLedger
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
        _record(abi.encode(0, LedgerPaused.selector, msg.sender, 0), 1);
    }

    /// @inheritdoc ICoLendingLedger
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
        _record(abi.encode(0, LedgerUnpaused.selector, msg.sender, 0), 1);
    }

    // ------------------------------------------------------------------- roles

    /// @dev Every grant (grantRole, the constructor's admin) writes an AccessChanged record: who may originate,
    /// fund, service or pause is part of the trail. A grant that changes nothing writes nothing.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted) _record(abi.encode(0, AccessChanged.selector, role, account, msg.sender, true, 0), 3);
    }

    /// @dev Every revocation (revokeRole, renounceRole) writes an AccessChanged record.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked) _record(abi.encode(0, AccessChanged.selector, role, account, msg.sender, false, 0), 3);
    }

    // ------------------------------------------------------------ audit, tokens

    /// @dev Writes the audit record `rec` of a static event with `topics` indexed arguments (AuditChain.append).
    function _record(bytes memory rec, uint256 topics) private {
        _auditHead = AuditChain.append(_auditHead, rec, topics);
    }

    /// @dev Advances the audit head over the record `rec` of an event with dynamic arguments; returns the new head
    /// for the caller's `emit` (AuditChain.advance).
    function _advance(bytes memory rec) private returns (bytes32) {
        AuditHead head = AuditChain.advance(_auditHead, rec);
        _auditHead = head;
        return head.value();
    }

    /// @dev Pulls exactly `amount` from `from`; rejects tokens that deliver a different amount (fee on transfer),
    /// which would break conservation.
    function _pull(address from, uint256 amount) private {
        uint256 before = TOKEN.balanceOf(address(this));
        TOKEN.safeTransferFrom(from, address(this), amount);
        uint256 received = TOKEN.balanceOf(address(this)) - before;
        if (received != amount) revert UnexpectedTransferAmount(amount, received);
    }

    /// @dev Sends `amount` to `to`.
    function _push(address to, uint256 amount) private {
        TOKEN.safeTransfer(to, amount);
    }
}
