// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {LedgerAccounting} from "./LedgerAccounting.sol";
import {LedgerStorage} from "./LedgerStorage.sol";
import {ScheduleMath} from "./libraries/ScheduleMath.sol";
import {SplitMath} from "./libraries/SplitMath.sol";

/// @title LedgerExtension
/// @notice The second half of the co-lending ledger's code, run only by `delegatecall` from CoLendingLedger (so it
/// reads and writes the ledger's storage): the loan views (loans, tranches, schedules, dues, quotes, positions, the
/// audit snapshot), origination, prepayment, and default, write-off and recovery. Split off to keep each contract
/// under the 24 KiB code-size limit; the hot paths (repay, repayBatch, withdraw) stay in the ledger itself.
/// @dev Same base (LedgerStorage), hence the same storage layout, as the ledger. Calling it directly is useless: it
/// has no storage of its own and holds no tokens. Functions are documented in ICoLendingLedger.
contract LedgerExtension is LedgerAccounting {
    using SafeCast for uint256;

    /// @param token_ The settlement token (the ledger's, for `_pull`).
    constructor(IERC20 token_) LedgerStorage(token_) {}

    /// @notice See ICoLendingLedger.
    function getLoan(uint256 loanId) external view returns (LoanView memory v) {
        Loan storage l = _loans[loanId];
        v.status = l.status;
        v.method = l.method;
        v.borrower = l.borrower;
        v.borrowerId = l.borrowerId;
        v.principal = l.principal;
        v.annualRateBps = l.annualRateBps;
        v.periods = l.periods;
        v.periodSeconds = l.periodSeconds;
        v.gracePeriod = l.gracePeriod;
        v.penaltyRateBps = l.penaltyRateBps;
        v.prepaymentFeeBps = l.prepaymentFeeBps;
        v.serviceFeeBps = l.serviceFeeBps;
        v.feeRecipient = _institutions[l.feeRecipient].account;
        v.reserveBps = l.reserveBps;
        v.fundingDeadline = l.fundingDeadline;
        v.disbursedAt = l.disbursedAt;
        v.trancheCount = l.trancheCount;
        v.fundedCount = l.fundedCount;
        v.installmentAmount = l.installmentAmount;
        v.currentInstallment = l.current;
        v.outstandingAtInstallmentStart = l.outstanding;
        v.outstandingPrincipal = _outstandingPrincipal(l);
        v.interestPaidCur = l.interestPaidCur;
        v.principalPaidCur = l.principalPaidCur;
        v.interestPaid = l.interestPaid;
        v.feePaid = uint128(_feePaid(l));
        v.penaltyPaid = l.penaltyPaid;
        v.prepaymentFeePaid = l.prepaymentFeePaid;
        v.principalPaid = l.principalPaid;
        v.recovered = l.recovered;
        v.penaltyAccrued = l.penaltyAccrued;
        v.penaltyCheckpoint = l.penaltyCheckpoint;
        v.owedAtDefault = l.owedAtDefault;
        v.writtenOff = l.writtenOff;
    }

    /// @dev Principal still owed: O_k minus the current partial principal while Active; the stored outstanding
    /// (reduced by recoveries) while Defaulted; 0 otherwise.
    function _outstandingPrincipal(Loan storage l) internal view returns (uint128) {
        if (l.status == LoanStatus.Active) return l.outstanding - l.principalPaidCur;
        if (l.status == LoanStatus.Defaulted) return l.outstanding;
        return 0;
    }

    /// @notice See ICoLendingLedger.
    function getTranches(uint256 loanId) external view returns (TrancheView[] memory v) {
        Loan storage l = _loans[loanId];
        uint256 n = l.trancheCount;
        v = new TrancheView[](n);
        for (uint256 t; t < n; ++t) {
            (uint16 idx, uint16 share) = _trancheAt(l, t);
            v[t] = TrancheView({
                lender: _institutions[idx].account,
                institution: idx,
                shareBps: share,
                amount: uint128(_trancheAmount(l, t)),
                funded: l.fundedMask & (1 << t) != 0
            });
        }
    }

    /// @notice See ICoLendingLedger.
    /// @dev Before disbursement: the full schedule from installment 1 with A computed now and due dates as
    /// offsets from 0. Active: installments k..n. Other statuses: empty.
    function scheduleOf(uint256 loanId) external view returns (InstallmentView[] memory v) {
        Loan storage l = _loans[loanId];
        LoanStatus status = l.status;
        uint256 n = l.periods;
        uint256 k = l.current;
        uint256 outstanding = l.outstanding;
        uint256 a = l.installmentAmount;
        if (status == LoanStatus.Originated || status == LoanStatus.Funded) {
            k = 1;
            outstanding = l.principal;
            a = ScheduleMath.installmentAmount(uint8(l.method), outstanding, l.annualRateBps, l.periodSeconds, n);
        } else if (status != LoanStatus.Active) {
            return v;
        }
        v = new InstallmentView[](n + 1 - k);
        for (uint256 j = k; j <= n; ++j) {
            (uint256 i, uint256 p) = ScheduleMath.installment(
                uint8(l.method), a, outstanding, l.annualRateBps, l.periodSeconds, j == n
            );
            InstallmentView memory row = v[j - k];
            row.index = uint16(j);
            row.dueDate = uint40(_dueDate(l, j));
            row.outstandingBefore = uint128(outstanding);
            row.interest = uint128(i);
            row.principal = uint128(p);
            if (j == k && status == LoanStatus.Active) {
                row.interestPaid = l.interestPaidCur;
                row.principalPaid = l.principalPaidCur;
            }
            outstanding -= p;
        }
    }

    /// @notice See ICoLendingLedger.
    function amountDue(uint256 loanId) external view returns (DueView memory v) {
        Loan storage l = _loans[loanId];
        if (l.status != LoanStatus.Active) return v;
        Cursor memory c = _load(l);
        uint256 n = l.periods;
        uint256 grace = l.gracePeriod;
        if (c.k <= n) v.nextDueDate = uint40(_dueDate(l, c.k));
        for (uint256 j = c.k; j <= n && block.timestamp > _dueDate(l, j) + grace; ++j) {
            v.overdueInstallments += 1;
        }
        v.penalty = c.penalty;
        _payInstallments(l, c, type(uint256).max, true);
        v.interest = c.interestApplied;
        v.principal = c.principalApplied;
        v.totalDue = v.penalty + v.interest + v.principal;
        v.maxPayable = v.totalDue;
        if (c.k <= n) {
            (uint256 i, uint256 p) = _dues(l, c.k, c.outstanding);
            v.maxPayable += i + p - c.ic - c.pc; // the next installment, paid early
        }
    }

    /// @notice See ICoLendingLedger.
    function prepaymentQuote(uint256 loanId, uint256 principalAmount) external view returns (uint256 total) {
        if (principalAmount == 0) revert ZeroAmount();
        (,,, total) = _prepaySim(loanId, _loanIn(loanId, LoanStatus.Active), principalAmount);
    }

    /// @dev Simulates a prepayment now: accrued penalty, every installment already due, the current installment's
    /// full interest, `principalAmount` as its principal, and the fee ceil(principalAmount * feeBps / BPS).
    /// Returns the cursor after it, the fee, the re-amortized A and the total to pull.
    function _prepaySim(uint256 loanId, Loan storage l, uint256 principalAmount)
        internal
        view
        returns (Cursor memory c, uint256 fee, uint256 newA, uint256 total)
    {
        c = _load(l);
        _payPenalty(c, c.penalty);
        _payInstallments(l, c, type(uint256).max, true);
        uint256 n = l.periods;
        if (c.k > n) revert Overpayment(loanId, principalAmount, 0);
        uint256 maxPrincipal = c.outstanding - c.pc;
        if (principalAmount > maxPrincipal) revert Overpayment(loanId, principalAmount, maxPrincipal);
        (uint256 i,) = _dues(l, c.k, c.outstanding);
        c.interestApplied += i - c.ic; // 当期利息照收: the current installment's interest in full
        c.principalApplied += principalAmount;
        _completeInstallment(l, c, c.pc + principalAmount);
        newA = l.installmentAmount;
        if (c.outstanding != 0) {
            if (c.k > n) revert PrepaymentLeavesNoPeriod(loanId);
            if (l.method != RepaymentMethod.InterestFirst) {
                newA = ScheduleMath.installmentAmount(
                    uint8(l.method), c.outstanding, l.annualRateBps, l.periodSeconds, n + 1 - c.k
                );
            }
        }
        fee = Math.mulDiv(principalAmount, l.prepaymentFeeBps, BPS, Math.Rounding.Ceil); // a due: rounds up
        total = c.penaltyApplied + c.interestApplied + c.principalApplied + fee;
    }

    /// @notice See ICoLendingLedger.
    function positionOf(uint256 loanId, address lender) external view returns (PositionView memory v) {
        Loan storage l = _loans[loanId];
        uint16 idx = _indexOf[lender];
        uint256 n = l.trancheCount;
        uint256 t = 0;
        uint16 share;
        for (; t < n; ++t) {
            uint16 i;
            (i, share) = _trancheAt(l, t);
            if (i == idx && idx != 0) break;
        }
        if (t == n) revert NotATrancheLender(loanId, lender);
        v.shareBps = share;
        v.amount = uint128(_trancheAmount(l, t));
        v.funded = l.fundedMask & (1 << t) != 0;
        v.lead = t == 0;
        (v.incomeCredited, v.reserveHeld, v.principalCredited, v.recoveredCredited) =
            _positionCredits(l, t, share, _totals(l));
    }

    /// @dev Tranche `t`'s cumulative credits, given the loan's `tot`: what it was credited of the income (and holds
    /// of it in reserve), of the principal and of the recoveries (PositionView's last four fields). The lead (t == 0)
    /// takes the income and principal remainders once the loan has ended, the recoveries' remainder once recoveries
    /// reach owedAtDefault.
    function _positionCredits(Loan storage l, uint256 t, uint256 share, Totals memory tot)
        private
        view
        returns (uint256 income, uint256 held, uint256 principal, uint256 recovered)
    {
        income = SplitMath.bpsOf(tot.income, share);
        principal = SplitMath.bpsOf(tot.principal, share);
        recovered = SplitMath.bpsOf(tot.recovered, share);
        LoanStatus status = l.status;
        if (status == LoanStatus.Active || status == LoanStatus.Defaulted) {
            held = SplitMath.bpsOf(income, l.reserveBps);
        }
        // Closed or WrittenOff: the loan's reserve was released (or absorbed) when it ended; held stays 0.
        if (t == 0 && (status == LoanStatus.Closed || status == LoanStatus.WrittenOff)) {
            income = tot.income - _othersOf(l, tot.income);
            principal = tot.principal - _othersOf(l, tot.principal);
        }
        if (t == 0 && tot.recovered != 0 && tot.recovered == l.owedAtDefault) {
            recovered = tot.recovered - _othersOf(l, tot.recovered);
        }
    }

    /// @dev Σ over the non-lead tranches of floor(amount * share / BPS).
    function _othersOf(Loan storage l, uint256 amount) private view returns (uint256 sum) {
        uint256 n = l.trancheCount;
        for (uint256 t = 1; t < n; ++t) {
            (, uint16 share) = _trancheAt(l, t);
            sum += SplitMath.bpsOf(amount, share);
        }
    }

    /// @notice See ICoLendingLedger.
    function auditSnapshot(uint256 firstId, uint256 count) external view returns (uint256[] memory words) {
        uint256 last = _loanCount;
        if (firstId == 0 || firstId > last || count == 0) return words;
        uint256 end = count > last - firstId ? last + 1 : firstId + count;
        uint256 size = 0;
        for (uint256 id = firstId; id < end; ++id) {
            size += SNAPSHOT_LOAN_WORDS + SNAPSHOT_TRANCHE_WORDS * _loans[id].trancheCount;
        }
        words = new uint256[](size);
        uint256 p;
        assembly ("memory-safe") {
            p := add(words, 0x20)
        }
        for (uint256 id = firstId; id < end; ++id) {
            p = _snapshotLoan(p, id);
        }
    }

    /// @dev Writes loan `id`'s snapshot words from memory address `p` on (layout: ICoLendingLedger.auditSnapshot,
    /// into the array `auditSnapshot` sized for them); returns the address after them.
    function _snapshotLoan(uint256 p, uint256 id) private view returns (uint256) {
        Loan storage l = _loans[id];
        uint256 n = l.trancheCount;
        p = _put(p, id);
        p = _put(p, uint256(l.status));
        p = _put(p, uint256(l.borrowerId));
        p = _put(p, l.fundedCount);
        p = _put(p, l.current);
        p = _put(p, l.installmentAmount);
        p = _put(p, _outstandingPrincipal(l));
        p = _put(p, l.interestPaid);
        p = _put(p, _feePaid(l));
        p = _put(p, l.penaltyPaid);
        p = _put(p, l.prepaymentFeePaid);
        p = _put(p, l.principalPaid);
        p = _put(p, l.recovered);
        p = _put(p, l.owedAtDefault);
        p = _put(p, l.writtenOff);
        p = _put(p, n);
        Totals memory tot = _totals(l);
        for (uint256 t = 0; t < n; ++t) {
            p = _snapshotTranche(p, l, t, tot);
        }
        return p;
    }

    /// @dev Writes tranche `t`'s snapshot words from `p` on; returns the address after them.
    function _snapshotTranche(uint256 p, Loan storage l, uint256 t, Totals memory tot) private view returns (uint256) {
        (uint16 idx, uint16 share) = _trancheAt(l, t);
        p = _put(p, uint256(uint160(_institutions[idx].account)));
        p = _put(p, share);
        p = _put(p, (l.fundedMask >> t) & 1);
        (uint256 income, uint256 held, uint256 principal, uint256 recovered) = _positionCredits(l, t, share, tot);
        return _put(_put(_put(_put(p, income), held), principal), recovered);
    }

    /// @dev Stores `value` at memory address `p` (inside an array allocated for it); returns the next address.
    function _put(uint256 p, uint256 value) private pure returns (uint256) {
        assembly ("memory-safe") {
            mstore(p, value)
        }
        return p + 32;
    }

    // -------------------------------------------------------------- origination

    /// @notice See ICoLendingLedger.
    function originate(LoanTerms calldata terms, Tranche[] calldata tranches)
        external
        onlyRole(ORIGINATOR_ROLE)
        whenNotPaused
        returns (uint256 loanId)
    {
        // One memory copy: cheaper code than reading and re-encoding calldata at every use.
        LoanTerms memory t = terms;
        Tranche[] memory tr = tranches;
        loanId = ++_loanCount;
        _checkTerms(loanId, t);
        Loan storage l = _loans[loanId];
        _storeTranches(loanId, l, tr);
        l.status = LoanStatus.Originated;
        l.method = t.method;
        l.periods = t.periods;
        l.periodSeconds = t.periodSeconds;
        l.annualRateBps = t.annualRateBps;
        l.penaltyRateBps = t.penaltyRateBps;
        l.serviceFeeBps = t.serviceFeeBps;
        l.reserveBps = t.reserveBps;
        l.prepaymentFeeBps = t.prepaymentFeeBps;
        l.gracePeriod = t.gracePeriod;
        l.borrower = t.borrower;
        l.fundingDeadline = t.fundingDeadline;
        l.feeRecipient = _indexOf[t.feeRecipient];
        l.borrowerId = t.borrowerId;
        l.principal = t.principal;
        _borrowerLoans[t.borrowerId].push(loanId);
        bytes32 head = _nextHead(
            keccak256(abi.encode(_head(), LoanOriginated.selector, loanId, t.borrower, t.borrowerId, t, tr))
        );
        emit LoanOriginated(loanId, t.borrower, t.borrowerId, t, tr, head);
    }

    /// @dev Validates the terms (docs/ledger-spec.md, "Origination") and the policy's term checks.
    function _checkTerms(uint256 loanId, LoanTerms memory terms) private view {
        if (terms.borrower == address(0)) revert ZeroAddress();
        if (terms.principal == 0) revert ZeroAmount();
        // The loan's hot slot packs principal-bounded amounts in 96 bits (7.9e28 base units).
        if (terms.principal > type(uint96).max) revert PrincipalAboveCap(terms.principal, type(uint96).max);
        if (terms.periods == 0 || terms.periods > MAX_PERIODS) revert InvalidTerms(1);
        if (terms.periodSeconds == 0) revert InvalidTerms(2);
        if ((terms.feeRecipient != address(0)) != (terms.serviceFeeBps > 0)) revert InvalidTerms(3);
        if (terms.serviceFeeBps > BPS) revert InvalidTerms(4);
        if (terms.prepaymentFeeBps > BPS) revert InvalidTerms(5);
        if (terms.reserveBps > BPS) revert InvalidTerms(6);
        if (terms.fundingDeadline <= block.timestamp) revert DeadlinePassed(loanId, terms.fundingDeadline);
        if (terms.feeRecipient != address(0) && _indexOf[terms.feeRecipient] == 0) {
            revert UnknownInstitution(terms.feeRecipient);
        }
        _checkTermsPolicy(terms);
    }

    /// @dev Validates and packs the tranches (lead first), then applies the policy's platform-share check.
    function _storeTranches(uint256 loanId, Loan storage l, Tranche[] memory tranches) private {
        uint256 n = tranches.length;
        if (n == 0 || n > MAX_TRANCHES) revert InvalidTrancheCount(n);
        uint256 sum = 0;
        uint256 platformShare = 0;
        bool zeroShare = false;
        uint256[2] memory words = [uint256(0), 0];
        for (uint256 t; t < n; ++t) {
            address lender = tranches[t].lender;
            uint16 share = tranches[t].shareBps;
            uint16 idx = _indexOf[lender];
            if (idx == 0) revert UnknownInstitution(lender);
            for (uint256 u; u < t; ++u) {
                if (tranches[u].lender == lender) revert DuplicateLender(lender);
            }
            if (share == 0) zeroShare = true;
            sum += share;
            if (_institutions[idx].isPlatform) platformShare += share;
            words[t / SplitMath.PER_WORD] |= SplitMath.pack(idx, share) << ((t % SplitMath.PER_WORD) * SplitMath.ENTRY_BITS);
        }
        if (zeroShare || sum != BPS) revert SharesNotWhole(sum);
        _checkPlatformShare(loanId, n, platformShare);
        l.trancheCount = uint8(n);
        l.tranches[0] = words[0];
        if (n > SplitMath.PER_WORD) l.tranches[1] = words[1];
    }

    // --------------------------------------------------------------- prepayment

    /// @notice See ICoLendingLedger.
    function prepay(uint256 loanId, uint256 principalAmount) external whenNotPaused nonReentrant {
        if (principalAmount == 0) revert ZeroAmount();
        Loan storage l = _loanIn(loanId, LoanStatus.Active);
        (Cursor memory c, uint256 fee, uint256 newA, uint256 total) = _prepaySim(loanId, l, principalAmount);
        if (newA != l.installmentAmount) l.installmentAmount = newA.toUint96();
        // slither-disable-next-line uninitialized-local (the empty cache means: write each credit through)
        Credits memory writeThrough;
        RepaymentBreakdown memory r = _settle(l, c, writeThrough, total, fee);
        bytes32 head = _nextHead(
            keccak256(
                abi.encode(_head(), PrepaymentApplied.selector, loanId, msg.sender, r, principalAmount, fee, newA)
            )
        );
        emit PrepaymentApplied(loanId, msg.sender, r, principalAmount, fee, newA, head);
        _pull(msg.sender, total);
    }

    // ------------------------------------------------------- default and recovery

    /// @notice See ICoLendingLedger.
    function markDefault(uint256 loanId) external whenNotPaused nonReentrant {
        Loan storage l = _loanIn(loanId, LoanStatus.Active);
        uint256 overdueSince = _dueDate(l, l.current) + l.gracePeriod;
        uint256 defaultableAt = overdueSince + _policy.defaultAfter;
        if (!hasRole(SERVICER_ROLE, msg.sender)) defaultableAt += _policy.publicDefaultDelay;
        if (block.timestamp <= overdueSince || block.timestamp < defaultableAt) {
            revert NotOverdueLongEnough(loanId, overdueSince, defaultableAt);
        }
        Cursor memory c = _load(l);
        uint256 penalty = c.penalty;
        uint256 principal = c.outstanding - c.pc;
        _payInstallments(l, c, type(uint256).max, true); // a dry run: what is due, unpaid
        uint256 unpaidInterest = c.interestApplied;
        uint256 owed = principal + unpaidInterest + penalty;
        l.penaltyAccrued = penalty.toUint128();
        if (penalty != 0) l.flags |= F_PENALTY;
        l.penaltyCheckpoint = uint32(block.timestamp);
        l.outstanding = uint96(principal); // <= O_k: fits; from now on the outstanding principal itself
        l.owedAtDefault = owed.toUint128();
        l.status = LoanStatus.Defaulted;
        bytes32 head = _nextHead(
            keccak256(
                abi.encode(
                    _head(), LoanDefaulted.selector, loanId, msg.sender, owed, principal, unpaidInterest, penalty
                )
            )
        );
        emit LoanDefaulted(loanId, msg.sender, owed, principal, unpaidInterest, penalty, head);
    }

    /// @notice See ICoLendingLedger.
    function writeOff(uint256 loanId) external onlyRole(SERVICER_ROLE) whenNotPaused nonReentrant {
        Loan storage l = _loanIn(loanId, LoanStatus.Defaulted);
        uint256 loss = l.outstanding;
        l.status = LoanStatus.WrittenOff;
        l.writtenOff = uint128(loss);
        l.outstanding = 0;
        uint256 absorbed = _endLoan(l, loss);
        bytes32 head =
            _nextHead(keccak256(abi.encode(_head(), LoanWrittenOff.selector, loanId, msg.sender, loss, absorbed)));
        emit LoanWrittenOff(loanId, msg.sender, loss, absorbed, head);
    }

    /// @notice See ICoLendingLedger.
    function recover(uint256 loanId, uint256 amount) external whenNotPaused nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Loan storage l = _loans[loanId];
        LoanStatus status = l.status;
        if (status != LoanStatus.Defaulted && status != LoanStatus.WrittenOff) revert LoanNotInStatus(loanId, status);
        uint256 recovered = uint256(l.recovered) + amount;
        uint256 owed = l.owedAtDefault;
        if (recovered > owed) revert Overpayment(loanId, amount, owed - l.recovered);
        Totals memory before = _totals(l);
        l.recovered = uint128(recovered);
        uint256 outstanding = l.outstanding;
        if (status == LoanStatus.Defaulted && outstanding != 0) {
            outstanding -= Math.min(amount, outstanding);
            l.outstanding = uint96(outstanding); // decreased: fits
        }
        _distribute(l, before, _totals(l), status == LoanStatus.WrittenOff);
        if (recovered == owed) {
            // Recoveries are final: their remainder (< one unit per tranche) goes to the lead, as closure does.
            uint256 leftover = recovered - _othersOf(l, recovered);
            (uint16 lead, uint16 leadShare) = _trancheAt(l, 0);
            leftover -= SplitMath.bpsOf(recovered, leadShare);
            if (leftover != 0) _creditAccount(lead, leftover, 0, status == LoanStatus.WrittenOff);
        }
        bytes32 head = _nextHead(
            keccak256(
                abi.encode(_head(), RecoveryApplied.selector, loanId, msg.sender, amount, recovered, outstanding)
            )
        );
        emit RecoveryApplied(loanId, msg.sender, amount, recovered, outstanding, head);
        _pull(msg.sender, amount);
    }
}
