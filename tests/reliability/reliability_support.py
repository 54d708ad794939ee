"""Helpers of the reliability tests: the world (one anvil, one deployment, named roles), raw calls that bypass the
client's own validation, the audit head recomputed from receipt logs (docs/ledger-spec.md, "Audit trail"),
comparison of contract errors with the reference model's, and the run statistics printed in the terminal summary.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import collapse_if_tuple, keccak, to_checksum_address

from pylender import artifacts
from pylender import reference as ref
from pylender.client.ledger import Ledger
from pylender.client.session import Pylender
from pylender.client.tx import Receipt
from pylender.errors import ContractError
from pylender.values import Deployment, role_id

log = logging.getLogger(__name__)

UNIT = 10**6
BPS = 10_000
DAY = 86_400
# each role of the access matrices, by the world account that holds it ("outsider" holds none)
ROLES = {
    "admin": "admin",
    "originator": "originator",
    "lender": "bank",
    "servicer": "servicer",
    "pauser": "pauser",
    "outsider": "outsider",
}
SEQ_MASK = 2**56 - 1  # seq in bits 0-55, chain hash in bits 56-247 (docs/ledger-spec.md)
HASH_MASK = 2**248 - 2**56
FUNDS = 10**9 * UNIT  # what every token holder starts with
ROLE_NAMES = ("DEFAULT_ADMIN_ROLE", "ORIGINATOR_ROLE", "LENDER_ROLE", "SERVICER_ROLE", "PAUSER_ROLE")

#: Dev account index of every named party. Lenders: bank (not a platform), platform and third (platforms).
PARTIES = {
    "admin": 0,
    "originator": 1,
    "servicer": 2,
    "pauser": 3,
    "bank": 4,
    "platform": 5,
    "third": 6,
    "borrower": 7,
    "outsider": 8,
    "spare": 9,  # never registered
}
INSTITUTIONS = (("bank", False), ("platform", True), ("third", True))


# ------------------------------------------------------------------------------------------------ statistics

STATS: Counter[str] = Counter()


def summary_lines() -> list[str]:
    if not STATS:
        return []
    lines = []
    if STATS["machine_examples"]:
        lines.append(
            f"stateful ledger machine: {STATS['machine_examples']} examples, {STATS['machine_steps']} rule steps, "
            f"{STATS['machine_txs']} transactions mined, {STATS['machine_reverts']} reverts matched with the "
            "reference model"
        )
    outcome_keys = sorted(k for k in STATS if k.startswith("outcome:"))
    if outcome_keys:
        lines.append("  outcomes: " + ", ".join(f"{k[8:]}={STATS[k]}" for k in outcome_keys))
    if STATS["machine_audits_verified"]:
        lines.append(f"  pylender.audit verify_ledger clean after {STATS['machine_audits_verified']} examples")
    other = sorted(k for k in STATS if not k.startswith(("machine_", "outcome:")))
    for key in other:
        lines.append(f"{key}: {STATS[key]}")
    return lines


# --------------------------------------------------------------------------------------------------- the world


@dataclass
class World:
    """One deployed ledger on one anvil with every party funded and approved, at a clean EVM snapshot."""

    session: Pylender
    deployment: Deployment
    accounts: dict[str, LocalAccount]
    policy: ref.PolicyParams

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        response = self.session.w3.provider.make_request(method, params or [])  # type: ignore[arg-type]
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response["result"]

    def block_timestamp(self, number: int) -> int:
        return int(self.rpc("eth_getBlockByNumber", [hex(number), False])["timestamp"], 16)

    def client(self) -> Ledger:
        """A fresh client (fresh nonce caches: needed after every evm_revert)."""
        ledger = self.session.ledger(self.deployment)
        ledger.add_signer(*self.accounts.values())
        return ledger

    def address(self, name: str) -> str:
        return self.accounts[name].address


def build_world(session: Pylender) -> World:
    accounts = {name: session.account(i) for name, i in PARTIES.items()}
    ledger = session.deploy(
        originator=accounts["originator"].address,
        servicer=accounts["servicer"].address,
        pauser=accounts["pauser"].address,
    )
    ledger.add_signer(*accounts.values())
    # Every block one second after the previous one unless a test sets the next timestamp: pipelined transactions
    # (one block each) then land at known times.
    session.w3.provider.make_request("anvil_setBlockTimestampInterval", [1])  # type: ignore[arg-type]
    for name, is_platform in INSTITUTIONS:
        ledger.register_institution(accounts[name], name, is_platform=is_platform)
    for name in PARTIES:
        ledger.mint(accounts[name], FUNDS)
        ledger.approve(accounts[name])
    return World(session, ledger.deployment, accounts, ledger.policy())


def model_for(world: World) -> ref.ReferenceLedger:
    """A reference model in the world's snapshot state (institutions registered in the same order)."""
    model = ref.ReferenceLedger(world.policy)
    for name, is_platform in INSTITUTIONS:
        model.register_institution(world.address(name), name, is_platform)
    return model


