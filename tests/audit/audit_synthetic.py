"""Synthetic audit trails built with eth-abi alone, independent of the contracts and any chain.

The event ABI is written here from the interface's declarations (not taken from a compiler), and
the record stream follows docs/ledger-spec.md with amounts from ``pylender.schedule``.
"""

from __future__ import annotations

import re
from typing import Any

from pylender.audit.events import EventCatalog
from pylender.audit.records import Record, build_chain
from pylender.schedule import build_schedule, interest, tranche_amounts

LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ADMIN = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
BANK = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
PLATFORM = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
BORROWER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
SERVICER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
DAY = 86_400

STRUCTS = {
    "LoanTerms": "address borrower, bytes32 borrowerId, uint128 principal, uint16 annualRateBps, uint16 periods, "
    "uint32 periodSeconds, uint8 method, uint32 gracePeriod, uint16 penaltyRateBps, uint16 prepaymentFeeBps, "
    "uint16 serviceFeeBps, address feeRecipient, uint16 reserveBps, uint40 fundingDeadline, bytes32 loanRef",
    "Tranche": "address lender, uint16 shareBps",
    "PolicyParams": "uint16 minPlatformShareBps, uint16 maxAnnualRateBps, uint16 maxPenaltyRateBps, "
    "uint16 minReserveBps, uint128 maxPrincipal, uint128 maxLenderExposure, uint32 defaultAfter, "
    "uint32 publicDefaultDelay, uint32 minPeriodSeconds, uint32 maxPeriodSeconds, uint32 maxTenorSeconds, "
    "uint32 disbursementWindow",
    "RepaymentBreakdown": "uint256 amount, uint256 penaltyPaid, uint256 interestPaid, uint256 feePaid, "
    "uint256 principalPaid, uint16 installment, uint256 outstanding, uint8 status, uint16 onTimeCompleted, "
    "uint16 lateCompleted, uint32 daysLate, uint32 maxDaysLate, uint256 penaltyAccrued",
}

EVENTS = """
InstitutionRegistered(uint16 indexed index, address indexed account, string name, bool isPlatform, bytes32 head)
PolicyUpdated(address indexed admin, PolicyParams policy, bytes32 head)
LoanOriginated(uint256 indexed loanId, address indexed borrower, bytes32 indexed borrowerId, LoanTerms terms,
  Tranche[] tranches, bytes32 head)
TrancheFunded(uint256 indexed loanId, address indexed lender, uint256 amount, uint256 exposure, bool fullyFunded,
  bytes32 head)
LoanCancelled(uint256 indexed loanId, address indexed by, uint256 refunded, bytes32 head)
LoanDisbursed(uint256 indexed loanId, address indexed borrower, uint256 principal, uint256 installmentAmount,
  bytes32 head)
RepaymentApplied(uint256 indexed loanId, address indexed payer, RepaymentBreakdown breakdown, bytes32 head)
PrepaymentApplied(uint256 indexed loanId, address indexed payer, RepaymentBreakdown breakdown,
  uint256 principalPrepaid, uint256 prepaymentFee, uint256 installmentAmount, bytes32 head)
Withdrawn(address indexed account, address indexed to, uint256 amount, bytes32 head)
InstitutionRotated(uint16 indexed index, address indexed from, address indexed to, bytes32 head)
LoanDefaulted(uint256 indexed loanId, address indexed by, uint256 owedAtDefault, uint256 outstandingPrincipal,
  uint256 unpaidInterest, uint256 penaltyAccrued, bytes32 head)
LoanWrittenOff(uint256 indexed loanId, address indexed by, uint256 loss, uint256 absorbed, bytes32 head)
RecoveryApplied(uint256 indexed loanId, address indexed payer, uint256 amount, uint256 recovered,
  uint256 outstandingPrincipal, uint8 status, bytes32 head)
LedgerPaused(address indexed account, bytes32 head)
LedgerUnpaused(address indexed account, bytes32 head)
AccessChanged(bytes32 indexed role, address indexed account, address indexed by, bool granted, bytes32 head)
Transfer(address indexed from, address indexed to, uint256 value)
"""


