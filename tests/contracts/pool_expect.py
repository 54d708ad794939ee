"""An independent model of a loan pool (docs/ledger-spec.md, "Loan pools") for the pool's contract tests: plain
Python integers, fed only with what the ledger shows (the pool's withdrawable balance, its cumulative principal and
recovery credits, its recorded loss) and the block times; and the deployment helpers the pool tests share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ape.contracts import ContractContainer
from ethpm_types import ContractType

from pylender import artifacts

BPS = 10_000
YEAR = 365 * 86_400
ACC = 10**18
SENIOR, JUNIOR = 0, 1


def container(name: str) -> ContractContainer:
    """The shipped artifact ``name`` (no linked libraries) as an ape container."""
    art = artifacts.load(name)
    return ContractContainer(
        ContractType.model_validate(
            {"contractName": art.name, "abi": art.abi, "deploymentBytecode": {"bytecode": art.bytecode}}
        )
    )


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class Flows:
    collected: int = 0
    interest: int = 0
    principal: int = 0
    senior_interest: int = 0
    senior_principal: int = 0
    junior_principal: int = 0
    junior_residual: int = 0
    loss_change: int = 0

    def as_tuple(self) -> tuple[int, ...]:
        return (
            self.collected,
            self.interest,
            self.principal,
            self.senior_interest,
            self.senior_principal,
            self.junior_principal,
            self.junior_residual,
            self.loss_change,
        )


@dataclass
class PoolModel:
    """The pool's books and every holder's claims, by the spec's rules."""

    coupon_bps: int
    purchase_end: int
    accrued_at: int  # the subscription end: the coupon runs from there
    balance: list[int] = field(default_factory=lambda: [0, 0])
    written_down: list[int] = field(default_factory=lambda: [0, 0])
    interest_owed: int = 0
    cash: int = 0
    collected: int = 0
    principal_seen: int = 0
    loss_seen: int = 0
    acc: list[int] = field(default_factory=lambda: [0, 0])
    supply: list[int] = field(default_factory=lambda: [0, 0])
    tokens: list[dict[str, int]] = field(default_factory=lambda: [{}, {}])
    paid: list[dict[str, int]] = field(default_factory=lambda: [{}, {}])
    owed: list[dict[str, int]] = field(default_factory=lambda: [{}, {}])
    claimed: dict[tuple[int, str], int] = field(default_factory=dict)

    def _checkpoint(self, cls: int, who: str) -> None:
        bal = self.tokens[cls].get(who, 0)
        self.owed[cls][who] = self.claimable(cls, who)
        self.paid[cls][who] = self.acc[cls]
        self.tokens[cls][who] = bal

    def claimable(self, cls: int, who: str) -> int:
        return (
            self.owed[cls].get(who, 0)
            + self.tokens[cls].get(who, 0) * (self.acc[cls] - self.paid[cls].get(who, 0)) // ACC
        )

    def subscribe(self, cls: int, who: str, amount: int) -> None:
        self._checkpoint(cls, who)
        self.tokens[cls][who] = self.tokens[cls].get(who, 0) + amount
        self.supply[cls] += amount
        self.balance[cls] += amount
        self.cash += amount

    def transfer(self, cls: int, sender: str, to: str, amount: int) -> None:
        self._checkpoint(cls, sender)
        self._checkpoint(cls, to)
        self.tokens[cls][sender] -= amount
        self.tokens[cls][to] = self.tokens[cls].get(to, 0) + amount

    def buy(self, price: int) -> None:
        self.cash -= price

    def claim(self, cls: int, who: str) -> int:
        amount = self.claimable(cls, who)
        self.owed[cls][who] = 0
        self.paid[cls][who] = self.acc[cls]
        self.claimed[(cls, who)] = self.claimed.get((cls, who), 0) + amount
        return amount

    def distribute(self, now: int, withdrawn: int, principal_total: int, loss_now: int) -> Flows:
        """``withdrawn``: the pool's withdrawable balance; ``principal_total``: the ledger's cumulative principal +
        recovery credits of the pool; ``loss_now``: its recorded loss."""
        f = Flows(collected=withdrawn)
        released = self.cash if now > self.purchase_end else 0
        ledger_principal = principal_total - self.principal_seen
        self.principal_seen = principal_total
        f.principal = ledger_principal + released
        f.interest = withdrawn - ledger_principal
        self.cash -= released
        self.collected += withdrawn
        if now > self.accrued_at:
            self.interest_owed += ceil_div(self.balance[SENIOR] * self.coupon_bps * (now - self.accrued_at), BPS * YEAR)
            self.accrued_at = now
        change = loss_now - self.loss_seen
        self.loss_seen = loss_now
        f.loss_change = change
        if change > 0:
            left = change
            for cls in (JUNIOR, SENIOR):
                cut = min(left, self.balance[cls])
                self.balance[cls] -= cut
                self.written_down[cls] += cut
                left -= cut
        elif change < 0:
            left = -change
            for cls in (SENIOR, JUNIOR):
                back = min(left, self.written_down[cls])
                self.balance[cls] += back
                self.written_down[cls] -= back
                left -= back
        f.senior_interest = min(self.interest_owed, f.interest)
        self.interest_owed -= f.senior_interest
        f.senior_principal = min(f.principal, self.balance[SENIOR])
        self.balance[SENIOR] -= f.senior_principal
        f.junior_principal = min(f.principal - f.senior_principal, self.balance[JUNIOR])
        self.balance[JUNIOR] -= f.junior_principal
        f.junior_residual = f.interest - f.senior_interest + f.principal - f.senior_principal - f.junior_principal
        to_senior = f.senior_interest + f.senior_principal
        for cls, paid in ((SENIOR, to_senior), (JUNIOR, f.junior_principal + f.junior_residual)):
            if paid and self.supply[cls]:
                self.acc[cls] += paid * ACC // self.supply[cls]
        return f


def observe(ledger: Any, pool: Any) -> tuple[int, int, int]:
    """What a distribution reads from the ledger: (withdrawable, principal + recovered credits, loss)."""
    account = ledger.accountOf(pool)
    principal, recovered = ledger.poolCollectionsOf(pool)
    return account.withdrawable, principal + recovered, account.loss


def state_tuple(pool: Any) -> dict[str, int]:
    s = pool.state()
    return {
        name: int(getattr(s, name))
        for name in (
            "seniorBalance",
            "juniorBalance",
            "seniorWrittenDown",
            "juniorWrittenDown",
            "seniorInterestOwed",
            "cash",
            "collected",
            "principalSeen",
            "lossSeen",
            "unclaimed",
            "accruedAt",
        )
    }


def model_state(m: PoolModel, unclaimed: int) -> dict[str, int]:
    return {
        "seniorBalance": m.balance[SENIOR],
        "juniorBalance": m.balance[JUNIOR],
        "seniorWrittenDown": m.written_down[SENIOR],
        "juniorWrittenDown": m.written_down[JUNIOR],
        "seniorInterestOwed": m.interest_owed,
        "cash": m.cash,
        "collected": m.collected,
        "principalSeen": m.principal_seen,
        "lossSeen": m.loss_seen,
        "unclaimed": unclaimed,
        "accruedAt": m.accrued_at,
    }
