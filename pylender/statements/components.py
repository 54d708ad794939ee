"""The statement's vocabulary: each component a movement can have, and what one unit of it does to the four
balances an institution holds at the ledger (withdrawable, reserve, loss, exposure).

A movement's effect on a balance is its amount times the component's coefficient, so the statement ties by
construction: opening + Σ amount × coefficient = closing, for every balance, and each coefficient is written here
once. A new kind of movement is one more entry of :data:`STATEMENT_COMPONENTS`; a movement that moves balances
in proportions no single coefficient vector gives is written as two movements (a sale's price and the exposure
that goes with the position).

Amounts are positive, in the direction the component names (a withdrawal of 500 is +500 with withdrawable −1),
except ``loss``: a write-off records loss (positive), a recovery after it reduces the loss (negative).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BALANCE_NAMES = ("withdrawable", "reserve", "loss", "exposure")
"""The balances of ``accountOf``, in the order of every coefficient vector."""


@dataclass(frozen=True)
class StatementComponent:
    """One kind of movement: its name (as the statement and the books write it) and its effect per unit."""

    name: str
    withdrawable: int
    reserve: int
    loss: int
    exposure: int
    meaning: str

    @property
    def effects(self) -> tuple[int, int, int, int]:
        """Coefficients on (withdrawable, reserve, loss, exposure)."""
        return (self.withdrawable, self.reserve, self.loss, self.exposure)


def _components(items: Iterable[StatementComponent]) -> dict[str, StatementComponent]:
    return {c.name: c for c in items}


STATEMENT_COMPONENTS = _components(
    [
        StatementComponent("funding", 0, 0, 0, 1, "the institution paid its tranche into a loan (exposure up)"),
        StatementComponent(
            "refund", 1, 0, 0, -1, "a cancelled loan's funded tranche, back to withdrawable (exposure down)"
        ),
        StatementComponent("principal", 1, 0, 0, 0, "its share of principal repaid (the lead: the split remainder)"),
        StatementComponent("interest", 1, 0, 0, 0, "its share of interest, net of the service fee"),
        StatementComponent("penalty", 1, 0, 0, 0, "its share of penalty interest (罚息)"),
        StatementComponent("prepayment fee", 1, 0, 0, 0, "its share of a prepayment fee"),
        StatementComponent("service fee", 1, 0, 0, 0, "the service fee carved out of interest, to its recipient"),
        StatementComponent("reserve provision", -1, 1, 0, 0, "part of an income credit held as risk reserve"),
        StatementComponent(
            "reserve release", 1, -1, 0, 0, "reserve back to withdrawable: the loan ended, or it absorbed a write-off"
        ),
        StatementComponent("loss", 0, 0, 1, 0, "write-off loss recorded (+), or reduced by a recovery (−)"),
        StatementComponent("recovery", 1, 0, 0, 0, "its share of money recovered on a defaulted loan"),
        StatementComponent(
            "exposure release", 0, 0, 0, -1, "the loan ended (closed, written off, recovered): its tranche's exposure"
        ),
        StatementComponent("withdrawal", -1, 0, 0, 0, "the institution took its withdrawable balance out"),
        StatementComponent("sale", 1, 0, 0, 0, "the price of a position it sold in a loan (贷款转让), to withdrawable"),
        StatementComponent(
            "purchase", 0, 0, 0, 0, "the price it paid for a position bought, from its own wallet (no ledger balance)"
        ),
        StatementComponent(
            "exposure in", 0, 0, 0, 1, "exposure that came with a position bought (the lead: a rounding unit too)"
        ),
        StatementComponent(
            "exposure out", 0, 0, 0, -1, "exposure that went with a position sold (the lead: a rounding unit too)"
        ),
    ]
)
"""Every component, in the order the statement lists them."""

COMPONENT_ORDER = {name: i for i, name in enumerate(STATEMENT_COMPONENTS)}


def component_effects(name: str) -> tuple[int, int, int, int]:
    """The coefficients of component ``name`` (KeyError for an unknown one)."""
    return STATEMENT_COMPONENTS[name].effects


def normalize_component(text: str) -> str | None:
    """The component a books file means by ``text`` (any case, ``_`` or ``-`` for a space), or None."""
    key = " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
    return key if key in STATEMENT_COMPONENTS else None
