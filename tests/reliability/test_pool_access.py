"""Access matrix of a loan pool: every external state-changing function of the LoanPool ABI, called by every role.

Roles as in ``test_access_matrix``: admin (the pool's arranger here), originator, lender (the bank), servicer,
pauser, outsider. The rows are checked against the pool's ABI: a new state-changing function without a row fails
``test_every_pool_function_has_a_row``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from reliability_support import DAY, ROLES, UNIT, World, error_signature

from pylender import artifacts
from pylender.client.pool import Pool, PoolClass, deploy_pool
from pylender.errors import ContractError
from pylender.values import LoanTerms, PoolTerms, Tranche

EVERYONE = frozenset(ROLES)


class PoolCtx:
    """A pool (arranger: the admin) over the world's ledger, with what each row needs."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.ledger = world.client()
        self.a = world.accounts
        now = self.ledger.now()
        terms = PoolTerms(600, 2000, now + DAY, now + 10 * DAY)
        self.pool: Pool = deploy_pool(self.ledger, terms, "Access Pool", by=self.a["admin"])

    def addr(self, party: str) -> str:
        return self.a[party].address

    def subscribed(self) -> None:
        """Every role holds senior and junior tokens (so each may claim once something is paid)."""
        for party in ROLES.values():
            for cls in PoolClass:
                self.pool.subscribe(cls, 100 * UNIT, self.a[party], approve="unlimited")

    def offered(self) -> int:
        """Subscriptions, and the bank's whole position in a fresh loan offered to the pool; the offer id."""
        self.subscribed()
        terms = LoanTerms(
            borrower=self.addr("borrower"),
            borrower_id=b"\x33" * 32,
            principal=500 * UNIT,
            annual_rate_bps=1200,
            periods=3,
            period_seconds=30 * DAY,
            funding_deadline=self.ledger.now() + 7 * DAY,
        )
        lg = self.ledger
        loan_id = lg.originate(terms, [Tranche(lender=self.addr("bank"), share_bps=10_000)], by=self.a["originator"])
        lg.fund(loan_id, self.a["bank"])
        lg.disburse(loan_id, by=self.a["originator"])
        self.loan_id = loan_id
        return lg.offer_position(loan_id, self.pool.address, 10_000, 500 * UNIT, lg.now() + DAY, by=self.a["bank"])

    def collected(self) -> None:
        """The pool bought the loan and the borrower paid its first installment: something to distribute."""
        offer_id = self.offered()
        self.pool.buy(offer_id, self.a["admin"])
        self.ledger.advance(30 * DAY + 1)
        self.ledger.repay_due(self.loan_id, by=self.a["borrower"], approve="unlimited")

    def distributed(self) -> None:
        self.collected()
        self.pool.distribute(self.a["outsider"])


@dataclass(frozen=True)
class Row:
    setup: Callable[[PoolCtx], Any]
    call: Callable[[PoolCtx, Any], Any]  # the Call to send
    allowed: frozenset[str]
    denied: Callable[[PoolCtx, str], tuple[str, tuple[Any, ...]]]


ROWS: dict[str, Row] = {
    # anyone may subscribe during the window, and may distribute what the pool collected
    "subscribe": Row(lambda c: None, lambda c, _: c.pool.call("subscribe", 0, UNIT), EVERYONE, lambda c, who: ("", ())),
    "distribute": Row(PoolCtx.collected, lambda c, _: c.pool.call("distribute"), EVERYONE, lambda c, who: ("", ())),
    # only the arranger buys positions for the pool
    "buy": Row(
        PoolCtx.offered,
        lambda c, offer_id: c.pool.call("buy", offer_id),
        frozenset({"admin"}),
        lambda c, who: ("NotArranger", (c.addr(who),)),
    ),
    # every holder claims its own share (each role subscribed)
    "claim": Row(PoolCtx.distributed, lambda c, _: c.pool.call("claim", 0), EVERYONE, lambda c, who: ("", ())),
    # only the two class tokens call back
    "onClassTransfer": Row(
        lambda c: None,
        lambda c, _: c.pool.call("onClassTransfer", c.addr("outsider"), c.addr("bank")),
        frozenset(),
        lambda c, who: ("NotClassToken", (c.addr(who),)),
    ),
}


def test_every_pool_function_has_a_row() -> None:
    abi = artifacts.load(artifacts.POOL).abi
    changing = {
        i["name"] for i in abi if i.get("type") == "function" and i.get("stateMutability") not in ("view", "pure")
    }
    assert changing == set(ROWS)


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("fn", sorted(ROWS))
def test_only_the_right_roles_may_call_the_pool(fn: str, role: str, fresh: World) -> None:
    ctx = PoolCtx(fresh)
    row = ROWS[fn]
    state = row.setup(ctx)
    party = ROLES[role]
    if fn == "subscribe":  # the payer approves the pool for its subscription
        ctx.ledger.send(ctx.ledger.call("approve", ctx.pool.address, UNIT, target="token"), fresh.accounts[party])
    head = ctx.pool.audit_head()
    call = row.call(ctx, state)
    if role in row.allowed:
        receipt = ctx.ledger.send(call, fresh.accounts[party])
        assert receipt.status == 1
        assert ctx.pool.audit_head() & (2**56 - 1) == (head & (2**56 - 1)) + 1, f"{fn} writes one pool record"
        return
    with pytest.raises(ContractError) as info:
        ctx.ledger.send(call, fresh.accounts[party])
    assert error_signature(info.value) == row.denied(ctx, party)
    assert ctx.pool.audit_head() == head
