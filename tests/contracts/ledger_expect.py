"""Independent expectations for the ledger tests: the spec's constants, the conservation equation, split and
penalty arithmetic in plain Python integers, and a recomputation of the audit hash chain from the raw logs."""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

BPS = 10_000
YEAR = 31_536_000
DAY = 86_400
PERIOD = 30 * DAY
UNIT = 10**6
SEQ_MASK = 2**56 - 1  # seq in bits 0-55, chain hash in bits 56-247 (docs/ledger-spec.md)
HASH_MASK = 2**248 - 2**56

# LoanStatus
NONE, ORIGINATED, FUNDED, ACTIVE, CLOSED, CANCELLED, DEFAULTED, WRITTEN_OFF = range(8)


def policy_tuple(**overrides: int) -> tuple:
    """PolicyParams with the deploy-script defaults for a 6-decimal token."""
    p = {
        "minPlatformShareBps": 3000,
        "maxAnnualRateBps": 2400,
        "maxPenaltyRateBps": 3600,
        "minReserveBps": 0,
        "maxPrincipal": 200_000 * UNIT,
        "maxLenderExposure": 10_000_000 * UNIT,
        "defaultAfter": 90 * DAY,
        "publicDefaultDelay": 30 * DAY,
        "minPeriodSeconds": DAY,
        "maxPeriodSeconds": 366 * DAY,
        "maxTenorSeconds": 30 * 365 * DAY,
        "disbursementWindow": 30 * DAY,
    }
    p.update(overrides)
    return tuple(p.values())


def floor_share(amount: int, bps: int) -> int:
    return amount * bps // BPS


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def penalty(unpaid: int, rate_bps: int, elapsed: int) -> int:
    """One accrual, rounded up on its own."""
    return ceil_div(unpaid * rate_bps * elapsed, BPS * YEAR)


def penalty_of(*accruals: tuple[int, int, int]) -> int:
    """Penalty as the ledger owes it: the exact accruals (unpaid, rate bps, seconds) summed, then rounded up once
    (docs/ledger-spec.md, "Credit risk")."""
    return ceil_div(sum(u * r * s for u, r, s in accruals), BPS * YEAR)


def income_of(loan: Any) -> int:
    return loan.interestPaid - loan.feePaid + loan.penaltyPaid + loan.prepaymentFeePaid


def remainders(loan: Any, shares: list[int]) -> int:
    """Σ over the split components of C - Σ floor(C * share / BPS)."""
    total = 0
    for c in (income_of(loan), loan.principalPaid, loan.recovered):
        total += c - sum(floor_share(c, s) for s in shares)
    return total


def check_conservation(ledger: Any, token: Any) -> None:
    """token.balanceOf(ledger) == Σ withdrawable + Σ reserve + funded-not-disbursed + open loans' remainders."""
    books = 0
    for idx in range(1, ledger.institutionCount() + 1):
        account = ledger.accountOf(ledger.institutionAt(idx))
        books += account.withdrawable + account.reserve
    for loan_id in range(1, ledger.loanCount() + 1):
        loan = ledger.getLoan(loan_id)
        tranches = ledger.getTranches(loan_id)
        if loan.status in (ORIGINATED, FUNDED):
            books += sum(t.amount for t in tranches if t.funded)
        elif loan.status in (ACTIVE, DEFAULTED):
            books += remainders(loan, [t.shareBps for t in tranches])
            if loan.status == DEFAULTED and loan.recovered == loan.owedAtDefault:
                shares = [t.shareBps for t in tranches]
                books -= loan.recovered - sum(floor_share(loan.recovered, s) for s in shares)  # paid to the lead
        elif loan.status == WRITTEN_OFF and loan.recovered != loan.owedAtDefault:
            # recoveries keep their remainder (< one unit per tranche) until they reach owedAtDefault
            shares = [t.shareBps for t in tranches]
            books += loan.recovered - sum(floor_share(loan.recovered, s) for s in shares)
    assert token.balanceOf(ledger) == books


def _abi_type(inp: dict[str, Any]) -> str:
    t = inp["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in inp["components"]) + ")" + t[len("tuple") :]
    return t


