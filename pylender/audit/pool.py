"""Auditing a loan pool (docs/ledger-spec.md, "Loan pools"): its records form a hash chain of their own, by the
ledger's rule, from head 0 to the pool's ``auditHead()``; replayed with the reference model
(:class:`~pylender.reference.pool.PoolModel`) together with its class tokens' transfers, they give every
distribution's figures, every claim and the pool's ``state()``; and what the pool collected is exactly what the
ledger's ``Withdrawn`` records paid out to the pool institution.

``trace_pool`` follows the units: each distribution, the ledger credits to the pool that it withdrew (loan,
component, amount: from the ledger's own replay) and what it paid each class; each claim, the investor and amount.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from pylender import artifacts
from pylender.audit.chain import ChainChecker
from pylender.audit.events import EventCatalog
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.findings import Finding
from pylender.audit.probe import checksum_address, require_pool
from pylender.audit.records import LogDecoder, Record, as_bytes, as_int, format_head
from pylender.audit.rpc import Rpc
from pylender.errors import NothingFinal
from pylender.reference.pool import PoolModel
from pylender.values import PoolTerms

TRANSFER_TOPIC = keccak(text="Transfer(address,address,uint256)")
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
    final_block: int | None = None
    """The block every read was made at."""

    @property
    def ok(self) -> bool:
        return not self.findings

    def describe(self) -> list[str]:
        verdict = "VERIFIED" if self.ok else "NOT VERIFIED"
        lines = [
            f"{verdict}: pool {self.pool} on ledger {self.ledger}"
            + (f", as of block {self.final_block}" if self.final_block is not None else ""),
            f"  {len(self.records)} record(s), head {self.computed_head} (on chain {self.onchain_head})",
            f"  collected {self.model.collected if self.model else 0:,} = the ledger paid the pool "
            f"{self.withdrawn_by_ledger:,}",
        ]
        lines += [f"  {f.describe()}" for f in self.findings]
        return lines


class _Reader:
    """Every read of one pool audit, at one block (``final``): views by ``eth_call`` and logs chunk by chunk, each
    request retried on transient failures, so that the records, the class transfers, the ledger's payments and
    ``state()`` all describe the same chain."""

    def __init__(self, w3: Web3, final: int, config: FetchConfig | None = None) -> None:
        self.w3 = w3
        self.rpc = Rpc(w3)
        self.final = final
        self.config = config or FetchConfig()
        self.times: dict[int, int] = {}

    def call(self, to: str, signature: str, types: list[str]) -> Any:
        data = "0x" + keccak(text=signature)[:4].hex()
        answer = self.rpc.call("eth_call", [{"to": to, "data": data}, hex(self.final)])
        values = abi_decode(types, bytes.fromhex(str(answer)[2:]))
        return values[0] if len(values) == 1 else values

    def logs(self, address: str, topics: Sequence[bytes], from_block: int, indexed: Sequence[str] = ()) -> list[Any]:
        """Every log of ``address`` with one of ``topics`` (and the ``indexed`` filters) up to ``final``."""
        fetcher = LogFetcher(self.w3, address, topics, self.config, indexed=indexed)
        try:
            return [log for chunk in fetcher.iter_chunks(from_block, self.final) for log in chunk.logs]
        finally:
            fetcher.close()
            # the next contract's logs start from the range this node last accepted, not from the default
            self.config = dataclasses.replace(self.config, chunk_size=fetcher.chunk_size)

    def time_of(self, block: int) -> int:
        if block not in self.times:
            found = self.rpc.block(block)
            if found is None:
                raise NothingFinal(f"the node has no block {block}, which holds a pool record")
            self.times[block] = as_int(found["timestamp"])
        return self.times[block]

    def close(self) -> None:
        self.rpc.close()


def _finding(seq: int | None, subject: str, field_: str, expected: Any, found: Any, detail: str = "") -> Finding:
    return Finding(
        check="pool", seq=seq, subject=subject, field=field_, expected=str(expected), found=str(found), detail=detail
    )


def pool_records(reader: _Reader, pool: str, from_block: int = 0) -> tuple[list[Record], ChainChecker]:
    """The pool's records in log order up to the reader's block, each checked into the hash chain."""
    catalog = EventCatalog.from_abi(artifacts.load(artifacts.POOL).abi)
    decoder = LogDecoder(catalog)
    checker = ChainChecker(catalog)
    records, bodies = decoder.decode_all_chained(reader.logs(pool, catalog.topics, from_block))
    checker.feed_all(records, bodies)
    return records, checker


Transfer = tuple[int, int, int, str, str, int]
"""A class token's transfer: block, log index, class, from, to, amount."""