# ------------------------------------------------------------------------------------------------- raw terms


def terms_tuple(
    borrower: str,
    *,
    principal: int,
    rate: int = 1200,
    periods: int = 6,
    period_seconds: int = 30 * DAY,
    method: int = 0,
    grace: int = 0,
    penalty: int = 0,
    prepay_fee: int = 0,
    service_fee: int = 0,
    fee_recipient: str = ref.ZERO_ADDRESS,
    reserve: int = 0,
    deadline: int,
    borrower_id: bytes = b"\x11" * 32,
    loan_ref: bytes = bytes(32),
) -> tuple[Any, ...]:
    """``LoanTerms`` as the ABI tuple, unvalidated (the contract must do the rejecting)."""
    return (
        borrower,
        borrower_id,
        principal,
        rate,
        periods,
        period_seconds,
        method,
        grace,
        penalty,
        prepay_fee,
        service_fee,
        fee_recipient,
        reserve,
        deadline,
        loan_ref,
    )


def model_terms(t: tuple[Any, ...]) -> ref.LoanTerms:
    return ref.LoanTerms(
        borrower=t[0],
        borrower_id=t[1],
        principal=t[2],
        annual_rate_bps=t[3],
        periods=t[4],
        period_seconds=t[5],
        method=t[6],
        grace_period=t[7],
        penalty_rate_bps=t[8],
        prepayment_fee_bps=t[9],
        service_fee_bps=t[10],
        fee_recipient=t[11],
        reserve_bps=t[12],
        funding_deadline=t[13],
        loan_ref=t[14],
    )


# ----------------------------------------------------------------------------------------- error comparison


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        if value in ROLE_NAMES:
            return role_id(value)
        if value.startswith("0x") and len(value) == 42:
            return to_checksum_address(value)
        return value
    if isinstance(value, bytes):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_norm(v) for v in value)
    return int(value)


def error_signature(exc: BaseException) -> tuple[str, tuple[Any, ...]]:
    """(name, normalised args) of a contract error: decoded from the chain, or raised by the reference model."""
    if isinstance(exc, ContractError):
        return exc.error_name, tuple(_norm(v) for v in exc.error_args)
    raise TypeError(f"not a ledger error: {exc!r}")


# ------------------------------------------------------------------------------------------------ audit chain


@dataclass(frozen=True)
class EventSpec:
    name: str
    topic0: bytes
    inputs: tuple[tuple[str, str, bool], ...]  # (name, canonical type, indexed)


