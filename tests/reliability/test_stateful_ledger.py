"""A stateful hypothesis machine over the whole life cycle, on one anvil, against the reference model.

Every rule does one action on the chain (through the client's pipelined, tight-polling sender) and on
``pylender.reference.ReferenceLedger`` at the same block timestamp: both must succeed, or both must fail with the
same named error and the same arguments. After every step: conservation of the ledger's tokens, every
institution's account and every loan's state equal to the model's, per-loan split sums, immutable shares, and the
audit head recomputed from the receipts' logs with the spec's rule equal to the head on chain.

Each example starts from one EVM snapshot (``evm_snapshot``/``evm_revert``); the number of examples and steps run
is printed in the terminal summary.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from reliability_support import (
    BPS,
    DAY,
    STATS,
    AuditTracker,
    World,
    error_signature,
    model_for,
    model_terms,
    terms_tuple,
    view_list,
    view_struct,
)

from pylender import errors
from pylender import reference as ref
from pylender.audit import verify_ledger
from pylender.client.tx import Call
from pylender.errors import ContractError
from pylender.reference.waterfall import first_owing, load

EXAMPLES = int(os.environ.get("PYLENDER_MACHINE_EXAMPLES", "200"))
STEPS = int(os.environ.get("PYLENDER_MACHINE_STEPS", "30"))
# CI runs a fixed, reproducible set of examples; PYLENDER_MACHINE_RANDOM=1 explores new ones (and with
# --hypothesis-seed replays a reported failure).
RANDOM = os.environ.get("PYLENDER_MACHINE_RANDOM") == "1"
PIPELINE_GAS = 5_000_000
AUDIT_EVERY = 10  # every tenth example is also verified end to end by pylender.audit

LENDERS = ("bank", "platform", "third")
ENDED = (ref.LoanStatus.CLOSED, ref.LoanStatus.WRITTEN_OFF, ref.LoanStatus.RECOVERED)
PRE_DISBURSEMENT = (ref.LoanStatus.ORIGINATED, ref.LoanStatus.FUNDED)
BORROWER_ID = b"\x11" * 32  # terms_tuple's default: every loan of the machine has the same borrower

# strategies -----------------------------------------------------------------------------------------------

valid_shares_st = st.one_of(
    st.just([("bank", 7000), ("platform", 3000)]),
    st.just([("bank", 10_000)]),
    st.just([("platform", 3334), ("bank", 3333), ("third", 3333)]),
    st.just([("third", 5000), ("bank", 2500), ("platform", 2500)]),
)
shares_st = st.one_of(
    st.just([("bank", 7000), ("platform", 3000)]),
    st.just([("bank", 10_000)]),
    st.just([("platform", 3334), ("bank", 3333), ("third", 3333)]),
    st.lists(st.sampled_from(LENDERS), min_size=1, max_size=3, unique=True).flatmap(
        lambda names: st.lists(st.integers(1, BPS), min_size=len(names), max_size=len(names)).map(
            lambda raw: list(zip(names, _whole(raw), strict=True))
        )
    ),
    # invalid on purpose: shares not whole, duplicates, unregistered lender
    st.just([("bank", 7000), ("platform", 2999)]),
    st.just([("platform", 5000), ("platform", 5000)]),
    st.just([("spare", 5000), ("platform", 5000)]),
)

_TERMS = {
    "principal": st.one_of(
        st.integers(1, 50), st.integers(1_000, 5_000_000), st.just(200_000 * 10**6), st.just(200_000 * 10**6 + 1)
    ),
    "rate": st.sampled_from([0, 1, 799, 1200, 2400, 2401]),
    "periods": st.integers(1, 6),
    "period_seconds": st.sampled_from([7 * DAY, 30 * DAY]),
    "method": st.integers(0, 2),
    "grace": st.sampled_from([0, 3 * DAY]),
    "penalty": st.sampled_from([0, 1800, 3600]),
    "prepay_fee": st.sampled_from([0, 150]),
    "service_fee": st.sampled_from([0, 0, 2000]),
    "reserve": st.sampled_from([0, 500]),
    "deadline": st.sampled_from([DAY, 7 * DAY]),
}
terms_st = st.fixed_dictionaries(_TERMS)
valid_terms_st = st.one_of(
    st.fixed_dictionaries(
        {**_TERMS, "principal": st.integers(1_000_000, 5_000_000), "rate": st.sampled_from([0, 1, 799, 1200, 2300])}
    ),
    # small principals: interest rounds up to whole units (EffectiveRateAboveCap), so interest-free
    st.fixed_dictionaries({**_TERMS, "principal": st.integers(1, 50), "rate": st.just(0)}),
)
# 免息分期 and friends: 0 % terms whose installments owe nothing until a late one (interest first; equal principal
# with principal < periods): never overdue, never late, never defaultable while nothing is owed
zero_due_terms_st = st.fixed_dictionaries(
    {
        **_TERMS,
        "principal": st.one_of(st.integers(1, 5), st.integers(1_000_000, 5_000_000)),
        "rate": st.just(0),
        "periods": st.integers(2, 12),
        "method": st.sampled_from([1, 2]),
        "penalty": st.sampled_from([1800, 3600]),
    }
)

advance_st = st.one_of(
    st.sampled_from([3600, DAY, 3 * DAY + 1, 7 * DAY, 30 * DAY, 33 * DAY, 95 * DAY, 125 * DAY]),
    st.integers(1, 200 * DAY),
)
pick_st = st.integers(0, 2**16)
amount_mode_st = st.sampled_from(["max", "max", "due", "part", "over", "zero"])


def _whole(raw: list[int]) -> list[int]:
    """Positive shares summing to exactly 10,000 in the proportions of ``raw``."""
    n = len(raw)
    scaled = [max(1, r * (BPS - n) // sum(raw)) for r in raw]
    scaled[0] += BPS - sum(scaled)
    if scaled[0] <= 0:
        return [BPS // n + (BPS % n if i == 0 else 0) for i in range(n)]
    return scaled


# the machine ----------------------------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    world: World  # set by the test before the run

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.snapshot = w.rpc("evm_snapshot")
        self.ledger = w.client()
        self.model = model_for(w)
        self.audit = AuditTracker(
            self.ledger.address, head=int.from_bytes(bytes(self.ledger._view("auditHead")), "big")
        )
        self.now = self.ledger.now()
        self.shares: dict[int, list[tuple[str, int]]] = {}  # loan id -> (lender address, bps) as originated
        self.touched: set[int] = set()
        STATS["machine_examples"] += 1

    def teardown(self) -> None:
        try:
            if STATS["machine_examples"] % AUDIT_EVERY == 0 and self.audit.records:
                # pylender.audit on the same history: complete, untampered, replayed balances equal the views
                result = verify_ledger(self.ledger.w3, self.ledger.address)
                assert result.ok, [f.describe() for f in result.findings]
                STATS["machine_audits_verified"] += 1
        finally:
            self.world.rpc("evm_revert", [self.snapshot])

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _addr(self, name: str) -> str:
        return self.world.address(name)

    def _pick(self, pick: int, statuses: tuple[ref.LoanStatus, ...] | None = None) -> int:
        """A loan id: mostly one in ``statuses``, sometimes any loan, sometimes one that does not exist."""
        ids = sorted(self.model.loans)
        fitting = [i for i in ids if statuses is None or self.model.loans[i].status in statuses]
        if fitting and pick % 8 != 0:
            return fitting[pick % len(fitting)]
        if ids and pick % 16 != 0:
            return ids[pick % len(ids)]
        return len(ids) + 1

    def _act(self, label: str, model_fn: Any, call: Call, by: str, dt: int = 1, records: int = 1) -> bool:
        """Run one action on the model and on the chain at the same timestamp; they must agree. True if it ran."""
        when = self.now + dt
        self.world.rpc("evm_setNextBlockTimestamp", [hex(when)])
        model_error: errors.ContractError | None = None
        try:
            model_fn(when)
        except errors.ContractError as exc:
            model_error = exc
        try:
            receipt = self.ledger.send(call, self.world.accounts[by])
        except ContractError as exc:
            assert model_error is not None, f"{label}: the chain reverted {exc}, the reference model accepted it"
            assert error_signature(exc) == error_signature(model_error), (
                f"{label}: chain {error_signature(exc)} != model {error_signature(model_error)}"
            )
            STATS["machine_reverts"] += 1
            STATS[f"outcome:{label}:{exc.error_name}"] += 1
            return False
        assert model_error is None, f"{label}: the chain accepted it, the reference model reverted {model_error}"
        assert receipt.status == 1
        self.now = when
        names = self.audit.feed(receipt)
        assert len(names) == records, f"{label} wrote audit records {names}, expected {records}"
        STATS["machine_txs"] += 1
        STATS[f"outcome:{label}:ok"] += 1
        return True

    # -- life cycle -------------------------------------------------------------------------------------------

    def _originate(self, shares: list[tuple[str, int]], t: dict[str, Any]) -> int | None:
        fee = t["service_fee"]
        terms = terms_tuple(
            self._addr("borrower"),
            principal=t["principal"],
            rate=t["rate"],
            periods=t["periods"],
            period_seconds=t["period_seconds"],
            method=t["method"],
            grace=t["grace"],
            penalty=t["penalty"],
            prepay_fee=t["prepay_fee"],
            service_fee=fee,
            fee_recipient=self._addr("platform") if fee else ref.ZERO_ADDRESS,
            reserve=t["reserve"],
            deadline=self.now + t["deadline"],
        )
        tranches = [(self._addr(name), bps) for name, bps in shares]
        loan_id = len(self.model.loans) + 1
        ok = self._act(
            "originate",
            lambda now: self.model.originate(model_terms(terms), [ref.Tranche(a, s) for a, s in tranches], now),
            self.ledger.call("originate", terms, tranches),
            "originator",
        )
        if not ok:
            return None
        self.shares[loan_id] = tranches
        self.touched.add(loan_id)
        return loan_id

    @initialize(shares=valid_shares_st, t=valid_terms_st)
    def start_with_an_active_loan(self, shares, t):
        """Every example starts with one loan originated, funded by all its lenders and disbursed."""
        self.originate_fund_disburse(shares, t)

    @rule(shares=valid_shares_st, t=valid_terms_st)
    def originate_fund_disburse(self, shares, t):
        loan_id = self._originate(shares, t)
        if loan_id is None:
            return
        for lender, _ in self.shares[loan_id]:
            self._fund(loan_id, lender)
        self.disburse(loan_id)

    @rule(shares=valid_shares_st, t=zero_due_terms_st)
    def originate_zero_due_loan(self, shares, t):
        self.originate_fund_disburse(shares, t)

    @rule(shares=shares_st, t=terms_st)
    def originate(self, shares, t):
        self._originate(shares, t)

    def _fund(self, loan_id: int, lender: str) -> None:
        name = next(n for n in (*LENDERS, "spare") if self._addr(n) == lender)
        self._act(
            "fund",
            lambda now: self.model.fund(loan_id, lender, now),
            self.ledger.call("fund", loan_id),
            name,
        )
        self.touched.add(loan_id)

    @rule(pick=pick_st, lender=st.sampled_from((*LENDERS, "spare")))
    def fund(self, pick, lender):
        self._fund(self._pick(pick, (ref.LoanStatus.ORIGINATED,)), self._addr(lender))

    @rule(pick=pick_st, by=st.sampled_from(["originator", "originator", "outsider"]))
    def cancel(self, pick, by):
        loan_id = self._pick(pick, PRE_DISBURSEMENT)
        caller = self._addr(by)
        self._act(
            "cancel",
            lambda now: self.model.cancel(loan_id, now, by_originator=by == "originator", caller=caller),
            self.ledger.call("cancel", loan_id),
            by,
        )
        self.touched.add(loan_id)

    def disburse(self, loan_id: int) -> None:
        self._act(
            "disburse",
            lambda now: self.model.disburse(loan_id, now),
            self.ledger.call("disburse", loan_id),
            "originator",
        )
        self.touched.add(loan_id)

    @rule(pick=pick_st)
    def disburse_one(self, pick):
        self.disburse(self._pick(pick, (ref.LoanStatus.FUNDED,)))

    def _amount(self, loan_id: int, mode: str, frac: float) -> int:
        due = self.model.amount_due(loan_id, self.now + 1) if loan_id in self.model.loans else None
        top = due.max_payable if due else 0
        if mode == "zero":
            return 0
        if mode == "over":
            return top + 1
        if mode == "due" and due and due.total_due:
            return due.total_due
        if mode == "part" and top > 1:
            return max(1, int(top * frac))
        return top or 1

    @rule(pick=pick_st, mode=amount_mode_st, frac=st.floats(0, 1))
    def repay(self, pick, mode, frac):
        loan_id = self._pick(pick, (ref.LoanStatus.ACTIVE,))
        amount = self._amount(loan_id, mode, frac)
        self._act(
            "repay",
            lambda now: self.model.repay(loan_id, amount, now),
            self.ledger.call("repay", loan_id, amount),
            "borrower",
        )
        self.touched.add(loan_id)

    @rule(picks=st.lists(pick_st, min_size=1, max_size=4), frac=st.floats(0, 1), zero_at=st.integers(0, 8))
    def repay_pipelined(self, picks, frac, zero_at):
        """Several repayments from the borrower through the pipelined bulk path (``send_many``), one second apart
        as anvil mines them. Amounts a copy of the model accepts at the planned times, and possibly one zero amount
        that must fail on its own (the rest still land) with ZeroAmount raised once the window has drained.
        The model then applies each call at the timestamp of the block that holds it: under load anvil's automine
        may put two pipelined transactions in one block, and the model must follow the chain, not the plan."""
        start = self.now
        plan = copy.deepcopy(self.model)
        calls, sent = [], []
        for i, pick in enumerate(picks):
            loan_id = self._pick(pick, (ref.LoanStatus.ACTIVE,))
            when = start + 1 + len(calls)  # the block this call should land in, one second apart
            amount = 0
            if i != zero_at:
                loan = plan.loans.get(loan_id)
                if loan is None or loan.status != ref.LoanStatus.ACTIVE:
                    continue
                top = plan.amount_due(loan_id, when).max_payable
                amount = max(1, int(top * frac)) if top else 0
            try:
                plan.repay(loan_id, amount, when)
            except errors.ContractError:
                if amount != 0:
                    continue  # only time-independent failures go down the pipeline: see _explain_failure
            calls.append(self.ledger.call("repay", loan_id, amount))
            sent.append((loan_id, amount))
            self.touched.add(loan_id)
        if not calls:
            return
        self.world.rpc("evm_setNextBlockTimestamp", [hex(start + 1)])  # then one second per block (interval 1)
        borrower = self.world.accounts["borrower"]
        # A generous gas limit for every repayment: one estimate + pad per calldata length is too small for
        # repayments that cover many overdue installments, and an out-of-gas resend would add a block.
        self.ledger.sender(borrower).set_gas_limit("ledger.repay", PIPELINE_GAS)
        receipts: dict[int, Any] = {}
        raised = None
        try:
            self.ledger.send_many(calls, borrower, on_receipt=receipts.__setitem__)
        except ContractError as exc:
            raised = error_signature(exc)
        assert sorted(receipts) == list(range(len(calls))), "every pipelined call has a receipt"
        outcomes = []
        for index, (loan_id, amount) in enumerate(sent):
            r = receipts[index]
            mined_at = self.world.block_timestamp(r.block_number)
            try:
                self.model.repay(loan_id, amount, mined_at)
                outcomes.append(None)
            except errors.ContractError as exc:
                outcomes.append(error_signature(exc))
            assert (r.status == 1) == (outcomes[-1] is None), f"call {index} at {mined_at}: {outcomes[-1]}"
            if r.status == 1:
                assert len(self.audit.feed(r)) == 1
        assert raised == next((o for o in outcomes if o is not None), None)
        self.now = self.ledger.now()
        assert self.now == self.world.block_timestamp(max(r.block_number for r in receipts.values()))
        STATS["machine_txs"] += len(calls)
        STATS["outcome:repay(pipelined):ok"] += sum(o is None for o in outcomes)
        STATS["outcome:repay(pipelined):ZeroAmount"] += sum(o is not None for o in outcomes)
        STATS["pipelined blocks shared"] += len(calls) - len({r.block_number for r in receipts.values()})

    @rule(picks=st.lists(pick_st, min_size=1, max_size=3), mode=amount_mode_st, frac=st.floats(0, 1))
    def repay_batch(self, picks, mode, frac):
        ids = [self._pick(p, (ref.LoanStatus.ACTIVE,)) for p in picks]
        amounts = [self._amount(i, mode, frac) for i in ids]
        self._act(
            "repayBatch",
            lambda now: self.model.repay_batch(ids, amounts, now),
            self.ledger.call("repayBatch", ids, amounts),
            "servicer",
            records=len(ids),
        )
        self.touched.update(ids)

    @rule(
        pick=pick_st,
        mode=st.sampled_from(["part", "part", "all", "over", "zero", "short", "scheduled"]),
        frac=st.floats(0, 1),
    )
    def prepay(self, pick, mode, frac):
        loan_id = self._pick(pick, (ref.LoanStatus.ACTIVE,))
        loan = self.model.loans.get(loan_id)
        outstanding = loan.outstanding_principal if loan else 0
        scheduled = 0  # the current installment's scheduled principal not yet paid: the least a prepayment pays
        if loan is not None and loan.status == ref.LoanStatus.ACTIVE and loan.current <= loan.terms.periods:
            scheduled = max(loan.dues(loan.current, loan.outstanding)[1] - loan.principal_paid_cur, 0)
        principal = {
            "part": max(1, int(outstanding * frac)),
            "all": outstanding,
            "over": outstanding + 1,
            "zero": 0,
            "short": max(1, scheduled - 1),  # defers principal: PrepaymentBelowSchedule
            "scheduled": max(1, scheduled),
        }[mode]
        self._act(
            "prepay",
            lambda now: self.model.prepay(loan_id, principal, now),
            self.ledger.call("prepay", loan_id, principal),
            "borrower",
        )
        self.touched.add(loan_id)

    @rule(seconds=advance_st)
    def advance_time(self, seconds):
        self.now = self.now + seconds
        self.world.rpc("evm_setNextBlockTimestamp", [hex(self.now)])
        self.world.rpc("evm_mine")
        STATS["outcome:advance:ok"] += 1

    def _jump(self, target: int) -> None:
        if target > self.now:
            self.advance_time(target - self.now)

    @rule(pick=pick_st, extra=st.sampled_from([0, 1, 3 * DAY, 3 * DAY + 1, 5 * DAY]))
    def advance_to_next_due_date(self, pick, extra):
        """Jump to an active loan's next due date (plus a little): the repayments that matter happen there."""
        loan_id = self._pick(pick, (ref.LoanStatus.ACTIVE,))
        loan = self.model.loans.get(loan_id)
        if loan is not None and loan.status == ref.LoanStatus.ACTIVE and loan.current <= loan.terms.periods:
            self._jump(loan.due_date(loan.current) + extra)

    @rule(pick=pick_st, public=st.booleans(), early=st.booleans())
    def advance_to_defaultable(self, pick, public, early):
        """Jump to when an active loan may be marked defaulted (by the servicer, or by anyone), or just before."""
        loan_id = self._pick(pick, (ref.LoanStatus.ACTIVE,))
        loan = self.model.loans.get(loan_id)
        if loan is None or loan.status != ref.LoanStatus.ACTIVE or loan.current > loan.terms.periods:
            return
        _, due = first_owing(loan, load(loan, self.now))  # installments owing nothing are never overdue
        at = due + loan.terms.grace_period + loan.default_after
        if public:
            at += loan.public_default_delay
        self._jump(at - 2 if early else at)

    @rule(pick=pick_st, by=st.sampled_from(["servicer", "servicer", "outsider"]))
    def mark_default(self, pick, by):
        loan_id = self._pick(pick, (ref.LoanStatus.ACTIVE,))
        self._act(
            "markDefault",
            lambda now: self.model.mark_default(loan_id, now, by_servicer=by == "servicer"),
            self.ledger.call("markDefault", loan_id),
            by,
        )
        self.touched.add(loan_id)

    @rule(pick=pick_st, write_off=st.booleans(), frac=st.floats(0, 1))
    def default_then_write_off_and_recover(self, pick, write_off, frac):
        """The bad path in one rule: jump to defaultable, mark defaulted, maybe write off, recover a part."""
        self.advance_to_defaultable(pick, public=False, early=False)
        self.mark_default(pick, "servicer")
        if write_off:
            self.write_off(pick)
        self.recover(pick, "part", frac)

    @rule(pick=pick_st)
    def write_off(self, pick):
        loan_id = self._pick(pick, (ref.LoanStatus.DEFAULTED,))
        self._act(
            "writeOff", lambda now: self.model.write_off(loan_id), self.ledger.call("writeOff", loan_id), "servicer"
        )
        self.touched.add(loan_id)

    @rule(pick=pick_st, count=st.integers(2, 8), gap=st.sampled_from([1, 3600, DAY]))
    def poke(self, pick, count, gap):
        """One-unit repayments a little apart (by anyone): each pays a unit of penalty or interest and must add
        nothing (penalty accrues exactly and is rounded once, when paid)."""
        loan_id = self._pick(pick, (ref.LoanStatus.ACTIVE,))
        for _ in range(count):
            self._act(
                "repay",
                lambda now: self.model.repay(loan_id, 1, now),
                self.ledger.call("repay", loan_id, 1),
                "outsider",
                dt=gap,
            )
        self.touched.add(loan_id)

    @rule(pick=pick_st, mode=st.sampled_from(["part", "all", "over", "zero"]), frac=st.floats(0, 1))
    def recover(self, pick, mode, frac):
        loan_id = self._pick(pick, (ref.LoanStatus.DEFAULTED, ref.LoanStatus.WRITTEN_OFF))
        room = 0
        if loan_id in self.model.loans:
            room = self.model.loans[loan_id].owed_at_default - self.model.books.loan(loan_id).recovered
        amount = {"part": max(1, int(room * frac)), "all": max(room, 1), "over": room + 1, "zero": 0}[mode]
        self._act(
            "recover",
            lambda now: self.model.recover(loan_id, amount),
            self.ledger.call("recover", loan_id, amount),
            "outsider",
        )
        self.touched.add(loan_id)

    @rule(who=st.sampled_from((*LENDERS, "spare")))
    def withdraw(self, who):
        address = self._addr(who)
        before = self.ledger.balance_of(address)
        expected = self.model.books.accounts[address].withdrawable if address in self.model.books.accounts else 0
        if self._act("withdraw", lambda now: self.model.withdraw(address), self.ledger.call("withdraw"), who):
            assert self.ledger.balance_of(address) - before == expected

    @rule(
        action=st.sampled_from(["originate", "fund", "repay", "withdraw", "markDefault", "cancel", "prepay"]),
        pick=pick_st,
        shares=shares_st,
        t=terms_st,
        length=st.sampled_from([0, 0, DAY, 35 * DAY, 126 * DAY]),
    )
    def pause_try_unpause(self, action, pick, shares, t, length):
        """Pause for `length`, try one action (outflows and admin fail as the model says: EnforcedPause or a role
        error; inflows - repay, prepay - go through), unpause."""
        assert self._act("pause", lambda now: self.model.pause(), self.ledger.call("pause"), "pauser")
        if length:
            self.advance_time(length)
        if action == "originate":
            self._originate(shares, t)
        elif action == "fund":
            self.fund(pick, "platform")
        elif action == "repay":
            self.repay(pick, "max", 1.0)
        elif action == "withdraw":
            self.withdraw("bank")
        elif action == "markDefault":
            self.mark_default(pick, "servicer")
        elif action == "prepay":
            self.prepay(pick, "scheduled", 0.0)
        else:
            self.cancel(pick, "originator")
        assert self._act("unpause", lambda now: self.model.unpause(), self.ledger.call("unpause"), "pauser")

    # -- invariants -------------------------------------------------------------------------------------------

    @invariant()
    def step_counted(self):
        STATS["machine_steps"] += 1

    @invariant()
    def tokens_are_conserved_and_accounts_agree(self):
        balance = self.ledger.balance_of(self.ledger.address)
        chain_accounts = 0
        for name in LENDERS:
            address = self._addr(name)
            acc = view_struct(self.ledger, "accountOf", address)
            m = self.model.books.accounts[address]
            assert (acc["withdrawable"], acc["reserve"], acc["loss"], acc["exposure"]) == (
                m.withdrawable,
                m.reserve,
                m.loss,
                m.exposure,
            ), f"account of {name}"
            chain_accounts += acc["withdrawable"] + acc["reserve"]
        committed = 0
        for loan_id in self.shares:
            if self.model.loans[loan_id].status in PRE_DISBURSEMENT:
                committed += sum(t["amount"] for t in view_list(self.ledger, "getTranches", loan_id) if t["funded"])
        remainders = self.model.books.undistributed()
        for loan_id, book in self.model.books.loans.items():
            n = len(book.shares)
            for component in book.components():
                if component not in book.settled:
                    assert 0 <= book.remainder(component) < n, f"loan {loan_id} {component} remainder"
        assert balance == chain_accounts + committed + remainders, (
            f"conservation: ledger holds {balance}, accounts {chain_accounts} + committed {committed} "
            f"+ remainders {remainders} = {chain_accounts + committed + remainders}"
        )
        self.model.check_conservation(balance)

    @invariant()
    def touched_loans_agree_with_the_model(self):
        for loan_id in sorted(self.touched):
            if loan_id not in self.shares:
                continue
            v = view_struct(self.ledger, "getLoan", loan_id)
            m = self.model.loans[loan_id]
            book = self.model.books.loan(loan_id)
            chain = (
                v["status"],
                v["currentInstallment"],
                v["outstandingPrincipal"],
                v["installmentAmount"],
                v["interestPaid"],
                v["feePaid"],
                v["principalPaid"],
                v["penaltyPaid"],
                v["prepaymentFeePaid"],
                v["recovered"],
                v["penaltyAccrued"],
                v["owedAtDefault"],
                v["writtenOff"],
            )
            model = (
                int(m.status),
                m.current,
                m.outstanding_principal,
                m.installment_amount,
                book.interest_paid,
                book.fee_paid,
                book.principal_paid,
                book.penalty_paid,
                book.prepayment_fee_paid,
                book.recovered,
                m.penalty_accrued,
                m.owed_at_default,
                m.written_off,
            )
            assert chain == model, f"loan {loan_id}: chain {chain} != model {model}"
            # shares immutable, as originated
            tranches = view_list(self.ledger, "getTranches", loan_id)
            assert [(to_checksum_address(t["lender"]), t["shareBps"]) for t in tranches] == self.shares[loan_id]
            # split sums: Σ credited ≤ received, == at closure (leftovers to the lead)
            if v["status"] not in PRE_DISBURSEMENT:
                self._check_split_sums(loan_id, v, tranches)
            # what the loan owes now (the view runs at the latest block's timestamp, self.now)
            due = view_struct(self.ledger, "amountDue", loan_id)
            md = self.model.amount_due(loan_id, self.now)
            assert (due["penalty"], due["interest"], due["principal"], due["totalDue"], due["maxPayable"]) == (
                md.penalty,
                md.interest,
                md.principal,
                md.total_due,
                md.max_payable,
            ), f"amountDue of loan {loan_id}"
        self.touched.clear()

    @invariant()
    def credit_record_agrees(self):
        chain = view_struct(self.ledger, "creditRecord", BORROWER_ID)
        m = self.model.credit_record(BORROWER_ID)
        assert (
            chain["loansTaken"],
            chain["active"],
            chain["closed"],
            chain["defaulted"],
            chain["onTimeInstallments"],
            chain["lateInstallments"],
            chain["maxDaysLate"],
            chain["totalDaysLate"],
            chain["amountWrittenOff"],
        ) == (
            m.loans_taken,
            m.active,
            m.closed,
            m.defaulted,
            m.on_time_installments,
            m.late_installments,
            m.max_days_late,
            m.total_days_late,
            m.amount_written_off,
        )

    def _check_split_sums(self, loan_id: int, v: dict[str, Any], tranches: list[dict[str, Any]]) -> None:
        income = v["interestPaid"] - v["feePaid"] + v["penaltyPaid"] + v["prepaymentFeePaid"]
        positions = [view_struct(self.ledger, "positionOf", loan_id, t["lender"]) for t in tranches]
        credited_income = sum(p["incomeCredited"] for p in positions)
        credited_principal = sum(p["principalCredited"] for p in positions)
        assert income - len(tranches) < credited_income <= income
        assert v["principalPaid"] - len(tranches) < credited_principal <= v["principalPaid"]
        if v["status"] == ref.LoanStatus.CLOSED:
            assert (credited_income, credited_principal) == (income, v["principalPaid"]), f"loan {loan_id} closed"
        assert sum(p["recoveredCredited"] for p in positions) <= v["recovered"]

    @invariant()
    def audit_head_matches_the_recomputed_chain(self):
        head = int.from_bytes(bytes(self.ledger._view("auditHead")), "big")
        assert head == self.audit.head, f"on-chain head {head:#x} != recomputed {self.audit.head:#x}"


@pytest.mark.slow
def test_ledger_life_cycle_machine(fresh: World):
    LedgerMachine.world = fresh
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=not RANDOM,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert STATS["machine_examples"] >= EXAMPLES
