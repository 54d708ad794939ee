"""Typed access to one loan pool (docs/ledger-spec.md, "Loan pools"): a ``LoanPool`` that holds positions in loans on
a ledger and passes what they pay to two classes of investors, senior and junior, through an exact waterfall.

A :class:`Pool` sends through its ledger client (:class:`~pylender.client.ledger.Ledger`): the same signers, the
same transaction pipeline and the same error decoding (the pool's errors are contract errors like the ledger's)."""

from __future__ import annotations

import dataclasses
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import collapse_if_tuple, keccak, to_checksum_address

from pylender import artifacts
from pylender.client.tx import Call, Receipt
from pylender.errors import TransactionFailed
from pylender.values import PoolTerms

if TYPE_CHECKING:
    from pylender.client.ledger import Approve, Ledger, Signer


class PoolClass(IntEnum):
    """The two classes of a pool: senior (fixed coupon, paid first) and junior (the residual, first loss)."""

    SENIOR = 0
    JUNIOR = 1

    @classmethod
    def parse(cls, value: str | int) -> PoolClass:
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                raise ValueError(f"a pool class is senior or junior, got {value!r}") from None
        return cls(value)


@dataclasses.dataclass(frozen=True)
class PoolState:
    """``PoolState``: the classes' balances, the coupon owed, the cash, and what the pool has seen of the ledger."""

    senior_balance: int
    junior_balance: int
    senior_written_down: int
    junior_written_down: int
    senior_interest_owed: int
    cash: int
    collected: int
    principal_seen: int
    loss_seen: int
    unclaimed: int
    accrued_at: int


