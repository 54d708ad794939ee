"""The reference model of a loan pool (docs/ledger-spec.md, "Loan pools"), in exact integers: subscriptions into a
senior and a junior class, purchases of positions, distributions through the waterfall (senior coupon, sequential
principal, junior residual), losses written down junior first and restored senior first, and claims by cumulative
amount per class token that stay exact when class tokens change hands.

Time is explicit, as in :class:`~pylender.reference.ReferenceLedger`: what the pool reads from the ledger at a
distribution (the withdrawable it withdraws, the cumulative principal and recoveries credited to it, its recorded
loss) is passed in."""

from __future__ import annotations

from dataclasses import dataclass, field

from pylender.values import BPS, YEAR, PoolTerms

ACC_SCALE = 10**18
"""The cumulative amount per class token is kept scaled by this (floor); what the floor leaves stays in the pool."""

SENIOR, JUNIOR = 0, 1


@dataclass(frozen=True)
class Distribution:
    """What one distribution did (the ``Distributed`` record's figures)."""

    collected: int
    interest: int
    principal: int
    senior_interest: int
    senior_principal: int
    junior_principal: int
    junior_residual: int
    loss_change: int


@dataclass
class PoolClassBook:
    """One class: its outstanding balance, losses written down, cumulative amount per token and holders."""

    balance: int = 0
    written_down: int = 0
    acc: int = 0  # Σ paid × ACC_SCALE / supply, each step floored
    holders: dict[str, int] = field(default_factory=dict)  # class tokens
    paid_acc: dict[str, int] = field(default_factory=dict)  # acc at each holder's last checkpoint
    owed: dict[str, int] = field(default_factory=dict)  # accrued, not yet claimed

    @property
    def supply(self) -> int:
        return sum(self.holders.values())

    def checkpoint(self, holder: str) -> None:
        accrued = self.holders.get(holder, 0) * (self.acc - self.paid_acc.get(holder, 0)) // ACC_SCALE
        if accrued:
            self.owed[holder] = self.owed.get(holder, 0) + accrued
        self.paid_acc[holder] = self.acc

    def claimable(self, holder: str) -> int:
        pending = self.holders.get(holder, 0) * (self.acc - self.paid_acc.get(holder, 0)) // ACC_SCALE
        return self.owed.get(holder, 0) + pending


class PoolModel:
    """One pool, exactly as the contract keeps it."""

    def __init__(self, terms: PoolTerms) -> None:
        self.terms = terms
        self.classes = (PoolClassBook(), PoolClassBook())
        self.senior_interest_owed = 0
        self.cash = 0
        self.collected = 0
        self.principal_seen = 0
        self.loss_seen = 0
        self.unclaimed = 0
        self.accrued_at = terms.subscription_end  # the coupon runs from the end of the subscription window
        self.bought = False
        self.claimed = 0  # Σ every claim

    # -- subscriptions and purchases

    def subscribe(self, investor: str, cls: int, amount: int, now: int) -> None:
        book = self.classes[cls]
        book.checkpoint(investor)
        book.holders[investor] = book.holders.get(investor, 0) + amount
        book.balance += amount
        self.cash += amount

    def buy(self, price: int) -> None:
        self.cash -= price
        self.bought = True

    def junior_bps(self) -> int:
        total = self.classes[SENIOR].supply + self.classes[JUNIOR].supply
        return self.classes[JUNIOR].supply * BPS // total if total else 0

    # -- distribution

    def accrue(self, now: int) -> None:
        """Senior coupon on its outstanding balance, ACT/365 per second, rounded up (as the ledger's dues)."""
        dt = now - self.accrued_at
        if dt <= 0:
            return
        numerator = self.classes[SENIOR].balance * self.terms.senior_coupon_bps * dt
        self.senior_interest_owed += -(-numerator // (BPS * YEAR))
        self.accrued_at = now

    def distribute(self, withdrawn: int, principal_credited: int, loss_now: int, now: int) -> Distribution:
        """``withdrawn``: the pool's withdrawable taken from the ledger now; ``principal_credited``: the ledger's
        cumulative principal + recoveries credited to the pool; ``loss_now``: its recorded loss at the ledger."""
        senior, junior = self.classes
        ledger_principal = principal_credited - self.principal_seen
        released = self.cash if now > self.terms.purchase_end else 0
        loss_change = loss_now - self.loss_seen
        self.collected += withdrawn
        self.principal_seen = principal_credited
        self.loss_seen = loss_now
        self.cash -= released
        principal = ledger_principal + released
        interest = withdrawn - ledger_principal
        self.accrue(now)
        if loss_change > 0:  # written down junior first, then senior
            down_j = min(loss_change, junior.balance)
            junior.balance -= down_j
            junior.written_down += down_j
            down_s = min(loss_change - down_j, senior.balance)
            senior.balance -= down_s
            senior.written_down += down_s
        elif loss_change < 0:  # restored senior first, then junior
            up = -loss_change
            up_s = min(up, senior.written_down)
            senior.written_down -= up_s
            senior.balance += up_s
            up_j = min(up - up_s, junior.written_down)
            junior.written_down -= up_j
            junior.balance += up_j
        senior_interest = min(self.senior_interest_owed, interest)
        self.senior_interest_owed -= senior_interest
        senior_principal = min(principal, senior.balance)
        senior.balance -= senior_principal
        junior_principal = min(principal - senior_principal, junior.balance)
        junior.balance -= junior_principal
        junior_residual = interest - senior_interest + principal - senior_principal - junior_principal
        self._pay(senior, senior_interest + senior_principal)
        self._pay(junior, junior_principal + junior_residual)
        return Distribution(
            collected=withdrawn,
            interest=interest,
            principal=principal,
            senior_interest=senior_interest,
            senior_principal=senior_principal,
            junior_principal=junior_principal,
            junior_residual=junior_residual,
            loss_change=loss_change,
        )

    def _pay(self, book: PoolClassBook, amount: int) -> None:
        self.unclaimed += amount
        supply = book.supply
        if amount and supply:
            book.acc += amount * ACC_SCALE // supply

    # -- claims and class-token transfers

    def claimable(self, cls: int, holder: str) -> int:
        return self.classes[cls].claimable(holder)

    def claim(self, cls: int, holder: str) -> int:
        book = self.classes[cls]
        book.checkpoint(holder)
        amount = book.owed.pop(holder, 0)
        self.unclaimed -= amount
        self.claimed += amount
        return amount

    def transfer(self, cls: int, sender: str, to: str, amount: int) -> None:
        """Class tokens change hands: both holders are checkpointed first, so what accrued stays with the sender."""
        book = self.classes[cls]
        book.checkpoint(sender)
        book.checkpoint(to)
        book.holders[sender] -= amount
        book.holders[to] = book.holders.get(to, 0) + amount