def recompute_audit_chain(ledger: Any, web3: Any) -> list[tuple[str, bytes]]:
    """Recomputes every head from the ledger's logs by the spec's rule and checks each against the head the event
    carries, and the last against auditHead(). Returns [(event name, head)] in log order."""
    events = {}
    for abi in ledger.contract_type.abi:
        if abi.type != "event":
            continue
        data = abi.model_dump(by_alias=True, mode="json")
        signature = f"{data['name']}(" + ",".join(_abi_type(i) for i in data["inputs"]) + ")"
        events[keccak(text=signature)] = data
    logs = web3.eth.get_logs({"address": ledger.address, "fromBlock": 0, "toBlock": "latest"})
    head = b"\x00" * 32
    seen: list[tuple[str, bytes]] = []
    for log in logs:
        topic0 = bytes(log["topics"][0])
        event = events.get(topic0)
        if event is None or not event["inputs"] or event["inputs"][-1]["name"] != "head":
            continue  # not an audit record (OpenZeppelin's RoleGranted, Paused, ...)
        inputs = event["inputs"]
        non_indexed = [i for i in inputs if not i["indexed"]]
        decoded = list(abi_decode([_abi_type(i) for i in non_indexed], bytes(log["data"])))
        topics = [bytes(t) for t in log["topics"][1:]]
        values, types = [], []
        for inp in inputs[:-1]:
            types.append(_abi_type(inp))
            if inp["indexed"]:
                values.append(abi_decode([_abi_type(inp)], topics.pop(0))[0])
            else:
                values.append(decoded.pop(0))
        carried = decoded.pop(0)
        digest = keccak(abi_encode(["bytes32", "bytes32", *types], [head, topic0, *values]))
        seq = (int.from_bytes(head, "big") & SEQ_MASK) + 1
        head = ((int.from_bytes(digest, "big") & HASH_MASK) | seq).to_bytes(32, "big")
        assert carried == head, f"{event['name']}: carried head differs from the recomputed one"
        seen.append((event["name"], head))
    assert bytes(ledger.auditHead()) == head
    return seen


BREAKDOWN_FIELDS = (
    "amount",
    "penaltyPaid",
    "interestPaid",
    "feePaid",
    "principalPaid",
    "installment",
    "outstanding",
    "status",
    "onTimeCompleted",
    "lateCompleted",
    "daysLate",
    "maxDaysLate",
    "penaltyAccrued",
)


class Breakdown:
    """RepaymentBreakdown of an event (ape decodes event structs as lists) with named fields."""

    def __init__(self, values: Any) -> None:
        values = list(values)
        assert len(values) == len(BREAKDOWN_FIELDS)
        self.__dict__.update(zip(BREAKDOWN_FIELDS, values, strict=False))


SNAPSHOT_LOAN_FIELDS = (  # auditSnapshot's words per loan after loanId, status, borrowerId (ICoLendingLedger)
    "fundedCount",
    "currentInstallment",
    "installmentAmount",
    "outstandingPrincipal",
    "interestPaid",
    "feePaid",
    "penaltyPaid",
    "prepaymentFeePaid",
    "principalPaid",
    "recovered",
    "owedAtDefault",
    "writtenOff",
    "trancheCount",
)
SNAPSHOT_POSITION_FIELDS = ("incomeCredited", "reserveHeld", "principalCredited", "recoveredCredited")


def snapshot_from_views(ledger: Any, loan_id: int) -> list[int]:
    """``auditSnapshot(loan_id, 1)`` as it must be, built from getLoan, getTranches and positionOf."""
    loan = ledger.getLoan(loan_id)
    words = [loan_id, int(loan.status), int.from_bytes(bytes(loan.borrowerId), "big")]
    words += [int(getattr(loan, name)) for name in SNAPSHOT_LOAN_FIELDS]
    for tranche in ledger.getTranches(loan_id):
        position = ledger.positionOf(loan_id, tranche.lender)
        words += [int(tranche.lender, 16), int(position.shareBps), int(position.funded)]
        words += [int(getattr(position, name)) for name in SNAPSHOT_POSITION_FIELDS]
    return words