def _param(decl: str) -> dict[str, Any]:
    words = decl.split()
    typ, name, indexed = words[0], words[-1], "indexed" in words[1:-1]
    base = typ.rstrip("[]")
    entry: dict[str, Any] = {"name": name, "indexed": indexed}
    if base in STRUCTS:
        entry["type"] = "tuple" + typ[len(base) :]
        entry["components"] = [_param(c.strip()) for c in STRUCTS[base].split(",")]
    else:
        entry["type"] = typ
    return entry


def synthetic_abi() -> list[dict[str, Any]]:
    text = re.sub(r"\s*\n\s+", " ", EVENTS.strip())
    out = []
    for line in text.splitlines():
        name, args = line.split("(", 1)
        params = [_param(a.strip()) for a in args.rstrip(")").split(",")]
        out.append({"type": "event", "name": name, "anonymous": False, "inputs": params})
    return out


def catalog() -> EventCatalog:
    return EventCatalog.from_abi(synthetic_abi())


POLICY = {
    "minPlatformShareBps": 3000,
    "maxAnnualRateBps": 2400,
    "maxPenaltyRateBps": 3600,
    "minReserveBps": 0,
    "maxPrincipal": 200_000 * 10**6,
    "maxLenderExposure": 10_000_000 * 10**6,
    "defaultAfter": 90 * DAY,
    "publicDefaultDelay": 30 * DAY,
    "minPeriodSeconds": DAY,
    "maxPeriodSeconds": 366 * DAY,
    "maxTenorSeconds": 30 * 365 * DAY,
    "disbursementWindow": 30 * DAY,
}


def terms(principal: int, rate: int, periods: int, method: int, fee_bps: int, reserve_bps: int) -> dict[str, Any]:
    return {
        "borrower": BORROWER,
        "borrowerId": "0x" + "b0" * 32,
        "principal": principal,
        "annualRateBps": rate,
        "periods": periods,
        "periodSeconds": 30 * DAY,
        "method": method,
        "gracePeriod": 3 * DAY,
        "penaltyRateBps": 1800,
        "prepaymentFeeBps": 100,
        "serviceFeeBps": fee_bps,
        "feeRecipient": PLATFORM if fee_bps else "0x" + "00" * 20,
        "reserveBps": reserve_bps,
        "fundingDeadline": 2_000_000_000,
        "loanRef": "0x" + "00" * 32,
    }


def _breakdown(
    amount: int,
    interest_paid: int,
    fee: int,
    principal: int,
    installment: int,
    outstanding: int,
    status: int,
    penalty: int = 0,
) -> dict[str, Any]:
    return {
        "amount": amount,
        "penaltyPaid": penalty,
        "interestPaid": interest_paid,
        "feePaid": fee,
        "principalPaid": principal,
        "installment": installment,
        "outstanding": outstanding,
        "status": status,
        "onTimeCompleted": 1,
        "lateCompleted": 0,
        "daysLate": 0,
        "maxDaysLate": 0,
        "penaltyAccrued": 0,
    }


# Loan 1: co-lending, bank 70 % (lead) + platform 30 %, 3 equal installments, fee 10 % to the platform, reserve 5 %.
P1, RATE1, N1, FEE1, RES1 = 1_000_003, 1200, 3, 1000, 500
# Loan 2: facilitation (助贷), bank 100 %, interest first, defaults after one installment, written off, recovered.
P2, RATE2, N2, FEE2, RES2 = 500_000, 1800, 2, 2000, 1000
PENALTY2, RECOVERY2 = 1_234, 100_000


