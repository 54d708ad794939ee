"""Readable timelines: one loan's life (``trail``) and one institution's statement (``lender``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks, Status
from pylender.values import RepaymentMethod, loan_ref_text, role_name

INTERNAL_MOVES = frozenset({"loss", "reserve-release", "absorbed"})


def _n(value: Any) -> str:
    return f"{int(value):,}"


def _short(address: str) -> str:
    """An address in a sentence: in full (evidence is copied from these lines; nothing is abbreviated)."""
    return str(address)


def _ref(terms: dict[str, Any]) -> str:
    """The loan's reference as people read it (`` ref CL-2026-000123``), or nothing when it has none."""
    raw = terms.get("loanRef")
    text = loan_ref_text(bytes.fromhex(str(raw)[2:])) if raw else ""
    return f" ref {text}" if text else ""


def _breakdown(b: dict[str, Any]) -> str:
    return (
        f"penalty {_n(b['penaltyPaid'])}, interest {_n(b['interestPaid'])} (fee {_n(b['feePaid'])}), "
        f"principal {_n(b['principalPaid'])}; now installment {b['installment']}, outstanding "
        f"{_n(b['outstanding'])}, {Status(int(b['status'])).name.lower()}"
    )


DESCRIBE: dict[str, Callable[[dict[str, Any]], str]] = {
    "InstitutionRegistered": lambda f: (
        f"institution #{f['index']} {f['name']!r} {f['account']}" + (" (platform)" if f["isPlatform"] else "")
    ),
    "PoolRegistered": lambda f: f"institution #{f['index']} {f['pool']} is a loan pool",
    "PolicyUpdated": lambda f: "policy: " + ", ".join(f"{k} {v}" for k, v in f["policy"].items()),
    "LoanOriginated": lambda f: (
        f"originated for {_short(f['borrower'])}{_ref(f['terms'])}: principal {_n(f['terms']['principal'])}, "
        f"{f['terms']['annualRateBps']} bps/yr, {f['terms']['periods']} × {f['terms']['periodSeconds']} s, "
        f"{_method(f['terms']['method'])}; tranches "
        + ", ".join(f"{_short(t['lender'])} {t['shareBps']} bps" for t in f["tranches"])
    ),
    "TrancheFunded": lambda f: (
        f"{_short(f['lender'])} funded {_n(f['amount'])}" + (" (fully funded)" if f["fullyFunded"] else "")
    ),
    "LoanCancelled": lambda f: f"cancelled by {_short(f['by'])}, {_n(f['refunded'])} refunded",
    "LoanDisbursed": lambda f: (
        f"disbursed {_n(f['principal'])} to {_short(f['borrower'])}, installment amount {_n(f['installmentAmount'])}"
    ),
    "RepaymentApplied": lambda f: (
        f"{_short(f['payer'])} repaid {_n(f['breakdown']['amount'])}: " + _breakdown(f["breakdown"])
    ),
    "PrepaymentApplied": lambda f: (
        f"{_short(f['payer'])} prepaid {_n(f['principalPrepaid'])} principal "
        f"(fee {_n(f['prepaymentFee'])}), paid {_n(f['breakdown']['amount'])}: {_breakdown(f['breakdown'])}; "
        f"new installment amount {_n(f['installmentAmount'])}"
    ),
    "Withdrawn": lambda f: f"{_short(f['account'])} withdrew {_n(f['amount'])}",
    "LoanDefaulted": lambda f: (
        f"defaulted (by {_short(f['by'])}): owed {_n(f['owedAtDefault'])} = principal "
        f"{_n(f['outstandingPrincipal'])} + interest {_n(f['unpaidInterest'])} + penalty {_n(f['penaltyAccrued'])}"
    ),
    "LoanWrittenOff": lambda f: (
        f"written off by {_short(f['by'])}: loss {_n(f['loss'])}, {_n(f['absorbed'])} absorbed by reserves"
    ),
    "RecoveryApplied": lambda f: (
        f"{_short(f['payer'])} recovered {_n(f['amount'])} (total {_n(f['recovered'])}), "
        f"outstanding {_n(f['outstandingPrincipal'])}"
    ),
    "PositionOffered": lambda f: (
        f"{_short(f['seller'])} offered {f['shareBps']} bps to {_short(f['buyer'])} for {_n(f['price'])} "
        f"(offer {f['offerId']}, open until {f['expiry']})"
    ),
    "PositionTransferred": lambda f: (
        f"{_short(f['seller'])} sold {f['shareBps']} bps to {_short(f['buyer'])} for {_n(f['price'])} "
        f"(offer {f['offerId']})"
    ),
    "OfferCancelled": lambda f: f"{_short(f['seller'])} cancelled offer {f['offerId']}",
    "LedgerPaused": lambda f: f"ledger paused by {_short(f['account'])}",
    "LedgerUnpaused": lambda f: f"ledger unpaused by {_short(f['account'])}",
    "AccessChanged": lambda f: (
        f"{role_name(f['role'])} {'granted to' if f['granted'] else 'revoked from'} {_short(f['account'])}"
        f" by {_short(f['by'])}"
    ),
}


