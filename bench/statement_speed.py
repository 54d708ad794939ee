"""Statement speed: one institution's daily statement over the whole ledger (every record fetched, proved,
replayed; the institution's movements; each day's cut-off block; ``accountOf`` at every cut-off) in records/s,
against raw ``eth_getLogs`` of the same records on the same node and block range, interleaved round by round.

The ledger is built as the audit section builds it (:func:`bench.audit_speed.grow_records`): many 2-lender
loans, one ``repayBatch`` of 100 loans per transaction, a month between rounds, so the statement spans years of
days. The institution is the lead lender of every loan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel

from bench.audit_speed import AUDIT_EVENTS, _gc_paused, grow_records
from bench.chain import BenchChain, LoanPlan
from bench.stats import Sample, rate
from pylender.audit.ingest import load_ledger_abi
from pylender.statements import DailyStatement, draw_statement

log = logging.getLogger(__name__)

INSTITUTION = "Lender 1"


@dataclass(frozen=True)
class StatementSizes:
    loans: int = 1_000
    periods: int = 102
    records: int = 100_000
    runs: int = 5
    warmup: int = 1


class StatementPoint(BaseModel):
    records: int
    blocks: int
    days: int
    movements: int
    views_compared: int
    raw_get_logs: Sample
    statement: Sample
    verified: bool
    """The statement is drawn from a trail proven complete and every balance equals accountOf at its cut-off."""


class StatementResults(BaseModel):
    point: StatementPoint
    notes: list[str]


def measure_statement(sizes: StatementSizes, tick: Callable[[str], None]) -> StatementResults:
    with BenchChain.start() as chain:
        lg = chain.ledger
        plan = LoanPlan(periods=sizes.periods, penalty_rate_bps=0, principal=50_000 * 10**6)
        loan_ids = chain.open_loans(sizes.loans, 2, plan)
        amount = lg.loan(loan_ids[0]).installment_amount
        tick(f"opened {sizes.loans} loans")
        grow_records(chain, loan_ids, amount, sizes.records, sizes.periods - 1)
        tick(f"built {lg.audit_head().seq} records")
        point = _measure(chain, sizes, tick)
    return StatementResults(
        point=point,
        notes=[
            f"{sizes.loans} loans with 2 lenders, one repayBatch of 100 loans per transaction, a month between "
            f"rounds; the statement of {INSTITUTION} (the lead of every loan) from the deployment's day to the "
            f"last block's, UTC: {point.days:,} days, {point.movements:,} movements",
            "the statement: the trail fetched, its sequence, hash chain and on-chain head checked and replayed "
            "(the audit pipeline), the institution's movements, each day's cut-off block searched over block "
            f"timestamps, and accountOf read at every cut-off ({point.views_compared:,} eth_calls) and compared",
            "raw eth_getLogs: one request over the same block range filtered on the audit events' topics, JSON decoded",
            f"{sizes.warmup} warm-up round of each (not counted), then rounds that alternate the order; median "
            "(min-max); the cyclic garbage collector paused for both, as verify_ledger pauses it for itself",
        ],
    )


def _measure(chain: BenchChain, sizes: StatementSizes, tick: Callable[[str], None]) -> StatementPoint:
    lg = chain.ledger
    w3 = chain.session.w3
    rpc = chain.fast()
    latest = int(rpc.rpc_batch([("eth_blockNumber", [])])[0], 16)
    records = lg.audit_head().seq
    abi = load_ledger_abi()
    topics = [lg._topics[name] for name in AUDIT_EVENTS if name in lg._topics]
    flt = {"address": lg.address, "fromBlock": hex(chain.deploy_block), "toBlock": hex(latest), "topics": [topics]}

    def day(block: int) -> str:
        return datetime.fromtimestamp(int(w3.eth.get_block(block)["timestamp"]), UTC).date().isoformat()

    first, last = day(chain.deploy_block), day(latest)
    counts: dict[str, int] = {}
    drawn: list[DailyStatement] = []  # the round's statement, checked and let go after its timing
    checks: list[bool] = []

    def raw() -> None:
        counts["raw"] = len(rpc.rpc_batch([("eth_getLogs", [flt])])[0])

    def statement() -> None:
        s = draw_statement(w3, lg.address, INSTITUTION, first, last, abi=abi, from_block=chain.deploy_block)
        counts["statement"] = s.verification.records
        drawn.append(s)

    def check() -> DailyStatement:
        s = drawn.pop()
        checks.append(s.outcome.value == "verified" and s.views_compared >= len(s.days))
        if not checks[-1]:
            log.error("the statement is %s: %s", s.outcome.value, [f.describe() for f in s.findings][:3])
        return s

    series: dict[str, list[float]] = {"raw": [], "statement": []}
    readers = [("raw", raw), ("statement", statement)]
    for run in range(sizes.warmup):
        raw()
        statement()
        check()
        tick(f"{records} records, warm-up {run + 1}")
    s = None
    for run in range(sizes.runs):
        for name, action in readers if run % 2 == 0 else list(reversed(readers)):
            s = None  # the previous round's statement is let go here, not inside a timing
            with _gc_paused():
                series[name].append(rate(records, action))
            if name == "statement":
                s = check()
            tick(f"{records} records, round {run + 1}: {name}")
    for name, found in counts.items():
        if found != records:
            raise RuntimeError(f"{name} read {found} records, the ledger's audit head says {records}")
    assert s is not None
    verified = all(checks)
    return StatementPoint(
        records=records,
        blocks=latest - chain.deploy_block + 1,
        days=len(s.days),
        movements=len(s.rows),
        views_compared=s.views_compared,
        raw_get_logs=Sample(name="raw eth_getLogs", unit="records/s", runs=series["raw"], items=records),
        statement=Sample(
            name=f"statement of {INSTITUTION}, accountOf at every cut-off",
            unit="records/s",
            runs=series["statement"],
            items=records,
        ),
        verified=verified,
    )