def events() -> list[tuple[str, dict[str, Any]]]:
    """A consistent life: two institutions, a policy, loan 1 closed, loan 2 written off and recovered."""
    evs: list[tuple[str, dict[str, Any]]] = [
        ("InstitutionRegistered", {"index": 1, "account": BANK, "name": "Bank", "isPlatform": False}),
        ("InstitutionRegistered", {"index": 2, "account": PLATFORM, "name": "Platform", "isPlatform": True}),
        ("PolicyUpdated", {"admin": ADMIN, "policy": POLICY}),
    ]
    t1 = terms(P1, RATE1, N1, 0, FEE1, RES1)
    bank1, plat1 = tranche_amounts(P1, [7000, 3000])
    sched = build_schedule(P1, RATE1, 30 * DAY, N1, 0)
    from pylender.schedule import installment_amount

    a1 = installment_amount(0, P1, RATE1, 30 * DAY, N1)
    evs += [
        (
            "LoanOriginated",
            {
                "loanId": 1,
                "borrower": BORROWER,
                "borrowerId": t1["borrowerId"],
                "terms": t1,
                "tranches": [{"lender": BANK, "shareBps": 7000}, {"lender": PLATFORM, "shareBps": 3000}],
            },
        ),
        ("TrancheFunded", {"loanId": 1, "lender": BANK, "amount": bank1, "exposure": bank1, "fullyFunded": False}),
        ("TrancheFunded", {"loanId": 1, "lender": PLATFORM, "amount": plat1, "exposure": plat1, "fullyFunded": True}),
        ("LoanDisbursed", {"loanId": 1, "borrower": BORROWER, "principal": P1, "installmentAmount": a1}),
    ]
    cum_interest = fee_before = 0
    for row in sched:
        cum_interest += row.interest
        fee_now = cum_interest * FEE1 // 10_000
        status = 4 if row.outstanding_after == 0 else 3
        b = _breakdown(
            row.payment, row.interest, fee_now - fee_before, row.principal, row.index + 1, row.outstanding_after, status
        )
        fee_before = fee_now
        evs.append(("RepaymentApplied", {"loanId": 1, "payer": BORROWER, "breakdown": b}))
    t2 = terms(P2, RATE2, N2, 2, FEE2, RES2)
    i2 = interest(P2, RATE2, 30 * DAY)
    evs += [
        (
            "LoanOriginated",
            {
                "loanId": 2,
                "borrower": BORROWER,
                "borrowerId": t2["borrowerId"],
                "terms": t2,
                "tranches": [{"lender": BANK, "shareBps": 10_000}],
            },
        ),
        ("TrancheFunded", {"loanId": 2, "lender": BANK, "amount": P2, "exposure": P2, "fullyFunded": True}),
        ("LoanDisbursed", {"loanId": 2, "borrower": BORROWER, "principal": P2, "installmentAmount": 0}),
        (
            "RepaymentApplied",
            {"loanId": 2, "payer": BORROWER, "breakdown": _breakdown(i2, i2, i2 * FEE2 // 10_000, 0, 2, P2, 3)},
        ),
        ("LedgerPaused", {"account": ADMIN}),
        ("LedgerUnpaused", {"account": ADMIN}),
        (
            "LoanDefaulted",
            {
                "loanId": 2,
                "by": SERVICER,
                "owedAtDefault": P2 + i2 + PENALTY2,
                "outstandingPrincipal": P2,
                "unpaidInterest": i2,
                "penaltyAccrued": PENALTY2,
            },
        ),
    ]
    income2 = i2 - i2 * FEE2 // 10_000
    reserve2 = income2 * RES2 // 10_000
    evs += [
        ("LoanWrittenOff", {"loanId": 2, "by": SERVICER, "loss": P2, "absorbed": reserve2}),
        (
            "RecoveryApplied",
            {
                "loanId": 2,
                "payer": SERVICER,
                "amount": RECOVERY2,
                "recovered": RECOVERY2,
                "outstandingPrincipal": 0,
                "status": 7,  # WrittenOff
            },
        ),
    ]
    # the platform withdraws everything it earned: both fees, its income share and its principal
    fee1 = sum(r.interest for r in sched) * FEE1 // 10_000
    income1 = sum(r.interest for r in sched) - fee1
    platform_total = fee1 + income1 * 3000 // 10_000 + P1 * 3000 // 10_000 + i2 * FEE2 // 10_000
    evs.append(("Withdrawn", {"account": PLATFORM, "to": PLATFORM, "amount": platform_total}))
    return evs


def records(evs: list[tuple[str, dict[str, Any]]] | None = None, cat: EventCatalog | None = None) -> list[Record]:
    """The records of ``evs`` with a valid chain, 2 records per block."""
    cat = cat or catalog()
    evs = events() if evs is None else evs
    heads = build_chain(cat, evs)
    return [
        Record(
            seq=i + 1,
            kind=kind,
            loan_id=fields.get("loanId"),
            fields=fields,
            head=head,
            block_number=100 + i // 2,
            tx_hash="0x" + f"{i + 1:064x}",
            log_index=i % 2,
        )
        for i, ((kind, fields), head) in enumerate(zip(evs, heads, strict=True))
    ]
