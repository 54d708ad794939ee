"""Run a :class:`~pylender.scenarios.schema.Scenario` on a chain and report the final state.

The run is deterministic on a fresh embedded anvil: the genesis timestamp is fixed and every
block advances the clock by exactly one second (``anvil_setBlockTimestampInterval``), so the
same file gives the same numbers every time. Each state-changing action is recorded with its
block timestamp (:attr:`RunResult.actions`), which is what a pure-Python replay needs.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from web3.types import RPCEndpoint

from pylender.client.ledger import Ledger
from pylender.client.pool import Pool, PoolClass, deploy_pool
from pylender.client.session import Pylender
from pylender.client.tx import Receipt
from pylender.errors import ContractError, ScenarioError
from pylender.scenarios.schema import (
    GENESIS_TIMESTAMP,
    BatchStep,
    CancelStep,
    ClaimStep,
    ClassTransferStep,
    DisburseStep,
    FundStep,
    LedgerStep,
    LoanStep,
    OfferRefStep,
    OfferStep,
    PoolBuyStep,
    PoolRefStep,
    PoolStep,
    PrepayStep,
    RecoverStep,
    RepayStep,
    Scenario,
    Step,
    SubscribeStep,
    WithdrawStep,
)
from pylender.values import (
    DAY,
    PAY_ALL_DUE,
    ZERO_ADDRESS,
    Deployment,
    LoanStatus,
    LoanTerms,
    PolicyParams,
    PoolTerms,
    Tranche,
    borrower_id,
    loan_ref,
    to_jsonable,
)

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


class Action(BaseModel):
    """One state-changing call as executed: kind, loan key, base-unit arguments, block timestamp.

    ``reverted`` names the contract error the call reverted with (an ``expect_error`` step); the state did not
    change, and the timestamp is the block the call was estimated against.
    """

    model_config = ConfigDict(frozen=True)

    kind: str
    timestamp: int
    loan: str | None = None
    args: dict[str, Any] = {}
    reverted: str | None = None


class LenderResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    name: str
    is_platform: bool
    withdrawable: int
    reserve: int
    loss: int
    exposure: int
    withdrawn: int
    token_balance: int


class LoanResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    status: str
    outstanding: int
    principal_paid: int
    interest_paid: int
    fee_paid: int
    penalty_paid: int
    prepayment_fee_paid: int
    recovered: int
    written_off: int
    current_installment: int


class PoolResult(BaseModel):
    """A pool at the end of a run: its ``state()`` and what each investor claimed, per class."""

    model_config = ConfigDict(frozen=True)

    address: str
    senior_balance: int
    junior_balance: int
    senior_written_down: int
    junior_written_down: int
    senior_interest_owed: int
    cash: int
    collected: int
    unclaimed: int
    claimed: dict[str, dict[str, int]]


class RunResult(BaseModel):
    """The final state of a scenario run (base units), plus the actions that produced it."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    decimals: int
    ledger: str
    token: str
    lenders: dict[str, LenderResult]
    loans: dict[str, LoanResult]
    audit_seq: int
    audit_head: str
    ledger_token_balance: int
    actions: list[Action]
    deployment: Deployment
    pools: dict[str, PoolResult] = {}

    def summary(self) -> dict[str, Any]:
        """The state without the action log and the deployment (what ``pylender run --json`` prints)."""
        return self.model_dump(mode="json", exclude={"actions", "deployment"})


def _units(amount: Decimal, decimals: int) -> int:
    value = amount * (Decimal(10) ** decimals)
    if value != value.to_integral_value():
        raise ScenarioError(f"amount {amount} has more than {decimals} decimals")
    return int(value)


