// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILedgerErrors} from "../interfaces/ILedgerErrors.sol";
import {ILedgerTypes} from "../interfaces/ILedgerTypes.sol";
import {AccountWord} from "./AccountWord.sol";
import {LoanCursor} from "./LoanCursor.sol";
import {OffsetWord} from "./OffsetWord.sol";
import {TrancheWord} from "./TrancheWord.sol";

/// @dev Basis points in one whole.
uint256 constant BPS = 10_000;
/// @dev Seconds in a day (days late are whole days).
uint256 constant DAY = 86_400;
/// @dev The most installments a loan may have.
uint256 constant MAX_PERIODS = 600;
/// @dev The most tranches a loan may have (two tranche words).
uint256 constant MAX_TRANCHES = 16;
/// @dev Penalty accrues exactly in units of 1 / PENALTY_DENOMINATOR of a base unit (BPS * YEAR: the denominator of
/// unpaid * rateBps * seconds / (BPS * YEAR)) and is rounded up once, when it is owed or paid.
uint256 constant PENALTY_DENOMINATOR = 10_000 * 31_536_000;
/// @dev Loan flag: interestPaidCur or principalPaidCur is non-zero.
uint8 constant F_PARTIAL = 1;
/// @dev Loan flag: penaltyAccrued is non-zero.
uint8 constant F_PENALTY = 2;
/// @dev Loan flag: penaltyPaid or prepaymentFeePaid is non-zero (they only grow).
uint8 constant F_EXTRA = 4;
/// @dev Loan flag: a position in the loan changed hands: credits use the holders' offsets (`Loan.offsets`).
uint8 constant F_TRANSFERRED = 8;
/// @dev Loan flag: `sharesAtWriteOff` holds the tranche words as they were at the write-off (a position changed
/// hands after it).
uint8 constant F_WRITE_OFF_SHARES = 16;
/// @dev Loan flag: a loan pool bought a position in the loan: its credits add to the pool's collections
/// (`LedgerState.poolCollections`, docs/ledger-spec.md, "Loan pools"). Set only with F_TRANSFERRED.
uint8 constant F_POOL = 32;

/// @notice One loan. Slot comments give the packing; fields of a slot are read and written together.
/// @dev A common repayment (nothing overdue, no partial installment pending) reads slot 0 (terms and flags), the
/// cursor (slot 1, written), slot 3 (cumulative interest and principal, written) and the first tranche word; the
/// `flags` say when the partial-payment slot (2), the penalty and prepayment-fee totals (4) or the accrued penalty
/// (5) must be read too. Lender credits derive from the cumulative totals, so a repayment writes one account word
/// per lender and nothing per lender per loan.
struct Loan {
    // slot 0: terms, read on every payment, written only at status changes (232 bits)
    ILedgerTypes.LoanStatus status;
    ILedgerTypes.RepaymentMethod method;
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
    uint8 flags; // F_PARTIAL | F_PENALTY | F_EXTRA: cold slots holding non-zero values; F_TRANSFERRED, F_WRITE_OFF_SHARES,
    // F_POOL
    // slot 1: the schedule cursor, written on every payment
    LoanCursor cursor;
    // slot 2: partial payments of installment k (read only with F_PARTIAL)
    uint128 interestPaidCur;
    uint128 principalPaidCur;
    // slot 3: cumulative gross interest and principal
    uint128 interestPaid;
    uint128 principalPaid;
    // slot 4 (read on payments only with F_EXTRA)
    uint128 penaltyPaid;
    uint128 prepaymentFeePaid;
    // slot 5: accrued unpaid penalty, exactly: whole units and the remainder in 1 / PENALTY_DENOMINATOR (read on
    // payments only with F_PENALTY), and the late counters
    uint128 penaltyAccrued;
    uint40 penaltyFraction;
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
    // slots 10-11: the tranches, ten to a word, lead first
    TrancheWord[2] tranches;
    // slot 12 (cold): the policy's timing when the loan was originated, fixed for its life
    uint32 defaultAfter;
    uint32 publicDefaultDelay;
    uint40 disburseBy; // fundingDeadline + disbursementWindow
    // slot 13 (cold)
    bytes32 loanRef; // the institutions' reference, zero if none
    // slot 14: per holder, the offsets of its income and principal credits (docs/ledger-spec.md, "Participations");
    // read only with F_TRANSFERRED
    mapping(uint16 institution => OffsetWord) offsets;
    // slot 15: per holder, the offset of its recovery credits (written when recoveries existed at a transfer)
    mapping(uint16 institution => int256) recoveryOffsets;
    // slots 16-17: the tranche words at the write-off (F_WRITE_OFF_SHARES)
    TrancheWord[2] sharesAtWriteOff;
}

/// @notice An open offer of part of a position (docs/ledger-spec.md, "Participations"): one word.
struct Offer {
    uint128 price;
    uint40 expiry;
    uint40 loanId;
    uint16 seller; // institution index
    uint16 buyer; // institution index
    uint16 shareBps;
}

/// @notice An institution's registration and risk figures (cold; its balances are its AccountWord).
struct Institution {
    address account;
    bool isPlatform;
    bool isPool; // a loan pool (registerPool): never a tranche lender at origination, never a platform
    uint128 loss;
    uint128 exposure;
    string name;
}

/// @notice A loan pool's cumulative credits that are principal (docs/ledger-spec.md, "Loan pools"): what its
/// distribution counts as principal collections.
struct PoolCollections {
    uint128 principal; // principal credits
    uint128 recovered; // recovery credits
}

/// @notice Everything the ledger stores but its audit head: the root that the logic libraries take as `s`.
struct LedgerState {
    ILedgerTypes.PolicyParams policy;
    uint256 loanCount;
    uint16 institutionCount;
    mapping(uint256 loanId => Loan) loans;
    mapping(uint16 index => AccountWord) accounts;
    mapping(uint16 index => Institution) institutions;
    mapping(address account => uint16 index) indexOf;
    mapping(bytes32 borrowerId => uint256[] loanIds) borrowerLoans;
    mapping(bytes32 loanRef => uint256 loanId) loanByRef;
    uint256 offerCount;
    mapping(uint256 offerId => Offer) offers;
    mapping(uint16 index => PoolCollections) poolCollections; // loan pools only
}

/// @notice The loan `loanId`, which must be in `status` (`LoanNotInStatus` otherwise).
function loanIn(LedgerState storage s, uint256 loanId, ILedgerTypes.LoanStatus status) view returns (Loan storage l) {
    l = s.loans[loanId];
    if (l.status != status) revert ILedgerErrors.LoanNotInStatus(loanId, l.status);
}
