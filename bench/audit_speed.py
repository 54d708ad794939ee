"""Audit speed: ``verify_ledger`` records/s against raw ``eth_getLogs`` and ape's ``ContractEvent.query``.

The records are built cheaply (setup path): many 2-lender loans with many monthly periods,
``repayBatch`` of 100 loans per transaction, time advanced one period between rounds. At each
size the three readers run on the same node and the same block range, interleaved round by round.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from bench.chain import MONTH, SERVICER, BenchChain, LoanPlan
from bench.stats import Sample, rate
from pylender.audit import verify_ledger
from pylender.audit.events import EventCatalog
from pylender.audit.ingest import load_ledger_abi

log = logging.getLogger(__name__)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a reader runs: verify_ledger pauses it for itself, so every
    reader gets the same (raw getLogs builds ~100k objects per 10k records, and a full collection over the
    bench's heap in the middle of one round doubled it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# The audit events are the ABI's (an event whose last input is `bytes32 head`), as the verifier reads them.
AUDIT_EVENTS = tuple(EventCatalog.default().names)
BATCH = 100


@dataclass(frozen=True)
class AuditSizes:
    loans: int = 1_000
    periods: int = 100
    targets: tuple[int, ...] = (10_000, 100_000)
    runs: int = 11  # raw getLogs and verify: a 10k-record round lasts ~0.3 s and single rounds vary 2x here, so many
    warmup: int = 1  # rounds of raw getLogs and verify run first and not counted (caches, connections, the heap)
    ape_runs_large: int = 3


class AuditPoint(BaseModel):
    """The three readers at one size."""

    records: int
    blocks: int
    raw_get_logs: Sample
    verify: Sample  # verify_ledger's default: verified, replayed and reconciled with every view
    verify_no_views: Sample | None = None  # verified + replayed (the goal); None in older reports
    ape_query: Sample | None
    ape_skipped: str = ""
    verified_ok: bool


class AuditResults(BaseModel):
    points: list[AuditPoint]
    notes: list[str]


def measure_audit(sizes: AuditSizes, tick: Callable[[str], None]) -> AuditResults:
    points: list[AuditPoint] = []
    with BenchChain.start() as chain:
        lg = chain.ledger
        plan = LoanPlan(periods=sizes.periods, penalty_rate_bps=0, principal=50_000 * 10**6)
        loan_ids = chain.open_loans(sizes.loans, 2, plan)
        amount = lg.loan(loan_ids[0]).installment_amount
        tick(f"opened {sizes.loans} loans")
        ape_reader = _ApeReader.connect(chain.session.url or "", lg.address, chain.deploy_block)
        try:
            points = _grow_and_measure(chain, ape_reader, loan_ids, amount, sizes, tick)
        finally:
            ape_reader.close()
        ape_note = ape_reader.describe()
    return AuditResults(
        points=points,
        notes=[
            f"{sizes.loans} loans with 2 lenders and {sizes.periods} monthly periods; "
            f"one repayBatch of {BATCH} loans per transaction",
            "raw eth_getLogs: one request over the ledger's whole range filtered on the audit events' topics, "
            "JSON decoded",
            "verify_ledger, verified + replayed: compare_with_views=False (fetch, seq, hash chain, on-chain head, "
            "replay, conservation), the goal's reader; verify_ledger's default adds the reconciliation with every "
            "view, position and the token balance",
            ape_note,
            f"{sizes.warmup} warm-up round of raw eth_getLogs and verify_ledger (not counted), then rounds that "
            "alternate the order of the readers; median (min-max) of the rounds",
            "every reader runs with Python's cyclic garbage collector paused, as verify_ledger pauses it for itself",
        ],
    )


def _grow_and_measure(
    chain: BenchChain,
    ape_reader: _ApeReader,
    loan_ids: list[int],
    amount: int,
    sizes: AuditSizes,
    tick: Callable[[str], None],
) -> list[AuditPoint]:
    """Add repayment rounds until each target is reached, then measure the three readers there."""
    lg = chain.ledger
    points: list[AuditPoint] = []
    rounds = 0
    for target in sizes.targets:
        rounds += grow_records(chain, loan_ids, amount, target, sizes.periods - 1 - rounds)
        tick(f"built {lg.audit_head().seq} records")
        ape_runs = sizes.runs if target == sizes.targets[0] else max(sizes.ape_runs_large, 1)
        points.append(_measure_point(chain, ape_reader, sizes.runs, ape_runs, tick, sizes.warmup))
    return points


def grow_records(chain: BenchChain, loan_ids: list[int], amount: int, target: int, max_rounds: int) -> int:
    """Repayment rounds until the ledger holds ``target`` audit records: each round advances one period
    and repays every loan's installment with one ``repayBatch`` of ``BATCH`` loans per transaction.
    Returns the number of rounds (setup path; the tests build their 10,000-record ledger with it too)."""
    lg = chain.ledger
    servicer = chain.account(SERVICER)
    rounds = 0
    while lg.audit_head().seq < target:
        if rounds >= max_rounds:
            raise RuntimeError(f"{len(loan_ids)} loans cannot reach {target} records in {max_rounds} more rounds")
        chain.advance(MONTH)
        calls = [
            (servicer, lg.call("repayBatch", loan_ids[i : i + BATCH], [amount] * len(loan_ids[i : i + BATCH])))
            for i in range(0, len(loan_ids), BATCH)
        ]
        chain.fast_send(calls, gas=30_000_000)
        rounds += 1
    return rounds


def _measure_point(
    chain: BenchChain, ape: _ApeReader, runs: int, ape_runs: int, tick: Callable[[str], None], warmup: int = 1
) -> AuditPoint:
    lg = chain.ledger
    w3 = chain.session.w3
    rpc = chain.fast()
    latest = int(rpc.rpc_batch([("eth_blockNumber", [])])[0], 16)
    records = lg.audit_head().seq
    abi = load_ledger_abi()
    topics = [lg._topics[name] for name in AUDIT_EVENTS if name in lg._topics]
    flt = {"address": lg.address, "fromBlock": hex(chain.deploy_block), "toBlock": hex(latest), "topics": [topics]}
    counts: dict[str, int] = {}
    oks: list[bool] = []

    def raw() -> None:
        counts["raw"] = len(rpc.rpc_batch([("eth_getLogs", [flt])])[0])

    def verify() -> None:
        result = verify_ledger(w3, lg.address, abi=abi, from_block=chain.deploy_block)
        counts["verify"] = result.records
        oks.append(result.ok)
        if not result.ok:
            log.error("verify_ledger found %d problems; first: %s", len(result.findings), result.findings[0])

    def verify_no_views() -> None:
        result = verify_ledger(w3, lg.address, abi=abi, from_block=chain.deploy_block, compare_with_views=False)
        counts["no views"] = result.records
        oks.append(result.ok)

    def ape_query() -> None:
        counts["ape"] = ape.count(latest)

    series: dict[str, list[float]] = {"raw": [], "verify": [], "no views": [], "ape": []}
    readers = [("raw", raw), ("verify", verify), ("no views", verify_no_views)]
    readers += [("ape", ape_query)] if ape.available else []
    for run in range(warmup):  # not counted: the first rounds pay for caches, connections and heap growth
        raw()
        verify()
        tick(f"{records} records, warm-up {run + 1}")
    for run in range(max(runs, ape_runs)):
        order = readers if run % 2 == 0 else list(reversed(readers))
        for name, action in order:
            if run >= (ape_runs if name == "ape" else runs):
                continue
            with _gc_paused():
                series[name].append(rate(records, action))
            tick(f"{records} records, round {run + 1}: {name}")
    for name, found in counts.items():
        if found != records:
            raise RuntimeError(f"{name} read {found} records, the ledger's audit head says {records}")
    return AuditPoint(
        records=records,
        blocks=latest - chain.deploy_block + 1,
        raw_get_logs=Sample(name="raw eth_getLogs", unit="records/s", runs=series["raw"], items=records),
        verify=Sample(
            name="verify_ledger, + reconciled with the views (default)",
            unit="records/s",
            runs=series["verify"],
            items=records,
        ),
        verify_no_views=Sample(
            name="verify_ledger, verified + replayed (compare_with_views=False)",
            unit="records/s",
            runs=series["no views"],
            items=records,
        ),
        ape_query=Sample(name="ape ContractEvent.query", unit="records/s", runs=series["ape"], items=records)
        if series["ape"]
        else None,
        ape_skipped="" if ape.available else ape.reason,
        verified_ok=bool(oks) and all(oks),
    )


class _ApeReader:
    """ape connected to the running anvil by URL: one ``ContractEvent.query`` per audit event type."""

    def __init__(self) -> None:
        self.available = False
        self.reason = ""
        self._contract: Any = None
        self._context: Any = None
        self._start = 0

    @classmethod
    def connect(cls, url: str, address: str, start_block: int) -> _ApeReader:
        reader = cls()
        try:
            os.environ.setdefault("APE_DATA_FOLDER", str(_repo_root() / ".ape"))
            from ape import Contract, networks
            from ethpm_types import ContractType

            reader._context = networks.parse_network_choice("ethereum:local:node", provider_settings={"uri": url})
            reader._context.__enter__()
            contract_type = ContractType.model_validate({"contractName": "CoLendingLedger", "abi": load_ledger_abi()})
            reader._contract = Contract(address, contract_type=contract_type)
            reader._start = start_block
            reader.available = True
        except Exception as exc:  # ape is optional: the report states why it was skipped
            reader.reason = f"ape could not connect to {url}: {type(exc).__name__}: {exc}"
            log.warning(reader.reason)
        return reader

    def count(self, stop_block: int) -> int:
        total = 0
        for name in AUDIT_EVENTS:
            event = getattr(self._contract, name, None)
            if event is None:
                continue
            frame = event.query("*", start_block=self._start, stop_block=stop_block)
            total += len(frame)
        return total

    def describe(self) -> str:
        if not self.available:
            return f"ape ContractEvent.query skipped: {self.reason}"
        return (
            "ape: networks.parse_network_choice('ethereum:local:node', provider_settings={'uri': <anvil URL>}), "
            "then Contract(address, contract_type).<Event>.query('*', start_block, stop_block) for each audit event, "
            "pandas DataFrames counted"
        )

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None


def _repo_root() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parents[1]