def _class_transfers(reader: _Reader, token: str, cls: int, from_block: int) -> list[Transfer]:
    """Every transfer of a class token up to the reader's block (mints from 0 included)."""
    out: list[Transfer] = []
    for log in reader.logs(token, [TRANSFER_TOPIC], from_block):
        topics = [as_bytes(t) for t in log["topics"]]
        sender = to_checksum_address(topics[1][-20:])
        to = to_checksum_address(topics[2][-20:])
        amount = int.from_bytes(as_bytes(log["data"]), "big")
        out.append((as_int(log["blockNumber"]), as_int(log["logIndex"]), cls, sender, to, amount))
    return out


def verify_pool(
    w3: Web3, pool: str, from_block: int = 0, *, confirmations: int = 0, fetch_config: FetchConfig | None = None
) -> PoolAudit:
    """Check the pool's chain, replay it with its class-token transfers, compare the replay with ``state()`` and
    tie its collections to the ledger's payments to it, everything read at block ``latest − confirmations``."""
    pool = checksum_address(pool, "pool address")
    rpc = Rpc(w3)
    try:
        chain_id, final = rpc.chain_id(), rpc.block_number() - confirmations
        if final < 0:
            raise NothingFinal(f"no block is final yet with {confirmations} confirmations")
        ledger = require_pool(rpc, pool, chain_id, final)
    finally:
        rpc.close()
    reader = _Reader(w3, final, fetch_config)
    try:
        return _audit(reader, pool, ledger, from_block)
    finally:
        reader.close()


def _audit(reader: _Reader, pool: str, ledger: str, from_block: int) -> PoolAudit:
    terms = PoolTerms(*(int(v) for v in reader.call(pool, "terms()", ["(uint16,uint16,uint40,uint40)"])))
    senior = to_checksum_address(reader.call(pool, "senior()", ["address"]))
    junior = to_checksum_address(reader.call(pool, "junior()", ["address"]))
    records, checker = pool_records(reader, pool, from_block)
    onchain = int.from_bytes(reader.call(pool, "auditHead()", ["bytes32"]), "big")
    audit = PoolAudit(pool, ledger, records, format_head(checker.head), format_head(onchain), final_block=reader.final)
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
        for t in _class_transfers(reader, token, cls, from_block):
            events.append((t[0], t[1], 0, t))
    events.sort(key=lambda e: (e[0], e[1]))
    for _, _, is_record, item in events:
        if not is_record:
            _, _, cls, sender, to, amount = item
            if sender == ZERO:  # a mint: the subscription record books it
                continue
            model.transfer(cls, sender, to, amount)
            continue
        _replay(reader, model, item, audit)
    _compare_state(reader, pool, model, audit)
    audit.withdrawn_by_ledger = _withdrawn_to(reader, ledger, pool, from_block)
    if audit.withdrawn_by_ledger != model.collected:
        detail = "the ledger's Withdrawn records to the pool and the pool's collections"
        audit.findings.append(_finding(None, "pool", "collected", audit.withdrawn_by_ledger, model.collected, detail))
    return audit


def _replay(reader: _Reader, model: PoolModel, r: Record, audit: PoolAudit) -> None:
    f = r.fields
    if r.kind == "PoolSubscribed":
        model.subscribe(to_checksum_address(f["investor"]), int(f["cls"]), int(f["amount"]), 0)
    elif r.kind == "PositionBought":
        model.buy(int(f["price"]))
    elif r.kind == "Distributed":
        now = reader.time_of(r.block_number)
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


def _compare_state(reader: _Reader, pool: str, model: PoolModel, audit: PoolAudit) -> None:
    view = reader.call(pool, "state()", ["(" + ",".join(["uint256"] * 10 + ["uint40"]) + ")"])
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


def _withdrawn_to(reader: _Reader, ledger: str, pool: str, from_block: int) -> int:
    """Σ amount of the ledger's ``Withdrawn`` records of the pool institution (the pool withdraws to itself)."""
    catalog = EventCatalog.default()
    spec = catalog.by_name("Withdrawn")
    account = "0x" + bytes(12).hex() + pool[2:].lower()
    records = LogDecoder(catalog).decode_all(reader.logs(ledger, [spec.topic0], from_block, indexed=[account]))
    return sum(int(r.fields["amount"]) for r in records)


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