def build_policy(scenario: Scenario) -> PolicyParams:
    base = PolicyParams.defaults(scenario.decimals)
    p = scenario.policy
    update: dict[str, int] = {}
    for name in ("min_platform_share_bps", "max_annual_rate_bps", "max_penalty_rate_bps", "min_reserve_bps"):
        value = getattr(p, name)
        if value is not None:
            update[name] = value
    if p.max_principal is not None:
        update["max_principal"] = _units(p.max_principal, scenario.decimals)
    if p.max_lender_exposure is not None:
        update["max_lender_exposure"] = _units(p.max_lender_exposure, scenario.decimals)
    if p.default_after_days is not None:
        update["default_after"] = int(p.default_after_days * DAY)
    if p.public_default_delay_days is not None:
        update["public_default_delay"] = int(p.public_default_delay_days * DAY)
    return dataclasses.replace(base, **update)


class ScenarioRunner:
    """Executes one scenario against a session (a fresh chain for reproducible numbers)."""

    def __init__(self, scenario: Scenario, session: Pylender, progress: Progress | None = None) -> None:
        self.s = scenario
        self.session = session
        self.progress = progress or (lambda _msg: None)
        self.actions: list[Action] = []
        self.loan_ids: dict[str, int] = {}
        self.offers: dict[str, tuple[int, OfferStep]] = {}  # offer name -> (offer id, its step)
        self.pools: dict[str, Pool] = {}
        self.claimed: dict[str, dict[str, dict[str, int]]] = {}  # pool -> investor -> class -> claimed
        self.withdrawn: dict[str, int] = {}
        self.ledger: Ledger | None = None
        self._expected: str | None = None  # the error the current expect_error step waits for
        self._reverted = False

    # -- helpers --------------------------------------------------------------------------------------
    def units(self, amount: Decimal) -> int:
        return _units(amount, self.s.decimals)

    def _record(self, kind: str, receipt: Receipt, loan: str | None = None, **args: Any) -> None:
        assert self.ledger is not None
        block = self.ledger.w3.provider.make_request(
            RPCEndpoint("eth_getBlockByNumber"), [hex(receipt.block_number), False]
        )["result"]
        self.actions.append(Action(kind=kind, timestamp=int(block["timestamp"], 16), loan=loan, args=args))

    def _act(self, kind: str, send: Callable[[], Receipt], loan: str | None = None, **args: Any) -> Receipt | None:
        """Send one action and record it; inside ``expect_error`` it must revert with the expected error instead."""
        assert self.ledger is not None
        if self._expected is None:
            receipt = send()
            self._record(kind, receipt, loan, **args)
            return receipt
        try:
            send()
        except ContractError as exc:
            if exc.error_name != self._expected:
                raise ScenarioError(f"{kind}: expected {self._expected}, the ledger said {exc}") from None
            pending = self.ledger.now() + 1  # the block the call was estimated against (one second per block)
            action = Action(kind=kind, timestamp=pending, loan=loan, args=args, reverted=exc.error_name)
            self.actions.append(action)
            self._reverted = True
            self.progress(f"{kind} reverted with {exc.error_name}, as expected")
            return None
        raise ScenarioError(f"{kind} succeeded; expected it to revert with {self._expected}")

    def _account(self, key: str | None, default: str) -> Any:
        key = key or default
        if key == "servicer":
            assert self.s.servicer is not None
            return self.session.account(self.s.servicer.account)
        if key in self.s.borrowers:
            return self.session.account(self.s.borrowers[key].account)
        if key in self.s.investors:
            return self.session.account(self.s.investors[key].account)
        return self.session.account(self.s.institutions[key].account)

    # -- phases ---------------------------------------------------------------------------------------
    def setup(self) -> Ledger:
        s = self.s
        w3 = self.session.w3
        w3.provider.make_request("anvil_setBlockTimestampInterval", [1])  # type: ignore[arg-type]
        servicer = self.session.account(s.servicer.account).address if s.servicer else None
        ledger = self.session.deploy(policy=build_policy(s), decimals=s.decimals, servicer=servicer)
        self.ledger = ledger
        if ledger.decimals != s.decimals:
            raise ScenarioError(f"the scenario says decimals: {s.decimals}, the test token has {ledger.decimals}")
        self.progress("deployed")
        for key, inst in s.institutions.items():
            account = self.session.account(inst.account)
            ledger.register_institution(account, inst.name, is_platform=inst.platform)
            if inst.balance:
                ledger.mint(account, self.units(inst.balance))
            self.withdrawn[key] = 0
        for b in s.borrowers.values():
            if b.balance:
                ledger.mint(self.session.account(b.account), self.units(b.balance))
        for inv in s.investors.values():
            if inv.balance:
                ledger.mint(self.session.account(inv.account), self.units(inv.balance))
        if s.servicer and s.servicer.balance:
            ledger.mint(self.session.account(s.servicer.account), self.units(s.servicer.balance))
        for key, spec in s.loans.items():
            self._open_loan(key, spec)
        return ledger

    def _open_loan(self, key: str, spec: Any) -> None:
        assert self.ledger is not None
        s = self.s
        borrower = s.borrowers[spec.borrower]
        fee_recipient = (
            self.session.account(s.institutions[spec.fee_recipient].account).address if spec.fee_recipient else None
        )
        terms = LoanTerms(
            borrower=self.session.account(borrower.account).address,
            borrower_id=borrower_id(borrower.id or spec.borrower),
            principal=self.units(spec.principal),
            annual_rate_bps=spec.rate_bps,
            periods=spec.periods,
            period_seconds=spec.period_seconds,
            method=spec.method,
            grace_period=spec.grace_seconds,
            penalty_rate_bps=spec.penalty_rate_bps,
            prepayment_fee_bps=spec.prepayment_fee_bps,
            service_fee_bps=spec.service_fee_bps,
            fee_recipient=fee_recipient or ZERO_ADDRESS,
            reserve_bps=spec.reserve_bps,
            loan_ref=loan_ref(spec.ref) if spec.ref else bytes(32),
        )
        tranches = [
            Tranche(lender=self.session.account(s.institutions[t.lender].account).address, share_bps=t.share_bps)
            for t in spec.tranches
        ]
        terms, tranches = self.ledger.prepare_origination(terms, tranches)
        receipt = self.ledger.send(self.ledger.call("originate", terms.to_abi(), [t.to_abi() for t in tranches]))
        loan_id = self.ledger.loan_id_from(receipt)
        self.loan_ids[key] = loan_id
        self._record(
            "originate",
            receipt,
            key,
            terms=to_jsonable(terms),
            shares=[t.share_bps for t in spec.tranches],
            lenders=[t.lender for t in spec.tranches],
            fee_recipient=spec.fee_recipient,
        )
        if spec.stage == "originated":
            self.progress(f"loan {key} originated")
            return
        for t in spec.tranches:
            receipt = self.ledger.fund(loan_id, self.session.account(s.institutions[t.lender].account))
            self._record("fund", receipt, key, lender=t.lender)
        if spec.stage == "funded":
            self.progress(f"loan {key} funded")
            return
        receipt = self.ledger.disburse(loan_id)
        self._record("disburse", receipt, key)
        self.progress(f"loan {key} disbursed")

    def _amount(self, loan: str, amount: Decimal | str) -> int:
        assert self.ledger is not None
        if isinstance(amount, str):
            due = self.ledger.amount_due(self.loan_ids[loan])
            if amount == "due":  # everything due when the transaction executes, worked out by the contract
                return PAY_ALL_DUE if due.total_due else 0
            return due.max_payable
        return self.units(amount)

    def run_steps(self, steps: list[Step]) -> None:
        for step in steps:
            try:
                self._step(step)
            except ScenarioError:
                raise
            except Exception as exc:
                exc.add_note(f"in scenario step {step.kind}" + (f" (line {step.line})" if step.line else ""))
                raise

    def _step(self, step: Step) -> None:
        ledger = self.ledger
        assert ledger is not None
        a = step.args
        if step.kind in ("advance_days", "advance_seconds"):
            seconds = int(a * DAY) if step.kind == "advance_days" else int(a)
            ledger.advance(seconds)
            self.progress(f"advanced {seconds} s")
        elif step.kind == "repeat":
            times, inner = a
            for _ in range(times):
                self.run_steps(inner)
        elif step.kind == "expect_error":
            self._expect(step)
        elif isinstance(a, FundStep):
            loan_id = self.loan_ids[a.loan]
            lender = self._account(a.lender, a.lender)
            self._act("fund", lambda: ledger.fund(loan_id, lender), a.loan, lender=a.lender)
        elif isinstance(a, RepayStep):
            amount = self._amount(a.loan, a.amount)
            if amount == 0:
                log.info("nothing due on %s; repay skipped", a.loan)
                return
            payer = self._account(a.by, self.s.loans[a.loan].borrower)
            loan_id = self.loan_ids[a.loan]
            self._act("repay", lambda: ledger.repay(loan_id, amount, by=payer), a.loan, amount=amount)
        elif isinstance(a, BatchStep):
            items = [(k, self._amount(k, v)) for k, v in a.payments.items()]
            items = [(k, v) for k, v in items if v > 0]
            if not items:
                return
            servicer = self._account(a.by, "servicer")
            ids, amounts = [self.loan_ids[k] for k, _ in items], [v for _, v in items]
            self._act(
                "repay_batch",
                lambda: ledger.repay_batch(ids, amounts, by=servicer),
                loans=[k for k, _ in items],
                amounts=amounts,
            )
        elif isinstance(a, PrepayStep):
            loan_id = self.loan_ids[a.loan]
            if a.principal == "all":
                due = ledger.amount_due(loan_id)
                principal = ledger.loan(loan_id).outstanding_principal - due.principal
            else:
                principal = self.units(a.principal)
            payer = self._account(a.by, self.s.loans[a.loan].borrower)
            self._act("prepay", lambda: ledger.prepay(loan_id, principal, by=payer), a.loan, principal=principal)
        elif isinstance(a, (CancelStep, DisburseStep)):
            # the originator's calls: the caller and whether it holds the role are recorded for the reference
            loan_id = self.loan_ids[a.loan]
            caller = ledger.default_signer if a.by is None else self._account(a.by, a.by)
            originator = ledger.has_role("ORIGINATOR_ROLE", caller)
            send = functools.partial(ledger.cancel if step.kind == "cancel" else ledger.disburse, loan_id, by=caller)
            self._act(step.kind, send, a.loan, caller=caller.address, by_originator=originator)
        elif isinstance(a, LoanStep) and step.kind == "mark_default":
            loan_id = self.loan_ids[a.loan]
            self._act("mark_default", lambda: ledger.mark_default(loan_id, by=self._servicer()), a.loan)
        elif isinstance(a, LoanStep) and step.kind == "write_off":
            loan_id = self.loan_ids[a.loan]
            self._act("write_off", lambda: ledger.write_off(loan_id, by=self._servicer()), a.loan)
        elif isinstance(a, RecoverStep):
            amount = self.units(a.amount)
            payer = self._account(a.by, self.s.loans[a.loan].borrower)
            loan_id = self.loan_ids[a.loan]
            self._act("recover", lambda: ledger.recover(loan_id, amount, by=payer), a.loan, amount=amount)
        elif isinstance(a, WithdrawStep):
            account = self._account(a.lender, a.lender)
            before = ledger.balance_of(account)
            self._act("withdraw", lambda: ledger.send(ledger.call("withdraw"), account), None, lender=a.lender)
            self.withdrawn[a.lender] += ledger.balance_of(account) - before
        elif isinstance(a, OfferStep):
            self._offer(a)
        elif isinstance(a, OfferRefStep):
            offer_id, o = self.offers[a.offer]
            by = o.buyer if step.kind == "accept" else o.seller
            caller = self._account(by, by)
            fn = ledger.accept_offer if step.kind == "accept" else ledger.cancel_offer
            self._act(step.kind, functools.partial(fn, offer_id, by=caller), o.loan, offer=a.offer, by=by)
        elif isinstance(a, (PoolStep, SubscribeStep, PoolBuyStep, PoolRefStep, ClaimStep, ClassTransferStep)):
            self._pool_step(step.kind, a)
        elif isinstance(a, LedgerStep):  # pause / unpause, by the pauser (the deployer)
            self._act(step.kind, ledger.pause if step.kind == "pause" else ledger.unpause)
        else:  # pragma: no cover - the schema admits nothing else
            raise ScenarioError(f"unsupported step {step.kind}", line=step.line)

    def _pool_step(self, kind: str, a: Any) -> None:
        """Loan pools: create one, subscribe, buy offered positions, distribute, claim, transfer class tokens."""
        ledger = self.ledger
        assert ledger is not None
        if isinstance(a, PoolStep):
            now = ledger.now() + 1  # the block the pool is created in (one second per block)
            terms = PoolTerms(
                a.coupon_bps,
                a.min_junior_bps,
                now + int(a.subscription_days * DAY),
                now + int(a.purchase_days * DAY),
            )
            pool = deploy_pool(ledger, terms, a.name)
            self.pools[a.name] = pool
            self.claimed[a.name] = {}
            # registered on the ledger in the latest block: the action's time
            args = {"pool": a.name, "address": pool.address, "terms": dataclasses.asdict(terms)}
            self.actions.append(Action(kind="pool", timestamp=ledger.now(), args=args))
            self.progress(f"pool {a.name} at {pool.address}")
            return
        pool = self.pools[a.pool]
        if isinstance(a, SubscribeStep):
            investor, amount = self._account(a.investor, a.investor), self.units(a.amount)
            cls = PoolClass.parse(a.class_)
            self._act(kind, lambda: pool.subscribe(cls, amount, investor), None, pool=a.pool,
                      investor=a.investor, cls=int(cls), amount=amount)  # fmt: skip
        elif isinstance(a, PoolBuyStep):
            for name in a.offers:
                offer_id, offer = self.offers[name]
                price = self.units(offer.price)
                self._act(kind, functools.partial(pool.buy, offer_id), offer.loan, pool=a.pool, offer=name, price=price)
        elif isinstance(a, PoolRefStep):
            self._act(kind, pool.distribute, None, pool=a.pool)
        elif isinstance(a, ClaimStep):
            investor, cls = self._account(a.investor, a.investor), PoolClass.parse(a.class_)
            before = ledger.balance_of(investor)
            self._act(kind, lambda: pool.send(pool.call("claim", int(cls)), investor), None, pool=a.pool,
                      investor=a.investor, cls=int(cls))  # fmt: skip
            got = self.claimed[a.pool].setdefault(a.investor, {"senior": 0, "junior": 0})
            got[a.class_] += ledger.balance_of(investor) - before
        elif isinstance(a, ClassTransferStep):
            sender, to = self._account(a.sender, a.sender), self._account(a.to, a.to)
            amount, cls = self.units(a.amount), PoolClass.parse(a.class_)
            self._act(kind, lambda: pool.transfer_class(cls, to.address, amount, sender), None, pool=a.pool,
                      sender=a.sender, to=a.to, cls=int(cls), amount=amount)  # fmt: skip

    def _offer(self, a: OfferStep) -> None:
        ledger = self.ledger
        assert ledger is not None
        loan_id, price = self.loan_ids[a.loan], self.units(a.price)
        expiry = ledger.now() + 1 + int(a.expiry_days * DAY)  # from the block the offer lands in
        seller = self._account(a.seller, a.seller)
        buyer = self.pools[a.buyer].address if a.buyer in self.pools else self._account(a.buyer, a.buyer).address
        call = ledger.call("offerPosition", loan_id, buyer, a.share_bps, price, expiry)
        args = {"seller": a.seller, "buyer": a.buyer, "share_bps": a.share_bps, "price": price, "expiry": expiry}
        receipt = self._act("offer", lambda: ledger.send(call, seller), a.loan, offer=a.name, **args)
        # a reverted offer (inside expect_error) keeps its name with id 0: accepting it reverts OfferNotOpen
        self.offers[a.name] = (ledger.offer_id_from(receipt) if receipt is not None else 0, a)

    def _expect(self, step: Step) -> None:
        error, inner = step.args
        self._expected, self._reverted = error, False
        try:
            self._step(inner)
        except ScenarioError as exc:
            raise ScenarioError(exc.detail, line=exc.line or step.line) from None
        finally:
            self._expected = None
        if not self._reverted:  # e.g. a repay of `due` with nothing due sends nothing
            raise ScenarioError(
                f"expect_error: {inner.kind} sent nothing; expected a revert with {error}", line=step.line
            )

    def _servicer(self) -> Any:
        if self.s.servicer is not None:
            return self.session.account(self.s.servicer.account)
        return None

    def result(self) -> RunResult:
        ledger = self.ledger
        assert ledger is not None
        lenders = {}
        for key, inst in self.s.institutions.items():
            account = self.session.account(inst.account)
            acc = ledger.account_of(account)
            lenders[key] = LenderResult(
                address=account.address,
                name=inst.name,
                is_platform=inst.platform,
                withdrawable=acc.withdrawable,
                reserve=acc.reserve,
                loss=acc.loss,
                exposure=acc.exposure,
                withdrawn=self.withdrawn[key],
                token_balance=ledger.balance_of(account),
            )
        loans = {}
        for key, loan_id in self.loan_ids.items():
            loan = ledger.loan(loan_id)
            loans[key] = LoanResult(
                id=loan_id,
                status=LoanStatus(loan.status).label,
                outstanding=loan.outstanding_principal,
                principal_paid=loan.principal_paid,
                interest_paid=loan.interest_paid,
                fee_paid=loan.fee_paid,
                penalty_paid=loan.penalty_paid,
                prepayment_fee_paid=loan.prepayment_fee_paid,
                recovered=loan.recovered,
                written_off=loan.written_off,
                current_installment=loan.current_installment,
            )
        pools = {}
        for name, pool in self.pools.items():
            st = pool.state()
            pools[name] = PoolResult(
                address=pool.address,
                senior_balance=st.senior_balance,
                junior_balance=st.junior_balance,
                senior_written_down=st.senior_written_down,
                junior_written_down=st.junior_written_down,
                senior_interest_owed=st.senior_interest_owed,
                cash=st.cash,
                collected=st.collected,
                unclaimed=st.unclaimed,
                claimed=self.claimed[name],
            )
        head = ledger.audit_head()
        return RunResult(
            scenario=self.s.name,
            decimals=self.s.decimals,
            ledger=ledger.address,
            token=ledger.deployment.token,
            lenders=lenders,
            loans=loans,
            audit_seq=head.seq,
            audit_head=head.head,
            ledger_token_balance=ledger.token_balance_of_ledger(),
            actions=self.actions,
            deployment=ledger.deployment,
            pools=pools,
        )

    def run(self) -> RunResult:
        try:
            self.setup()
            self.run_steps(self.s.timeline)
            return self.result()
        finally:  # a node the run borrowed goes back to mining at its own pace
            self.session.w3.provider.make_request(RPCEndpoint("anvil_removeBlockTimestampInterval"), [])


def accounts_needed(scenario: Scenario) -> int:
    """How many dev accounts the scenario's parties use (the highest index + 1)."""
    return 1 + max(
        [i.account for i in scenario.institutions.values()]
        + [b.account for b in scenario.borrowers.values()]
        + ([scenario.servicer.account] if scenario.servicer else [])
        + [i.account for i in scenario.investors.values()]
    )


def run_scenario(scenario: Scenario, session: Pylender | None = None, progress: Progress | None = None) -> RunResult:
    """Run on ``session`` (a local dev chain, whose ledger stays), or on a fresh embedded anvil (deterministic
    genesis) stopped afterwards."""
    if session is not None:
        return ScenarioRunner(scenario, session, progress).run()
    with Pylender.local(timestamp=GENESIS_TIMESTAMP, accounts=max(accounts_needed(scenario), 10)) as fresh:
        return ScenarioRunner(scenario, fresh, progress).run()
