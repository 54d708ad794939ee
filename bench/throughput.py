"""Throughput on one anvil: the client's paths against bare references, interleaved run by run.

Each round measures presigned raw transfers, client pipelined repayments (``Ledger.send_many``),
the bare web3.py sign-send-receipt loop, client single repayments (``Ledger.repay``) and batch
repayments (``repayBatch`` of 100 loans through ``send_many``) once; odd rounds run them in the
reverse order, and every figure starts from the same EVM snapshot (same state, same chain length:
anvil's per-block cost grows with the chain). Each subject is compared with its reference within the
same round, so drift on a shared machine hits both.
Every repayment pays exactly one installment of a 2-lender loan (100 loans, 600 daily
installments, all already due, no penalty rate), so every repayment transaction does the same work.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel
from web3 import HTTPProvider, Web3
from web3.exceptions import TransactionNotFound

from bench.chain import PAYER, PAYER_B, PAYER_C, RECIPIENT, SERVICER, BenchChain, LoanPlan
from bench.stats import Sample, rate
from pylender.client.tx import Call
from pylender.values import DAY

log = logging.getLogger(__name__)

LOANS = 100
PERIODS = 600
BATCH = 100
FIGURES = ("raw", "pipelined", "bare", "single", "batch")
BARE_POLL = 0.0005  # seconds between receipt polls in the bare loop ("tight polling")


@dataclass(frozen=True)
class ThroughputSizes:
    """Transactions (or batches) per run, and runs per figure."""

    raw: int = 300
    pipelined: int = 300
    single: int = 150
    bare: int = 150
    batches: int = 3
    runs: int = 7
    warmup: int = 1
    """Rounds run first and not counted: a path's first use pays one-time costs (ABI encoders, caches,
    connections) that are not throughput (measured: the client's paths were slowest in round 1)."""


class ThroughputResults(BaseModel):
    raw_transfers: Sample
    pipelined: Sample
    bare_loop: Sample
    single: Sample
    batch: Sample
    repay_gas: int
    notes: list[str]


class _Installments:
    """Hands out (loan, amount) pairs, round robin, so each pays the oldest unpaid installment."""

    def __init__(self, loan_ids: list[int], amount: int) -> None:
        self.loan_ids = loan_ids
        self.amount = amount
        self.used = 0
        self.capacity = len(loan_ids) * (PERIODS - 1)  # the last installment differs; never reached

    def take(self, n: int) -> list[int]:
        if self.used + n > self.capacity:
            raise RuntimeError("benchmark loans ran out of installments; lower the run sizes")
        out = [self.loan_ids[(self.used + i) % len(self.loan_ids)] for i in range(n)]
        self.used += n
        return out

    def batch(self) -> list[int]:
        """One installment of every loan: a batch of distinct loans."""
        return self.take(len(self.loan_ids))


def measure_throughput(sizes: ThroughputSizes, tick: Callable[[str], None]) -> ThroughputResults:
    with BenchChain.start() as chain:
        lg = chain.ledger
        plan = LoanPlan(
            periods=PERIODS, period_seconds=DAY, grace_period=0, penalty_rate_bps=0, principal=60_000 * 10**6
        )
        loan_ids = chain.open_loans(LOANS, 2, plan)
        chain.advance(PERIODS * DAY + 1)
        amount = lg.loan(loan_ids[0]).installment_amount
        book = _Installments(loan_ids, amount)
        # Warm-up (setup path): each loan's first repayment writes fresh slots and costs more; measure steady state.
        warm = lg.call("repayBatch", book.batch(), [amount] * LOANS)
        chain.fast_send([(chain.account(SERVICER), warm)], gas=30_000_000)
        tick("setup")

        client_payer, bare_payer = chain.account(PAYER), chain.account(PAYER_B)
        raw_payer, servicer = chain.account(PAYER_C), chain.account(SERVICER)
        bare = _BareLoop(chain.session.url or "", bare_payer, lg.address)
        results: dict[str, list[float]] = {k: [] for k in FIGURES}
        repay_gas: list[int] = []

        def raw() -> float:
            return _raw_transfers(chain, raw_payer, sizes.raw)

        def pipelined() -> float:
            calls = [lg.call("repay", i, amount) for i in book.take(sizes.pipelined)]

            def go() -> None:
                lg.send_many(calls, client_payer, on_receipt=lambda _i, r: repay_gas.append(r.gas_used))

            return rate(len(calls), go)

        def bare_loop() -> float:
            ids = book.take(sizes.bare)
            return rate(len(ids), lambda: bare.run(lg, ids, amount))

        def single() -> float:
            ids = book.take(sizes.single)

            def go() -> None:
                for loan_id in ids:
                    lg.repay(loan_id, amount, by=client_payer)

            return rate(len(ids), go)

        def batch() -> float:
            calls = [lg.call("repayBatch", b, [amount] * len(b)) for b in (book.batch() for _ in range(sizes.batches))]
            return rate(sizes.batches * LOANS, lambda: lg.send_many(calls, servicer))

        measures = {"raw": raw, "pipelined": pipelined, "bare": bare_loop, "single": single, "batch": batch}
        rpc = chain.fast()
        used = book.used
        for run in range(-sizes.warmup, sizes.runs):
            order = FIGURES if run % 2 == 0 else tuple(reversed(FIGURES))
            for figure in order:
                # Every figure starts from the same state and chain length: anvil's per-block cost grows with the
                # chain, so a figure measured after another round's or figure's blocks would run on a slower node
                # (measured: with one snapshot per round, pipelined/raw was 0.76-0.78 in the rounds where raw went
                # first and 1.11-1.14 where it went last).
                snapshot = rpc.rpc_batch([("evm_snapshot", [])])[0]
                measured = measures[figure]()
                if run >= 0:
                    results[figure].append(measured)
                if not rpc.rpc_batch([("evm_revert", [snapshot])])[0]:
                    raise RuntimeError("anvil could not revert to the figure's snapshot")
                book.used = used
                bare.nonce = None
                chain.resync()
                tick(f"round {run + 1}: {figure}" if run >= 0 else f"warm-up: {figure}")

    return ThroughputResults(
        raw_transfers=Sample(name="presigned raw ERC-20 transfers", unit="tx/s", runs=results["raw"], items=sizes.raw),
        pipelined=Sample(
            name="client pipelined repayments (Ledger.send_many)",
            unit="tx/s",
            runs=results["pipelined"],
            items=sizes.pipelined,
        ),
        bare_loop=Sample(
            name="bare web3.py sign-send-receipt loop (repay)", unit="tx/s", runs=results["bare"], items=sizes.bare
        ),
        single=Sample(
            name="client single repayments (Ledger.repay)", unit="tx/s", runs=results["single"], items=sizes.single
        ),
        batch=Sample(
            name=f"batch repayments (repayBatch of {LOANS}, send_many)",
            unit="repayments/s",
            runs=results["batch"],
            items=sizes.batches * LOANS,
        ),
        repay_gas=int(statistics.median(repay_gas)) if repay_gas else 0,
        notes=[
            f"{LOANS} loans with 2 lenders, {PERIODS} daily installments, all due; each repayment pays one "
            "installment (each loan's first installment paid before measuring: steady state)",
            "raw transfers: signed before the clock starts, sent back to back, then every receipt collected",
            "bare loop: stock web3.py HTTPProvider, eth_account signing, fixed gas, local nonce, "
            f"receipt polled every {BARE_POLL * 1000:g} ms",
            f"{sizes.warmup} warm-up round (not counted), then {sizes.runs} rounds on one anvil, each measuring "
            "every figure once, every figure from the same "
            "snapshot (reverted after it: anvil's per-block cost grows with the chain, so a figure run after "
            "another's blocks would be slower), the order reversed every other round; goal ratios are the median "
            "of the per-round ratios",
        ],
    )


def _raw_transfers(chain: BenchChain, payer: LocalAccount, n: int) -> float:
    """Presigned ERC-20 transfers: send all raw, then collect all receipts (tight polling)."""
    lg = chain.ledger
    rpc = chain.fast()
    nonce = int(rpc.rpc_batch([("eth_getTransactionCount", [payer.address, "pending"])])[0], 16)
    base = int(rpc.rpc_batch([("eth_getBlockByNumber", ["latest", False])])[0]["baseFeePerGas"], 16)
    call = lg.call("transfer", chain.account(RECIPIENT).address, 1, target="token")
    raws = []
    for i in range(n):
        tx = {
            "chainId": lg.deployment.chain_id,
            "nonce": nonce + i,
            "to": call.to,
            "data": call.data,
            "value": 0,
            "gas": 60_000,
            "maxFeePerGas": 2 * base + 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
        raws.append("0x" + bytes(payer.sign_transaction(tx).raw_transaction).hex())

    def go() -> None:
        hashes = [rpc.rpc_batch([("eth_sendRawTransaction", [raw])])[0] for raw in raws]
        for h in hashes:
            while rpc.rpc_batch([("eth_getTransactionReceipt", [h])])[0] is None:
                time.sleep(BARE_POLL)

    return rate(n, go)


class _BareLoop:
    """The reference for the single path: what a script with nothing but web3.py does per repayment."""

    def __init__(self, url: str, account: LocalAccount, ledger: str) -> None:
        self.w3 = Web3(HTTPProvider(url))
        self.account = account
        self.ledger = ledger
        self.nonce: int | None = None
        self.chain_id = int(self.w3.eth.chain_id)

    def run(self, lg, loan_ids: list[int], amount: int) -> None:  # type: ignore[no-untyped-def]
        if self.nonce is None:
            self.nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
        base = int(self.w3.eth.get_block("latest")["baseFeePerGas"])
        for loan_id in loan_ids:
            call: Call = lg.call("repay", loan_id, amount)
            tx = {
                "chainId": self.chain_id,
                "nonce": self.nonce,
                "to": self.ledger,
                "data": call.data,
                "value": 0,
                "gas": 400_000,
                "maxFeePerGas": 2 * base + 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
            self.nonce += 1
            tx_hash = self.w3.eth.send_raw_transaction(self.account.sign_transaction(tx).raw_transaction)
            receipt = _wait(self.w3, tx_hash)
            if receipt["status"] != 1:
                raise RuntimeError(f"bare-loop repayment of loan {loan_id} failed")

    def close(self) -> None:
        return None


def _wait(w3: Web3, tx_hash: bytes) -> dict:  # type: ignore[type-arg]
    while True:
        try:
            return dict(w3.eth.get_transaction_receipt(tx_hash))
        except TransactionNotFound:
            time.sleep(BARE_POLL)
