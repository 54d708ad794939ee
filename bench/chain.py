"""The chain the benchmarks run on: one embedded anvil, a ledger with registered lenders, and loan factories.

Every section starts its own :class:`BenchChain` (one anvil at a time, stopped on exit) so its
numbers do not depend on what an earlier section left in the state.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from bench.fast import FastSender
from pylender.client import accounts
from pylender.client.ledger import Ledger
from pylender.client.session import Pylender
from pylender.client.tx import Call, Receipt
from pylender.values import DAY, UINT256_MAX, LoanTerms, PolicyParams, RepaymentMethod, Tranche, borrower_id

log = logging.getLogger(__name__)

BENCH_CONTRACTS = Path(__file__).resolve().parent / "contracts"
DECIMALS = 6
UNIT = 10**DECIMALS
MONTH = 30 * DAY
GRACE = 3 * DAY
LENDER_COUNTS = (1, 2, 3, 5, 10)
MAX_LENDERS = max(LENDER_COUNTS)
# Dev account layout: 0 admin/originator, 1 servicer, 2 borrower/payer, 3-5 spare payers, 6.. lenders.
ADMIN, SERVICER, PAYER, PAYER_B, PAYER_C, RECIPIENT = 0, 1, 2, 3, 4, 5
FIRST_LENDER = 6
DEV_ACCOUNTS = FIRST_LENDER + MAX_LENDERS + 2
# Bigger blocks let setup pack many transactions per block; gas used per transaction does not depend on it.
BLOCK_GAS_LIMIT = 300_000_000
Progress = Callable[[int], None]


def _noop(_n: int) -> None:
    return None


@lru_cache(maxsize=1)
def reference_contracts() -> dict[str, dict[str, Any]]:
    """The reference contracts of ``bench/contracts`` (FloorRepay, PushSplitBaseline), compiled once."""
    from tools.artifacts import compile_contracts

    return compile_contracts(BENCH_CONTRACTS)


def shares_for(count: int) -> list[int]:
    """Equal shares in bps for ``count`` lenders; the lead (first) takes the rounding remainder."""
    each = 10_000 // count
    return [10_000 - each * (count - 1)] + [each] * (count - 1)


@dataclass
class LoanPlan:
    """The terms every benchmark loan uses unless a section overrides them."""

    principal: int = 12_000 * UNIT
    annual_rate_bps: int = 1200
    periods: int = 12
    period_seconds: int = MONTH
    grace_period: int = GRACE
    penalty_rate_bps: int = 1800
    prepayment_fee_bps: int = 100
    method: RepaymentMethod = RepaymentMethod.EQUAL_INSTALLMENT


@dataclass
class BenchChain:
    """An anvil, a deployed ledger and the accounts the benchmarks sign with."""

    session: Pylender
    ledger: Ledger
    lenders: list[LocalAccount]
    deploy_block: int
    borrower_seq: int = field(default=0)
    _fast: FastSender | None = field(default=None, repr=False)

    @classmethod
    def start(cls, *, trace_steps: bool = False) -> BenchChain:
        """``trace_steps``: anvil keeps opcode traces (``debug_traceTransaction``), for the gas breakdown."""
        extra = ("--steps-tracing",) if trace_steps else ()
        session = Pylender.local(accounts=DEV_ACCOUNTS, gas_limit=BLOCK_GAS_LIMIT, extra_args=extra)
        try:
            session.w3.provider.make_request("anvil_setBlockTimestampInterval", [1])  # type: ignore[arg-type]
            policy = dataclasses.replace(
                PolicyParams.defaults(DECIMALS), min_platform_share_bps=0, max_lender_exposure=10**12 * UNIT
            )
            ledger = session.deploy(policy=policy, servicer=session.account(SERVICER).address)
            deploy_block = ledger.deployment.block
            lenders = [session.account(FIRST_LENDER + i) for i in range(MAX_LENDERS)]
            ledger.add_signer(*(session.account(i) for i in range(DEV_ACCOUNTS)))
            for i, lender in enumerate(lenders):
                ledger.register_institution(lender, f"Lender {i + 1}", is_platform=i % 3 == 2)
            chain = cls(session, ledger, lenders, deploy_block)
            big = 10**15 * UNIT
            mint = [ledger.call("mint", a.address, big, target="token") for a in (*lenders, *chain.payers())]
            ledger.send_many(mint)
            for account in (*lenders, *chain.payers()):
                ledger.approve(account)
            return chain
        except BaseException:
            session.close()
            raise

    def payers(self) -> list[LocalAccount]:
        return [self.account(i) for i in (SERVICER, PAYER, PAYER_B, PAYER_C)]

    def account(self, index: int) -> LocalAccount:
        return self.session.account(index)

    def close(self) -> None:
        if self._fast is not None:
            self._fast.close()
        self.session.close()

    def __enter__(self) -> BenchChain:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- contracts -----------------------------------------------------------------------------------
    def deploy_reference(self, name: str) -> str:
        """Deploy one of ``bench/contracts`` with the ledger's token as its constructor argument."""
        from eth_abi import encode

        art = reference_contracts()[name]
        bytecode = art["bytecode"] + encode(["address"], [self.ledger.deployment.token]).hex()
        receipt = self.ledger.sender().deploy(bytecode, name)
        return to_checksum_address(receipt.contract_address or "")

    def approve_spender(self, owner: LocalAccount, spender: str) -> None:
        self.ledger.send(self.ledger.call("approve", spender, UINT256_MAX, target="token"), owner)

    # -- loans ---------------------------------------------------------------------------------------
    def terms(self, plan: LoanPlan, deadline: int | None = None) -> LoanTerms:
        self.borrower_seq += 1
        borrower = self.account(PAYER)
        return LoanTerms(
            borrower=borrower.address,
            borrower_id=borrower_id(f"bench-borrower-{self.borrower_seq}"),
            principal=plan.principal,
            annual_rate_bps=plan.annual_rate_bps,
            periods=plan.periods,
            period_seconds=plan.period_seconds,
            method=plan.method,
            grace_period=plan.grace_period,
            penalty_rate_bps=plan.penalty_rate_bps,
            prepayment_fee_bps=plan.prepayment_fee_bps,
            funding_deadline=deadline or self.ledger.now() + 365 * DAY,
        )

    def tranches(self, count: int) -> list[Tranche]:
        return [
            Tranche(lender=lender.address, share_bps=bps)
            for lender, bps in zip(self.lenders, shares_for(count), strict=False)
        ]

    def originate_calls(self, count: int, lenders: int, plan: LoanPlan) -> list[Call]:
        tranches = [t.to_abi() for t in self.tranches(lenders)]
        deadline = self.ledger.now() + 365 * DAY
        return [self.ledger.call("originate", self.terms(plan, deadline).to_abi(), tranches) for _ in range(count)]

    def fast(self) -> FastSender:
        if self._fast is None:
            self._fast = FastSender(self.session.url or "")
        return self._fast

    def resync(self) -> None:
        """Forget the client's cached nonces after the fast path sent from the same accounts."""
        for sender in self.ledger._senders.values():
            sender.resync_nonce()

    def fast_send(
        self, calls: Sequence[tuple[LocalAccount, Call]], progress: Progress = _noop, gas: int = 1_000_000
    ) -> list[dict[str, Any]]:
        """Setup transactions through :class:`FastSender` (anvil signs; not a measured path)."""
        try:
            return self.fast().send([(a.address, c) for a, c in calls], gas=gas, progress=progress)
        finally:
            self.resync()

    def open_loans(self, count: int, lenders: int, plan: LoanPlan, progress: Progress = _noop) -> list[int]:
        """Originate, fund (every tranche) and disburse ``count`` loans (setup path); their ids."""
        lg = self.ledger
        admin = self.account(ADMIN)
        receipts = self.fast_send([(admin, c) for c in self.originate_calls(count, lenders, plan)], progress)
        topic = lg._topics["LoanOriginated"]
        loan_ids = [
            int(next(x for x in r["logs"] if x["topics"][0].lower() == topic)["topics"][1], 16) for r in receipts
        ]
        funds = [(lender, lg.call("fund", i)) for i in loan_ids for lender in self.lenders[:lenders]]
        self.fast_send(funds, progress, gas=300_000)
        self.fast_send([(admin, lg.call("disburse", i)) for i in loan_ids], progress)
        return loan_ids

    def open_loan_measured(self, lenders: int, plan: LoanPlan) -> tuple[int, dict[str, int]]:
        """Open one loan transaction by transaction; its id and the gas of originate, fund (all tranches), disburse."""
        lg = self.ledger
        receipt = lg.send(lg.call("originate", self.terms(plan).to_abi(), [t.to_abi() for t in self.tranches(lenders)]))
        loan_id = lg.loan_id_from(receipt)
        gas = {"originate": receipt.gas_used, "fund": 0}
        for lender in self.lenders[:lenders]:
            gas["fund"] += lg.send(lg.call("fund", loan_id), lender).gas_used
        gas["disburse"] = lg.send(lg.call("disburse", loan_id)).gas_used
        return loan_id, gas

    def send_batches(
        self, loan_ids: Sequence[int], amount: int, batch: int, progress: Progress = _noop
    ) -> list[Receipt]:
        """``repayBatch`` from the servicer over ``loan_ids`` in batches of ``batch``, each loan paying ``amount``."""
        lg = self.ledger
        calls = [
            lg.call("repayBatch", list(loan_ids[i : i + batch]), [amount] * len(loan_ids[i : i + batch]))
            for i in range(0, len(loan_ids), batch)
        ]
        return lg.send_many(calls, self.account(SERVICER), on_receipt=lambda _i, _r: progress(1))

    def advance(self, seconds: int) -> int:
        return self.ledger.advance(seconds)


def dev_key_hex(index: int) -> str:
    return "0x" + bytes(accounts.dev_account(index).key).hex()
