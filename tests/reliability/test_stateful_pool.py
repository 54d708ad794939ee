"""A stateful hypothesis machine over a loan pool on anvil, against the reference model (pylender.reference.pool).

Each example deploys a pool over the world's ledger (in one EVM snapshot), with loans the bank lends alone. Rules:
subscribe (either class, in and after the window), buy the bank's whole position in a loan, repay, default and
write off, recover, distribute, claim, and transfer class tokens between investors. The model is fed only what the
pool itself reads from the ledger at each distribution (withdrawable, poolCollectionsOf, recorded loss). After
every step: the pool's ``state()`` equals the model's, every investor's ``claimable`` equals the model's, and the
claims plus the pool's token balance equal the subscriptions less the prices paid plus what it collected.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from reliability_support import DAY, STATS, UNIT, World, error_signature

from pylender.client.pool import Pool, PoolClass, deploy_pool
from pylender.errors import ContractError
from pylender.reference.pool import PoolModel
from pylender.values import LoanStatus, LoanTerms, PoolTerms, Tranche

SELLABLE = (LoanStatus.ACTIVE, LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF)

EXAMPLES = int(os.environ.get("PYLENDER_POOL_MACHINE_EXAMPLES", "25"))
STEPS = int(os.environ.get("PYLENDER_POOL_MACHINE_STEPS", "25"))
INVESTORS = ("outsider", "spare", "pauser")
CLASSES = (PoolClass.SENIOR, PoolClass.JUNIOR)


class PoolMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.snapshot = w.rpc("evm_snapshot")
        self.ledger = w.client()
        self.loans: list[int] = []
        self.bought: list[int] = []
        self.stopped: set[int] = set()  # loans whose borrower no longer pays
        self.subscribed = 0
        self.prices = 0
        self.claimed = 0
        STATS["pool_machine_examples"] += 1

    def teardown(self) -> None:
        self.world.rpc("evm_revert", [self.snapshot])

    def _addr(self, name: str) -> str:
        return self.world.address(name)

    def _agree(self, label: str, model_fn: Any, chain_fn: Any) -> Any:
        """Both succeed, or both fail with the same error (the model raises the contract's error classes)."""
        try:
            result = chain_fn()
        except ContractError as exc:
            STATS[f"pool:{label}:{exc.error_name}"] += 1
            try:
                model_fn()
            except ContractError as expected:
                assert error_signature(exc) == error_signature(expected), label
                return None
            return exc
        STATS[f"pool:{label}:ok"] += 1
        return model_fn() if result is None else result

    @initialize(
        coupon=st.sampled_from([0, 600, 1500]),
        min_junior=st.sampled_from([0, 2000, 5000]),
        senior=st.integers(500, 2_500),
        junior=st.integers(0, 2_500),
        buys=st.integers(1, 3),
    )
    def create(self, coupon: int, min_junior: int, senior: int, junior: int, buys: int) -> None:
        """A pool, three loans the bank lends alone, subscriptions of each class, and some loans bought."""
        lg = self.ledger
        now = lg.now()
        self.terms = PoolTerms(coupon, min_junior, now + 2 * DAY, now + 40 * DAY)
        self.pool: Pool = deploy_pool(lg, self.terms, "Machine Pool", by=self.world.accounts["admin"])
        self.model = PoolModel(self.terms)
        for _ in range(3):
            terms = LoanTerms(
                borrower=self._addr("borrower"),
                borrower_id=b"\x22" * 32,
                principal=1_000 * UNIT,
                annual_rate_bps=1800,
                periods=6,
                period_seconds=30 * DAY,
                penalty_rate_bps=3600,
                funding_deadline=now + 7 * DAY,
            )
            loan_id = lg.originate(terms, [Tranche(lender=self._addr("bank"), share_bps=10_000)],
                                   by=self.world.accounts["originator"])  # fmt: skip
            lg.fund(loan_id, self.world.accounts["bank"])
            lg.disburse(loan_id, by=self.world.accounts["originator"])
            self.loans.append(loan_id)
        self.subscribe("outsider", PoolClass.SENIOR, senior)
        if junior:
            self.subscribe("spare", PoolClass.JUNIOR, junior)
        for pick in range(buys):
            self.buy(pick)

    @rule(who=st.sampled_from(INVESTORS), cls=st.sampled_from(CLASSES), amount=st.integers(1, 3_000))
    def subscribe(self, who: str, cls: PoolClass, amount: int) -> None:
        account = self.world.accounts[who]
        units = amount * UNIT
        now = self.ledger.now() + 1
        if now > self.terms.subscription_end:
            try:
                self.pool.subscribe(cls, units, account, approve="unlimited")
                raise AssertionError("a subscription after the window must revert")
            except ContractError as exc:
                assert exc.error_name == "SubscriptionClosed"
                STATS["pool:subscribe:closed"] += 1
                return
        self.pool.subscribe(cls, units, account, approve="unlimited")
        self.model.subscribe(account.address, int(cls), units, now)
        self.subscribed += units
        STATS["pool:subscribe:ok"] += 1

    @rule(pick=st.integers(0, 2))
    def buy(self, pick: int) -> None:
        loan_id = self.loans[pick]
        lg = self.ledger
        book = lg.loan(loan_id)
        if loan_id in self.bought or book.status not in SELLABLE:
            return
        price = book.outstanding_principal
        state = self.pool.state()
        try:
            offer = lg.offer_position(loan_id, self.pool.address, 10_000, price, lg.now() + DAY,
                                      by=self.world.accounts["bank"])  # fmt: skip
            self.pool.buy(offer, self.world.accounts["admin"])
        except ContractError as exc:  # the junior minimum, the cash, the purchase period: the pool's own checks
            assert exc.error_name in ("JuniorBelowMinimum", "InsufficientCash", "PurchaseClosed"), exc
            assert self.pool.state() == state
            STATS[f"pool:buy:{exc.error_name}"] += 1
            return
        self.model.buy(price)
        self.prices += price
        self.bought.append(loan_id)
        STATS["pool:buy:ok"] += 1

    @rule(pick=st.integers(0, 2), skip=st.booleans(), then_distribute=st.booleans())
    def month(self, pick: int, skip: bool, then_distribute: bool) -> None:
        """A month passes; the loans pay what is due, except ``pick`` when ``skip`` (a late payer) and those that
        stopped paying; maybe the pool distributes then."""
        lg = self.ledger
        lg.advance(30 * DAY)
        for i, loan_id in enumerate(self.loans):
            if (skip and i == pick) or loan_id in self.stopped or lg.loan(loan_id).status != LoanStatus.ACTIVE:
                continue
            if lg.amount_due(loan_id).total_due:
                lg.repay_due(loan_id, by=self.world.accounts["borrower"], approve="unlimited")
        if then_distribute:
            self.distribute()

    @rule(pick=st.integers(0, 2))
    def stop_paying(self, pick: int) -> None:
        self.stopped.add(self.loans[pick])

    @rule(pick=st.integers(0, 2))
    def default_and_write_off(self, pick: int) -> None:
        lg = self.ledger
        loan_id = self.loans[pick]
        if lg.loan(loan_id).status != LoanStatus.ACTIVE:
            return
        try:
            lg.mark_default(loan_id, by=self.world.accounts["servicer"])
        except ContractError:
            return  # not overdue long enough
        lg.write_off(loan_id, by=self.world.accounts["servicer"])
        STATS["pool:write-off"] += 1

    @rule(pick=st.integers(0, 2), amount=st.integers(1, 800))
    def recover(self, pick: int, amount: int) -> None:
        lg = self.ledger
        loan_id = self.loans[pick]
        view = lg.loan(loan_id)
        room = view.owed_at_default - view.recovered
        if view.status not in (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF) or room <= 0:
            return
        lg.recover(loan_id, min(amount * UNIT, room), by=self.world.accounts["borrower"], approve="unlimited")

    @rule()
    def distribute(self) -> None:
        lg = self.ledger
        account = lg.account_of(self.pool.address)
        principal, recovered = lg.pool_collections_of(self.pool.address)
        try:
            receipt = self.pool.distribute()
        except ContractError as exc:
            assert exc.error_name == "NothingToDistribute", exc
            STATS["pool:distribute:NothingToDistribute"] += 1
            return
        now = int(lg.w3.eth.get_block(receipt.block_number)["timestamp"])
        expected = self.model.distribute(account.withdrawable, principal + recovered, account.loss, now)
        [event] = self.pool.events(receipt, "Distributed")
        assert (event["collected"], event["principal"], event["seniorInterest"], event["juniorResidual"]) == (
            expected.collected,
            expected.principal,
            expected.senior_interest,
            expected.junior_residual,
        )
        STATS["pool:distribute:ok"] += 1

    @rule(who=st.sampled_from(INVESTORS), cls=st.sampled_from(CLASSES))
    def claim(self, who: str, cls: PoolClass) -> None:
        account = self.world.accounts[who]
        expected = self.model.claimable(int(cls), account.address)
        if expected == 0:
            try:
                self.pool.claim(cls, account)
                raise AssertionError("a claim of nothing must revert")
            except ContractError as exc:
                assert exc.error_name == "NothingToClaim"
                STATS["pool:claim:NothingToClaim"] += 1
                return
        assert self.pool.claim(cls, account) == self.model.claim(int(cls), account.address) == expected
        self.claimed += expected
        STATS["pool:claim:ok"] += 1

    @rule(sender=st.sampled_from(INVESTORS), to=st.sampled_from(INVESTORS), cls=st.sampled_from(CLASSES),
          frac=st.floats(0, 1))  # fmt: skip
    def transfer_class(self, sender: str, to: str, cls: PoolClass, frac: float) -> None:
        a, b = self.world.accounts[sender], self.world.accounts[to]
        held = self.pool.class_balance_of(cls, a.address)
        amount = int(held * frac)
        if amount == 0:
            return
        self.pool.transfer_class(cls, b.address, amount, a)
        self.model.transfer(int(cls), a.address, b.address, amount)
        STATS["pool:transfer:ok"] += 1

    @invariant()
    def pool_agrees_with_the_model(self) -> None:
        if not hasattr(self, "pool"):
            return
        state = self.pool.state()
        senior, junior = self.model.classes
        assert (state.senior_balance, state.junior_balance, state.senior_written_down, state.junior_written_down) == (
            senior.balance,
            junior.balance,
            senior.written_down,
            junior.written_down,
        )
        assert (state.senior_interest_owed, state.cash, state.collected, state.unclaimed) == (
            self.model.senior_interest_owed,
            self.model.cash,
            self.model.collected,
            self.model.unclaimed,
        )
        for who in INVESTORS:
            address = self.world.address(who)
            for cls in CLASSES:
                assert self.pool.claimable(cls, address) == self.model.claimable(int(cls), address), (who, cls)
        balance = self.ledger.balance_of(self.pool.address)
        assert self.claimed + balance == self.subscribed - self.prices + state.collected  # to the unit
        STATS["pool_machine_steps"] += 1


@pytest.mark.slow
def test_pool_machine(fresh: World) -> None:
    PoolMachine.world = fresh
    run_state_machine_as_test(
        PoolMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=os.environ.get("PYLENDER_MACHINE_RANDOM") != "1",
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert STATS["pool_machine_examples"] >= EXAMPLES
