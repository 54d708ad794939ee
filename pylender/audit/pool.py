"""Auditing a loan pool (docs/ledger-spec.md, "Loan pools"): its records form a hash chain of their own, by the
ledger's rule, from head 0 to the pool's ``auditHead()``; replayed with the reference model
(:class:`~pylender.reference.pool.PoolModel`) together with its class tokens' transfers, they give every
distribution's figures, every claim and the pool's ``state()``; and what the pool collected is exactly what the
ledger's ``Withdrawn`` records paid out to the pool institution.

``trace_pool`` follows the units: each distribution, the ledger credits to the pool that it withdrew (loan,
component, amount: from the ledger's own replay) and what it paid each class; each claim, the investor and amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from pylender import artifacts
from pylender.audit.chain import ChainChecker
from pylender.audit.events import EventCatalog
from pylender.audit.findings import Finding
from pylender.audit.records import LogDecoder, Record, format_head
from pylender.errors import NotAPool
from pylender.reference.pool import PoolModel
from pylender.values import PoolTerms

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
ZERO = "0x" + "00" * 20
DISTRIBUTED_FIELDS = (
    ("collected", "collected"),
    ("interest", "interest"),
    ("principal", "principal"),
    ("seniorInterest", "senior_interest"),
    ("seniorPrincipal", "senior_principal"),
    ("juniorPrincipal", "junior_principal"),
    ("juniorResidual", "junior_residual"),
    ("lossChange", "loss_change"),
)
STATE_FIELDS = (
    "senior_balance",
    "junior_balance",
    "senior_written_down",
    "junior_written_down",
    "senior_interest_owed",
    "cash",
    "collected",
    "principal_seen",
    "loss_seen",
    "unclaimed",
    "accrued_at",
)


@dataclass
class PoolAudit:
    """What :func:`verify_pool` established about one pool."""

    pool: str
    ledger: str
    records: list[Record]
    computed_head: str
    onchain_head: str
    findings: list[Finding] = field(default_factory=list)
    withdrawn_by_ledger: int = 0
    model: PoolModel | None = None

    @property
    def ok(self) -> bool:
        return not self.findings

    def describe(self) -> list[str]:
        verdict = "VERIFIED" if self.ok else "NOT VERIFIED"
        lines = [
            f"{verdict}: pool {self.pool} on ledger {self.ledger}",
            f"  {len(self.records)} record(s), head {self.computed_head} (on chain {self.onchain_head})",
            f"  collected {self.model.collected if self.model else 0:,} = the ledger paid the pool "
            f"{self.withdrawn_by_ledger:,}",
        ]
        lines += [f"  {f.describe()}" for f in self.findings]
        return lines


def _call(w3: Web3, to: str, signature: str, types: list[str]) -> Any:
    data = "0x" + keccak(text=signature)[:4].hex()
    values = abi_decode(types, bytes(w3.eth.call({"to": to, "data": data})))  # type: ignore[typeddict-item]
    return values[0] if len(values) == 1 else values


def _finding(seq: int | None, subject: str, field_: str, expected: Any, found: Any, detail: str = "") -> Finding:
    return Finding(
        check="pool", seq=seq, subject=subject, field=field_, expected=str(expected), found=str(found), detail=detail
    )


def pool_records(w3: Web3, pool: str, from_block: int = 0) -> tuple[list[Record], ChainChecker]:
    """The pool's records in log order, each checked into the hash chain."""
    catalog = EventCatalog.from_abi(artifacts.load(artifacts.POOL).abi)
    decoder = LogDecoder(catalog)
    checker = ChainChecker(catalog)
    records: list[Record] = []
    for log in w3.eth.get_logs({"address": to_checksum_address(pool), "fromBlock": from_block, "toBlock": "latest"}):
        decoded = decoder.decode_chained(log)
        if decoded is not None:
            record, body = decoded
            checker.feed(record, body)
            records.append(record)
    return records, checker


def _class_transfers(w3: Web3, token: str, cls: int, from_block: int) -> list[tuple[int, int, int, str, str, int]]:
    """(block, log index, class, from, to, amount) of a class token's transfers (mints from 0 included)."""
    out: list[tuple[int, int, int, str, str, int]] = []
    logs = w3.eth.get_logs(
        {
            "address": to_checksum_address(token),
            "fromBlock": from_block,
            "toBlock": "latest",
            "topics": [TRANSFER_TOPIC],
        }
    )
    for log in logs:
        topics = [bytes(t) for t in log["topics"]]
        sender = to_checksum_address(topics[1][-20:])
        to = to_checksum_address(topics[2][-20:])
        amount = int.from_bytes(bytes(log["data"]), "big")
        out.append((int(log["blockNumber"]), int(log["logIndex"]), cls, sender, to, amount))
    return out