class Pool:
    """One deployed pool, driven through ``ledger``'s signers."""

    def __init__(self, ledger: Ledger, address: str) -> None:
        self.ledger = ledger
        self.address = to_checksum_address(address)
        self.abi: list[dict[str, Any]] = list(artifacts.load(artifacts.POOL).abi)
        self._target = f"pool:{self.address}"
        ledger.add_target(self._target, self.address, self.abi)  # the ledger client's encoding and decoding
        self._topics = {
            "0x" + keccak(text=f"{i['name']}({','.join(collapse_if_tuple(p) for p in i['inputs'])})").hex(): i["name"]
            for i in self.abi
            if i.get("type") == "event"
        }

    # -- plumbing -------------------------------------------------------------------------------------
    def call(self, fn: str, *args: Any) -> Call:
        return self.ledger.call(fn, *args, target=self._target)

    def _view(self, fn: str, *args: Any) -> Any:
        return self.ledger._view(fn, *args, target=self._target)

    def send(self, call: Call, by: Signer = None) -> Receipt:
        return self.ledger.send(call, by)

    def events(self, receipt: Receipt, name: str) -> list[dict[str, Any]]:
        """The pool's ``name`` events in ``receipt``, decoded (indexed and data fields by name)."""
        item = next(i for i in self.abi if i.get("type") == "event" and i.get("name") == name)
        out = []
        for log in receipt.logs:
            topics = [t if isinstance(t, str) else "0x" + bytes(t).hex() for t in log["topics"]]
            if not topics or to_checksum_address(log["address"]) != self.address or self._topics.get(topics[0]) != name:
                continue
            data = log["data"]
            raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
            plain = [p for p in item["inputs"] if not p["indexed"]]
            values = iter(abi_decode([collapse_if_tuple(p) for p in plain], raw))
            indexed = iter(topics[1:])
            fields = {}
            for p in item["inputs"]:
                if p["indexed"]:
                    fields[p["name"]] = abi_decode([collapse_if_tuple(p)], bytes.fromhex(next(indexed)[2:]))[0]
                else:
                    fields[p["name"]] = next(values)
            out.append(fields)
        return out

    # -- views ----------------------------------------------------------------------------------------
    def terms(self) -> PoolTerms:
        return PoolTerms(*(int(v) for v in self._view("terms")))

    def state(self) -> PoolState:
        return PoolState(*(int(v) for v in self._view("state")))

    def class_token(self, cls: PoolClass | str | int) -> str:
        return to_checksum_address(self._view("senior" if PoolClass.parse(cls) == PoolClass.SENIOR else "junior"))

    def class_balance_of(self, cls: PoolClass | str | int, holder: str) -> int:
        """``holder``'s class tokens (face value subscribed, 1:1 to the settlement token)."""
        token = self.class_token(cls)
        self.ledger.add_target(f"class:{token}", token, self.ledger.token_abi)  # an ERC-20 like the settlement token
        return int(self.ledger._view("balanceOf", to_checksum_address(holder), target=f"class:{token}"))

    def claimable(self, cls: PoolClass | str | int, holder: str) -> int:
        return int(self._view("claimable", int(PoolClass.parse(cls)), to_checksum_address(holder)))

    def arranger(self) -> str:
        return to_checksum_address(self._view("arranger"))

    def audit_head(self) -> int:
        head = self._view("auditHead")
        return int.from_bytes(head, "big") if isinstance(head, bytes) else int(head)

    # -- actions --------------------------------------------------------------------------------------
    def subscribe(
        self, cls: PoolClass | str | int, amount: int, by: Signer = None, *, approve: Approve = "exact"
    ) -> Receipt:
        """Pay ``amount`` (base units) into class ``cls`` during the subscription window; class tokens 1:1."""
        call = self.call("subscribe", int(PoolClass.parse(cls)), amount)
        return self.ledger._pay(call, by, amount, approve, spender=self.address)

    def buy(self, offer_id: int, by: Signer = None) -> Receipt:
        """Accept ledger offer ``offer_id`` (made to the pool) with the pool's cash (the arranger)."""
        return self.send(self.call("buy", offer_id), by)

    def distribute(self, by: Signer = None) -> Receipt:
        """Withdraw what the ledger credited the pool and run the waterfall (anyone)."""
        return self.send(self.call("distribute"), by)

    def claim(self, cls: PoolClass | str | int, by: Signer = None) -> int:
        """Claim ``by``'s share of what class ``cls`` was paid; returns the amount."""
        receipt = self.send(self.call("claim", int(PoolClass.parse(cls))), by)
        claimed = self.events(receipt, "Claimed")
        if not claimed:
            raise TransactionFailed(f"no Claimed event in tx {receipt.tx_hash}")
        return int(claimed[0]["amount"])

    def transfer_class(self, cls: PoolClass | str | int, to: str, amount: int, by: Signer = None) -> Receipt:
        """Transfer class tokens (ERC-20): what accrued before stays with the sender."""
        token = self.class_token(cls)
        data = (
            "0x"
            + (keccak(text="transfer(address,uint256)")[:4] + abi_encode(["address", "uint256"], [to, amount])).hex()
        )
        return self.send(Call(to=token, data=data, label="pool.class.transfer"), by)


def deploy_pool(ledger: Ledger, terms: PoolTerms, name: str, *, arranger: str | None = None, by: Signer = None) -> Pool:
    """Deploy a pool over ``ledger`` (from ``by``; ``arranger`` defaults to it) and register it on the ledger as a
    pool institution (the ledger's admin: ``by`` must hold DEFAULT_ADMIN_ROLE, else register it separately with
    :meth:`Ledger.register_pool`)."""
    from eth_abi import encode

    art = artifacts.load(artifacts.POOL)
    account = ledger._account(by)
    ctor = next(i for i in art.abi if i.get("type") == "constructor")
    types = [collapse_if_tuple(p) for p in ctor["inputs"]]
    who = to_checksum_address(arranger) if arranger else account.address
    code = art.bytecode + encode(types, [ledger.address, who, terms.to_abi(), name]).hex()
    receipt = ledger.sender(account).deploy(code, artifacts.POOL)
    pool = Pool(ledger, receipt.contract_address or "")
    ledger.register_pool(pool.address, name, by=account)
    return pool
