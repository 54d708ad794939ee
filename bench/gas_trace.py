"""Where a transaction's gas goes: intrinsic, token calls, storage, events, computation and refund.

Reads anvil's opcode trace (``debug_traceTransaction``; the node must run with ``--steps-tracing``)
and sorts every opcode's cost into a few buckets. The ledger's own frames include the ones it enters
by DELEGATECALL (its extension runs on its storage); a CALL or STATICCALL to another contract (the
token) is one bucket, its whole cost included. The buckets add up to ``gasUsed`` exactly: the
refund is what the trace executed plus the intrinsic cost, less ``gasUsed``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from web3 import Web3

TX_BASE = 21_000
EXTERNAL_CALLS = ("CALL", "STATICCALL", "CALLCODE")
WARM_SLOAD = 100


class GasBreakdown(BaseModel):
    """One transaction's gas by bucket (``per`` > 1: every figure divided by ``per``, e.g. loans of a batch)."""

    total: int
    intrinsic: int  # 21,000 + calldata
    external_calls: int  # token calls, their execution included
    cold_reads: int
    cold_read_count: int
    warm_reads: int
    writes: int
    write_count: int
    events: int
    transient: int  # TLOAD/TSTORE (the reentrancy guard)
    compute: int  # every other opcode, memory expansion and call overheads included
    refund: int
    per: int = 1

    def divided(self, per: int) -> GasBreakdown:
        values = {name: round(value / per) for name, value in self.model_dump().items() if name != "per"}
        return GasBreakdown(**{**values, "per": per})


def calldata_gas(data: bytes) -> int:
    return sum(4 if b == 0 else 16 for b in data)


def trace_breakdown(w3: Web3, tx_hash: str) -> GasBreakdown:
    """The breakdown of a mined transaction, from anvil's opcode trace."""
    response = w3.provider.make_request(  # type: ignore[arg-type]
        "debug_traceTransaction",
        [tx_hash, {"disableStorage": True, "disableMemory": True, "disableStack": True}],
    )
    if "error" in response:
        raise RuntimeError(f"debug_traceTransaction failed: {response['error']}")
    steps: list[dict[str, Any]] = response["result"]["structLogs"]
    if not steps:
        raise RuntimeError("the trace has no steps: start anvil with --steps-tracing")
    tx = w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    receipt = w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    intrinsic = TX_BASE + calldata_gas(bytes(tx["input"]))
    buckets = dict.fromkeys(
        ("external_calls", "cold_reads", "warm_reads", "writes", "events", "transient", "compute"), 0
    )
    cold_read_count = write_count = 0
    i = 0
    while i < len(steps):
        step = steps[i]
        op, cost = step["op"], step["gasCost"]
        if op in EXTERNAL_CALLS:
            # the whole call: gas before it less gas once back at this depth
            j = i + 1
            while j < len(steps) and steps[j]["depth"] > step["depth"]:
                j += 1
            buckets["external_calls"] += step["gas"] - steps[j]["gas"] if j < len(steps) else cost
            i = j
            continue
        if op == "SLOAD":
            if cost > WARM_SLOAD:
                buckets["cold_reads"] += cost
                cold_read_count += 1
            else:
                buckets["warm_reads"] += cost
        elif op == "SSTORE":
            buckets["writes"] += cost
            write_count += 1
        elif op.startswith("LOG"):
            buckets["events"] += cost
        elif op in ("TLOAD", "TSTORE"):
            buckets["transient"] += cost
        i += 1
    # every other opcode (DELEGATECALL's own cost too, whose listed gasCost is the gas it forwards) is the rest
    last = steps[-1]
    executed = steps[0]["gas"] - (last["gas"] - last["gasCost"])
    buckets["compute"] = executed - sum(buckets.values())
    refund = intrinsic + executed - receipt["gasUsed"]
    return GasBreakdown(
        total=receipt["gasUsed"],
        intrinsic=intrinsic,
        cold_read_count=cold_read_count,
        write_count=write_count,
        refund=refund,
        **buckets,
    )