def verify_pool(w3: Web3, pool: str, from_block: int = 0) -> PoolAudit:
    """Check the pool's chain, replay it with its class-token transfers, compare the replay with ``state()`` and
    tie its collections to the ledger's payments to it."""
    pool = to_checksum_address(pool)
    try:
        ledger = to_checksum_address(_call(w3, pool, "ledger()", ["address"]))
        _call(w3, pool, "auditHead()", ["bytes32"])
    except Exception as exc:  # no code, another contract: the calls revert or return what does not decode
        raise NotAPool(f"no loan pool at {pool} on this chain ({type(exc).__name__})") from None
    terms = PoolTerms(*(int(v) for v in _call(w3, pool, "terms()", ["(uint16,uint16,uint40,uint40)"])))
    senior = to_checksum_address(_call(w3, pool, "senior()", ["address"]))
    junior = to_checksum_address(_call(w3, pool, "junior()", ["address"]))
    records, checker = pool_records(w3, pool, from_block)
    onchain = int.from_bytes(_call(w3, pool, "auditHead()", ["bytes32"]), "big")
    audit = PoolAudit(pool, ledger, records, format_head(checker.head), format_head(onchain))
    audit.findings += checker.findings
    if checker.head != onchain:
        detail = "the chain of the records found ends elsewhere than the pool's head"
        audit.findings.append(
            _finding(None, "pool", "auditHead", format_head(checker.head), format_head(onchain), detail)
        )
    model = PoolModel(terms)
    audit.model = model
    events: list[tuple[int, int, int, Any]] = [(r.block_number, r.log_index, 1, r) for r in records]
    for cls, token in ((0, senior), (1, junior)):
        for t in _class_transfers(w3, token, cls, from_block):
            events.append((t[0], t[1], 0, t))
    events.sort(key=lambda e: (e[0], e[1]))
    times: dict[int, int] = {}
    for _, _, is_record, item in events:
        if not is_record:
            _, _, cls, sender, to, amount = item
            if sender == ZERO:  # a mint: the subscription record books it
                continue
            model.transfer(cls, sender, to, amount)
            continue
        _replay(w3, model, item, audit, times)
    _compare_state(w3, pool, model, audit)
    audit.withdrawn_by_ledger = _withdrawn_to(w3, ledger, pool, from_block)
    if audit.withdrawn_by_ledger != model.collected:
        detail = "the ledger's Withdrawn records to the pool and the pool's collections"
        audit.findings.append(_finding(None, "pool", "collected", audit.withdrawn_by_ledger, model.collected, detail))
    return audit


def _replay(w3: Web3, model: PoolModel, r: Record, audit: PoolAudit, times: dict[int, int]) -> None:
    f = r.fields
    if r.kind == "PoolSubscribed":
        model.subscribe(to_checksum_address(f["investor"]), int(f["cls"]), int(f["amount"]), 0)
    elif r.kind == "PositionBought":
        model.buy(int(f["price"]))
    elif r.kind == "Distributed":
        now = times.get(r.block_number)
        if now is None:
            now = times[r.block_number] = int(w3.eth.get_block(r.block_number)["timestamp"])
        released = model.cash if now > model.terms.purchase_end else 0
        ledger_principal = int(f["principal"]) - released
        got = model.distribute(
            int(f["collected"]),
            model.principal_seen + ledger_principal,
            model.loss_seen + int(f["lossChange"]),
            now,
        )
        for name, attr in DISTRIBUTED_FIELDS:
            if int(f[name]) != getattr(got, attr):
                audit.findings.append(_finding(r.seq, "Distributed", name, getattr(got, attr), f[name],
                                               "the waterfall's figure from the replay"))  # fmt: skip
    elif r.kind == "Claimed":
        cls, investor = int(f["cls"]), to_checksum_address(f["investor"])
        expected = model.claim(cls, investor)
        if expected != int(f["amount"]):
            audit.findings.append(_finding(r.seq, "Claimed", "amount", expected, f["amount"], f"claim of {investor}"))


def _compare_state(w3: Web3, pool: str, model: PoolModel, audit: PoolAudit) -> None:
    view = _call(w3, pool, "state()", ["(" + ",".join(["uint256"] * 10 + ["uint40"]) + ")"])
    senior, junior = model.classes
    replayed = (
        senior.balance,
        junior.balance,
        senior.written_down,
        junior.written_down,
        model.senior_interest_owed,
        model.cash,
        model.collected,
        model.principal_seen,
        model.loss_seen,
        model.unclaimed,
        model.accrued_at,
    )
    for name, want, got in zip(STATE_FIELDS, replayed, view, strict=True):
        if want != int(got):
            audit.findings.append(_finding(None, "state()", name, want, got, "the replay against the pool's view"))


def _withdrawn_to(w3: Web3, ledger: str, pool: str, from_block: int) -> int:
    """Σ amount of the ledger's ``Withdrawn`` records of the pool institution (the pool withdraws to itself)."""
    catalog = EventCatalog.default()
    spec = catalog.by_name("Withdrawn")
    topic = "0x" + spec.topic0.hex()
    account = "0x" + bytes(12).hex() + pool[2:].lower()
    logs = w3.eth.get_logs(
        {
            "address": to_checksum_address(ledger),
            "fromBlock": from_block,
            "toBlock": "latest",
            "topics": [topic, account],
        }
    )
    decoder = LogDecoder(catalog)
    total = 0
    for log in logs:
        decoded = decoder.decode_chained(log)
        if decoded is not None:
            total += int(decoded[0].fields["amount"])
    return total


def trace_pool(records: Sequence[Record], ledger_flows: Sequence[Any], pool: str) -> list[dict[str, Any]]:
    """Each pool record with what it moved: a distribution lists the ledger credits to the pool since the previous
    one (loan, component, amount: where each unit came from) and what each class was paid; a claim its investor."""
    pool = to_checksum_address(pool)
    credits = [f for f in ledger_flows if to_checksum_address(f.account) == pool and f.component != "withdrawal"]
    out: list[dict[str, Any]] = []
    last_block = -1
    for r in records:
        entry: dict[str, Any] = {"seq": r.seq, "block": r.block_number, "kind": r.kind, "fields": dict(r.fields)}
        if r.kind == "Distributed":
            came = [f for f in credits if last_block < f.block <= r.block_number]
            entry["from_loans"] = [{"loan_id": f.loan_id, "component": f.component, "amount": f.amount} for f in came]
            last_block = r.block_number
        out.append(entry)
    return out
