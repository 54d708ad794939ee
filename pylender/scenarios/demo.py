"""``pylender demo``: a year of a realistic co-lending portfolio, on an embedded chain or a local node.

A bank, a city bank and a platform co-lend a few hundred loans (70/30, 60/40 and 50/20/30
shares; equal installment, equal principal and interest first), plus one 助贷 loan funded by
the bank alone with a platform service fee. Twelve monthly servicer sweeps (``repayBatch``)
collect what is due; a few borrowers pay a month late (penalty interest), one borrower prepays,
one stops paying and is marked defaulted, written off and partly recovered. The lenders then
withdraw, and the audit trail is verified with :func:`pylender.audit.verify_ledger`.

The sweeps pull from one unlimited approval of the demo's own test token per party (a servicer's batch path);
the demo sets every such allowance back to 0 when it ends. ``pylender.cli.reports`` prints the report.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from eth_utils import keccak, to_checksum_address
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pylender.client.ledger import Ledger
from pylender.client.session import Pylender
from pylender.scenarios.schema import GENESIS_TIMESTAMP
from pylender.values import (
    DAY,
    PAY_ALL_DUE,
    UINT256_MAX,
    Deployment,
    LoanStatus,
    LoanTerms,
    PolicyParams,
    RepaymentMethod,
    Tranche,
    borrower_id,
)

log = logging.getLogger(__name__)

MONTH = 30 * DAY
GRACE = 3 * DAY
BATCH = 40
SHARE_MIXES = [  # (bank, city bank, platform) in bps; platform always >= the 30 % policy minimum
    (7000, 0, 3000),
    (7000, 0, 3000),
    (6000, 0, 4000),
    (5000, 2000, 3000),
]
METHODS = list(RepaymentMethod)  # loan i is repaid by METHODS[i % len(METHODS)]


class LenderSummary(BaseModel):
    name: str
    address: str
    loans: int
    funded: int
    withdrawn: int
    withdrawable: int
    reserve: int
    loss: int
    exposure: int


class DemoReport(BaseModel):
    loans: int
    transactions: int
    seconds: float
    decimals: int
    ledger: str
    by_status: dict[str, int]
    lenders: list[LenderSummary]
    defaulted_loan: int
    late_payments: int
    audit_seq: int
    audit_head: str
    audit_verified: bool | None
    audit_message: str
    deployment: Deployment


class _Bar:
    """A rich progress bar, or nothing when the output is for machines."""

    def __init__(self, show: bool) -> None:
        self.progress: Progress | None = None
        if show:
            self.progress = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        if self.progress is None:
            yield lambda _n: None
            return
        task_id = self.progress.add_task(description, total=total)
        yield lambda n: self.progress.advance(task_id, n) if self.progress else None
        self.progress.update(task_id, completed=total)

    def __enter__(self) -> _Bar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def _borrower_address(i: int) -> str:
    return to_checksum_address(keccak(text=f"pylender-demo-borrower-{i}")[-20:])


class Demo:
    """The demo portfolio on one session."""

    def __init__(self, session: Pylender, n_loans: int, seed: int, bar: _Bar) -> None:
        self.session = session
        self.n = n_loans
        self.rng = random.Random(seed)
        self.bar = bar
        self.txs = 0
        self.admin = session.signer
        self.bank, self.city, self.platform, self.servicer = (session.account(i) for i in (1, 2, 3, 4))
        self.ledger: Ledger
        self.loan_ids: list[int] = []
        self.funded: dict[str, int] = {}
        self.loans_of: dict[str, int] = {}
        self.withdrawn: dict[str, int] = {}
        self.late_payments = 0
        self.defaulted = 0

    def setup(self) -> None:
        s = self.session
        s.w3.provider.make_request("anvil_setBlockTimestampInterval", [1])  # type: ignore[arg-type]
        unit = 10**6
        policy = dataclasses.replace(PolicyParams.defaults(6), max_lender_exposure=100_000_000 * unit)
        self.ledger = s.deploy(policy=policy, servicer=self.servicer.address)
        lg = self.ledger
        lg.register_institution(self.bank, "Bank of Example", is_platform=False)
        lg.register_institution(self.city, "City Commercial Bank", is_platform=False)
        lg.register_institution(self.platform, "Example Platform", is_platform=True)
        for account in (self.bank, self.city, self.platform, self.servicer):
            lg.mint(account, 50_000_000 * unit)
            lg.approve(account, UINT256_MAX)  # the bulk path; reset to 0 in finish()
        self.txs += 3 + 8 + 5
        for account in (self.bank, self.city, self.platform):
            self.funded[account.address] = 0
            self.loans_of[account.address] = 0

    def _terms(self, i: int, method: RepaymentMethod) -> LoanTerms:
        rng = self.rng
        principal = rng.randrange(5_000, 80_000, 500) * 10**6
        return LoanTerms(
            borrower=_borrower_address(i),
            borrower_id=borrower_id(f"demo-customer-{i}"),
            principal=principal,
            annual_rate_bps=rng.choice([800, 1000, 1200, 1500, 1800, 2300]),
            periods=12,
            period_seconds=MONTH,
            method=method,
            grace_period=GRACE,
            penalty_rate_bps=3600,
            prepayment_fee_bps=100,
            reserve_bps=rng.choice([0, 200, 500]),
            funding_deadline=self.ledger.now() + 7 * DAY,
        )

    def originate_portfolio(self) -> None:
        lg = self.ledger
        first = lg.loan_count() + 1
        calls, tranche_sets = [], []
        for i in range(self.n):
            bank, city, platform = SHARE_MIXES[i % len(SHARE_MIXES)]
            tranches = [Tranche(lender=self.bank.address, share_bps=bank)]
            if city:
                tranches.append(Tranche(lender=self.city.address, share_bps=city))
            tranches.append(Tranche(lender=self.platform.address, share_bps=platform))
            terms = self._terms(i, METHODS[i % len(METHODS)])
            calls.append(lg.call("originate", terms.to_abi(), [t.to_abi() for t in tranches]))
            tranche_sets.append(tranches)
        # 助贷: the bank funds alone; the platform earns 30 % of the interest as a service fee
        fee_terms = dataclasses.replace(
            self._terms(self.n, RepaymentMethod.EQUAL_INSTALLMENT),
            service_fee_bps=3000,
            fee_recipient=self.platform.address,
        )
        calls.append(lg.call("originate", fee_terms.to_abi(), [(self.bank.address, 10_000)]))
        tranche_sets.append([Tranche(lender=self.bank.address, share_bps=10_000)])
        with self.bar.task("originating", len(calls)) as step:
            lg.send_many(calls, by=self.admin, on_receipt=lambda _i, _r: step(1))
        self.txs += len(calls)
        self.loan_ids = list(range(first, first + len(calls)))
        by_lender: dict[str, list[int]] = {}
        for loan_id, tranches in zip(self.loan_ids, tranche_sets, strict=True):
            for t in tranches:
                by_lender.setdefault(t.lender, []).append(loan_id)
                self.loans_of[t.lender] += 1
        total = sum(len(v) for v in by_lender.values())
        with self.bar.task("funding", total) as step:
            for lender, loan_ids in by_lender.items():
                lg.send_many([lg.call("fund", i) for i in loan_ids], by=lender, on_receipt=lambda _i, _r: step(1))
        self.txs += total
        with self.bar.task("disbursing", len(self.loan_ids)) as step:
            lg.send_many(
                [lg.call("disburse", i) for i in self.loan_ids], by=self.admin, on_receipt=lambda _i, _r: step(1)
            )
        self.txs += len(self.loan_ids)
        for loan_id in self.loan_ids:
            for held in lg.tranches(loan_id):
                self.funded[held.lender] += held.amount

    def year(self) -> None:
        lg = self.ledger
        late = {i for i in self.loan_ids if i % 17 == 5}
        self.defaulted = self.loan_ids[len(self.loan_ids) // 2]
        prepayer = self.loan_ids[3]
        with self.bar.task("12 monthly servicer sweeps", 12) as step:
            for month in range(1, 13):
                lg.advance(MONTH if month > 1 else MONTH + 3600)
                payments: list[tuple[int, int]] = []
                for loan_id in self.loan_ids:
                    if loan_id == self.defaulted and month >= 3:
                        continue
                    if loan_id in late and month == 4:
                        continue  # pays next month, with penalty interest
                    if lg.amount_due(loan_id).total_due > 0:
                        payments.append((loan_id, PAY_ALL_DUE))  # exactly what is due when the batch executes
                        if loan_id in late and month == 5:
                            self.late_payments += 1
                for chunk in range(0, len(payments), BATCH):
                    part = payments[chunk : chunk + BATCH]
                    lg.repay_batch([p[0] for p in part], [p[1] for p in part], by=self.servicer, approve=False)
                    self.txs += 1
                if month == 6:
                    loan = lg.loan(prepayer)
                    if loan.status == LoanStatus.ACTIVE:
                        lg.prepay(prepayer, loan.outstanding_principal // 2, by=self.servicer, approve=False)
                        self.txs += 1
                if month == 7:
                    lg.mark_default(self.defaulted, by=self.servicer)
                    lg.write_off(self.defaulted, by=self.servicer)
                    self.txs += 2
                if month == 10:
                    written = lg.loan(self.defaulted).written_off
                    lg.recover(self.defaulted, written // 4, by=self.servicer, approve=False)
                    self.txs += 1
                step(1)

    def finish(self) -> None:
        lg = self.ledger
        for account in (self.bank, self.city, self.platform):
            before = lg.balance_of(account)
            lg.withdraw(account)
            self.withdrawn[account.address] = lg.balance_of(account) - before
            self.txs += 1
        for account in (self.bank, self.city, self.platform, self.servicer):
            lg.approve(account, 0)  # no allowance outlives the demo
            self.txs += 1

    def report(self, seconds: float) -> DemoReport:
        lg = self.ledger
        by_status: dict[str, int] = {}
        for loan_id in self.loan_ids:
            label = lg.loan(loan_id).status.label
            by_status[label] = by_status.get(label, 0) + 1
        lenders = []
        for account in (self.bank, self.city, self.platform):
            acc = lg.account_of(account)
            lenders.append(
                LenderSummary(
                    name=acc.name,
                    address=account.address,
                    loans=self.loans_of[account.address],
                    funded=self.funded[account.address],
                    withdrawn=self.withdrawn[account.address],
                    withdrawable=acc.withdrawable,
                    reserve=acc.reserve,
                    loss=acc.loss,
                    exposure=acc.exposure,
                )
            )
        head = lg.audit_head()
        verified, message = verify_audit(lg)
        return DemoReport(
            loans=len(self.loan_ids),
            transactions=self.txs,
            seconds=round(seconds, 1),
            decimals=lg.decimals,
            ledger=lg.address,
            by_status=by_status,
            lenders=lenders,
            defaulted_loan=self.defaulted,
            late_payments=self.late_payments,
            audit_seq=head.seq,
            audit_head=head.head,
            audit_verified=verified,
            audit_message=message,
            deployment=lg.deployment,
        )


def verify_audit(ledger: Ledger) -> tuple[bool | None, str]:
    """Verify the audit trail with :func:`pylender.audit.verify_ledger` when that is available."""
    try:
        from pylender.audit import verify_ledger
    except ImportError:
        head = ledger.audit_head()
        return None, f"pylender.audit.verify_ledger not available; on-chain head {head.head} (seq {head.seq})"
    result = verify_ledger(ledger.w3, ledger.address, abi=ledger.ledger_abi)
    if result.ok:
        return True, f"verified {result.records} records up to seq {result.last_seq}; head matches the chain"
    first = result.findings[0]
    return False, f"{len(result.findings)} finding(s), first: {first}"


def run_demo(
    n_loans: int = 240, seed: int = 7, show_progress: bool = True, session: Pylender | None = None
) -> DemoReport:
    """Run the demo on ``session`` (a local dev chain, whose ledger stays), or on a fresh embedded anvil stopped
    afterwards, and return its report."""
    started = time.monotonic()
    if session is not None:
        return _run(session, n_loans, seed, show_progress, started)
    with Pylender.local(timestamp=GENESIS_TIMESTAMP, accounts=10) as fresh:
        return _run(fresh, n_loans, seed, show_progress, started)


def _run(session: Pylender, n_loans: int, seed: int, show_progress: bool, started: float) -> DemoReport:
    try:
        with _Bar(show_progress) as bar:
            demo = Demo(session, n_loans, seed, bar)
            demo.setup()
            demo.originate_portfolio()
            demo.year()
            demo.finish()
            return demo.report(time.monotonic() - started)
    finally:  # a node the demo borrowed goes back to mining at its own pace
        session.w3.provider.make_request("anvil_removeBlockTimestampInterval", [])  # type: ignore[arg-type]