@dataclass
class AuditTracker:
    """Recomputes the audit head from every receipt's logs with the spec's rule, independently of pylender.audit."""

    ledger_address: str
    head: int = 0
    records: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    specs: dict[bytes, EventSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for item in artifacts.load(artifacts.LEDGER).abi:
            if item.get("type") != "event":
                continue
            inputs = tuple((p["name"], collapse_if_tuple(p), bool(p.get("indexed"))) for p in item["inputs"])
            topic0 = keccak(text=f"{item['name']}({','.join(t for _, t, _ in inputs)})")
            self.specs[topic0] = EventSpec(item["name"], topic0, inputs)

    @property
    def seq(self) -> int:
        return self.head & SEQ_MASK

    def decode(self, log_: dict[str, Any]) -> tuple[EventSpec, list[Any]]:
        topics = [bytes.fromhex(str(t)[2:]) if isinstance(t, str) else bytes(t) for t in log_["topics"]]
        spec = self.specs[topics[0]]
        data = log_["data"]
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
        plain = abi_decode([t for _, t, indexed in spec.inputs if not indexed], raw)
        values: list[Any] = []
        it_topics, it_plain = iter(topics[1:]), iter(plain)
        for _, t, indexed in spec.inputs:
            values.append(abi_decode([t], next(it_topics))[0] if indexed else next(it_plain))
        return spec, values

    def feed(self, receipt: Receipt) -> list[str]:
        """Check every ledger event of the receipt extends the chain; returns the event names."""
        names = []
        for log_ in receipt.logs:
            if to_checksum_address(log_["address"]) != self.ledger_address:
                continue
            spec, values = self.decode(log_)
            if not spec.inputs or spec.inputs[-1][:2] != ("head", "bytes32"):
                continue  # not an audit record (OpenZeppelin's RoleGranted, Paused, ...)
            types = ["bytes32", "bytes32", *(t for _, t, _ in spec.inputs[:-1])]
            digest = keccak(abi_encode(types, [self.head.to_bytes(32, "big"), spec.topic0, *values[:-1]]))
            expected = (int.from_bytes(digest, "big") & HASH_MASK) | (self.seq + 1)
            found = int.from_bytes(values[-1], "big")
            assert found == expected, (
                f"audit head of {spec.name} (seq {self.seq + 1}) is {found:#066x}, the rule gives {expected:#066x}"
            )
            self.head = expected
            self.records += 1
            self.by_kind[spec.name] += 1
            names.append(spec.name)
        return names


# ------------------------------------------------------------------------------------------------ raw views


class Fields:
    """Named access to a raw struct tuple returned by :meth:`Ledger._view` (names from the ABI)."""

    _index: ClassVar[dict[str, dict[str, int]]] = {}

    @classmethod
    def of(cls, fn: str) -> dict[str, int]:
        if fn not in cls._index:
            out = artifacts.load(artifacts.LEDGER).function(fn)["outputs"][0]
            cls._index[fn] = {c["name"]: i for i, c in enumerate(out["components"])}
        return cls._index[fn]


def view_struct(ledger: Ledger, fn: str, *args: Any) -> dict[str, Any]:
    raw = ledger._view(fn, *args)
    return {name: raw[i] for name, i in Fields.of(fn).items()}


def view_list(ledger: Ledger, fn: str, *args: Any) -> list[dict[str, Any]]:
    index = Fields.of(fn)
    return [{name: row[i] for name, i in index.items()} for row in ledger._view(fn, *args)]


def repayments_on_chain(ledger: Ledger) -> dict[int, int]:
    """RepaymentApplied records per loan id, from the logs."""
    topic = ledger._topics["RepaymentApplied"]
    logs = ledger.w3.eth.get_logs({"address": ledger.address, "fromBlock": 0, "toBlock": "latest", "topics": [topic]})
    counts: dict[int, int] = {}
    for entry in logs:
        loan_id = int.from_bytes(bytes(entry["topics"][1]), "big")
        counts[loan_id] = counts.get(loan_id, 0) + 1
    return counts


def book_active_loans(
    session: Pylender, *, loans: int, principal: int, prefix: str
) -> tuple[Ledger, list[int], dict[int, int]]:
    """A fresh ledger with ``loans`` active 70/30 loans, the first installment of each due; returns the amounts due."""
    from pylender.values import LoanTerms, Tranche

    day = 86_400
    ledger = session.deploy()
    bank, platform, borrower = session.account(1), session.account(2), session.account(5)
    ledger.register_institution(bank, "Bank", is_platform=False)
    ledger.register_institution(platform, "Platform", is_platform=True)
    for who in (bank, platform, borrower):
        ledger.mint(who, ledger.units(10**6))
    ledger.approve(borrower)
    ids = []
    for i in range(loans):
        terms = LoanTerms(
            borrower=borrower.address,
            borrower_id=f"{prefix}-{i}",
            principal=principal + i,
            annual_rate_bps=1200,
            periods=6,
            period_seconds=30 * day,
        )
        loan_id = ledger.originate(
            terms, [Tranche(lender=bank.address, share_bps=7000), Tranche(lender=platform.address, share_bps=3000)]
        )
        ledger.fund_all(loan_id)
        ledger.disburse(loan_id)
        ids.append(loan_id)
    ledger.advance(30 * day)
    return ledger, ids, {i: ledger.amount_due(i).total_due for i in ids}