def describe(record: Record) -> str:
    """One line saying what a record did."""
    fn = DESCRIBE.get(record.kind)
    try:
        if fn is not None:
            return fn(record.fields)
    except (KeyError, TypeError, ValueError):
        pass
    return ", ".join(f"{k}={v}" for k, v in record.fields.items())


class TrailEntry(BaseModel):
    seq: int
    block: int
    tx_hash: str
    kind: str
    text: str
    credits: dict[str, int]
    holders: dict[str, int] | None = None
    """The loan's holders and their shares in bps after this record, lead first: set on the records that change
    them (LoanOriginated, PositionTransferred)."""


def holder_chain(records: Sequence[Record], loan_id: int) -> dict[int, dict[str, int]]:
    """The chain of holders of one loan: seq -> every holder's share in bps after that record (lead first, past
    holders with 0 kept), for its origination and every transfer of a position."""
    holders: dict[str, int] = {}
    chain: dict[int, dict[str, int]] = {}
    for r in sorted(records, key=lambda r: r.seq):
        if r.loan_id != loan_id:
            continue
        f = r.fields
        if r.kind == "LoanOriginated":
            holders = {t["lender"]: int(t["shareBps"]) for t in f["tranches"]}
        elif r.kind == "PositionTransferred":
            share = int(f["shareBps"])
            holders[f["seller"]] = holders.get(f["seller"], 0) - share
            holders[f["buyer"]] = holders.get(f["buyer"], 0) + share
        else:
            continue
        chain[r.seq] = dict(holders)
    return chain


def loan_trail(records: Sequence[Record], books: AuditBooks, loan_id: int) -> list[TrailEntry]:
    """Every record of one loan, in order, with what each credited to whom and, where they changed, its holders."""
    chain = holder_chain(records, loan_id)
    credits: dict[int, dict[str, int]] = {}
    for flow in books.flows:
        if flow.loan_id == loan_id:
            per = credits.setdefault(flow.seq, {})
            key = f"{flow.account} {flow.component}"
            per[key] = per.get(key, 0) + flow.amount
    return [
        TrailEntry(
            seq=r.seq,
            block=r.block_number,
            tx_hash=r.tx_hash,
            kind=r.kind,
            text=describe(r),
            credits=credits.get(r.seq, {}),
            holders=chain.get(r.seq),
        )
        for r in sorted(records, key=lambda r: r.seq)
        if r.loan_id == loan_id
    ]


class StatementLine(BaseModel):
    seq: int
    block: int
    loan_id: int | None
    component: str
    amount: int
    balance: int


def lender_statement(books: AuditBooks, account: str) -> list[StatementLine]:
    """Every unit that reached (or left) ``account``, from which loan and component, with a running total.

    ``balance`` is the account's withdrawable + reserve: credits minus withdrawals. Reserve releases and
    absorptions move units from reserve to withdrawable (no change); losses are listed but not
    subtracted (a loss is principal that never came back, not units that left).
    """
    out: list[StatementLine] = []
    balance = 0
    for flow in books.flows:
        if flow.account.lower() != account.lower():
            continue
        if flow.component not in INTERNAL_MOVES:
            balance += flow.amount
        out.append(
            StatementLine(
                seq=flow.seq,
                block=flow.block,
                loan_id=flow.loan_id,
                component=flow.component,
                amount=flow.amount,
                balance=balance,
            )
        )
    return out


def role_rows(records: Sequence[Record], books: AuditBooks) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Who holds each role after the last record, and every grant and revocation (AccessChanged) in seq order."""
    holders = [
        {"role": role_name(role), "account": account}
        for role, members in sorted(books.roles.items(), key=lambda kv: role_name(kv[0]))
        for account in sorted(members)
    ]
    changes = [
        {
            "seq": r.seq,
            "block": r.block_number,
            "role": role_name(r.fields["role"]),
            "account": r.fields["account"],
            "change": "granted" if r.fields["granted"] else "revoked",
            "by": r.fields["by"],
        }
        for r in sorted(records, key=lambda r: r.seq)
        if r.kind == "AccessChanged"
    ]
    return holders, changes


def _method(code: Any) -> str:
    """The repayment method's words (``equal installment``), or the code itself when no method has it."""
    try:
        return str(RepaymentMethod.parse(int(code)).words)
    except ValueError:
        return str(code)
