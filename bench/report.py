"""The report: ``bench/report.json`` (everything measured) and ``bench/report.md`` (tables for people)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from bench.audit_speed import AuditResults
from bench.gas import BREAKDOWN_LENDERS, OPERATIONS, GasResults
from bench.sizes import EIP170, EIP3860, INITCODE_LIMIT, RUNTIME_LIMIT, CodeSize
from bench.statement_speed import StatementResults
from bench.stats import Goal, Sample
from bench.throughput import ThroughputResults


class RunInfo(BaseModel):
    started: str
    seconds: float
    quick: bool
    host: str
    cpus: int
    python: str
    anvil: str
    ledger_artifact: str
    audit_build: str = ""
    """How the audit's hot modules ran: compiled (mypyc) or from source, and why (pylender.native)."""
    load_average: list[float] = []
    """1-minute load average at the start and at the end (the machine is shared)."""


class Report(BaseModel):
    run: RunInfo
    goals: list[Goal]
    sizes: list[CodeSize] = []
    gas: GasResults | None = None
    throughput: ThroughputResults | None = None
    audit: AuditResults | None = None
    statement: StatementResults | None = None

    def to_json(self) -> str:
        data = self.model_dump(mode="json")
        for section in ("throughput",):
            block = data.get(section)
            if block:
                for key, value in list(block.items()):
                    if isinstance(value, dict) and "runs" in value:
                        value.update(getattr(getattr(self, section), key).summary())
        if data.get("audit"):
            for raw, point in zip(data["audit"]["points"], self.audit.points if self.audit else [], strict=True):
                for key in ("raw_get_logs", "verify", "verify_no_views", "ape_query"):
                    sample = getattr(point, key)
                    if sample is not None:
                        raw[key].update(sample.summary())
        if data.get("statement") and self.statement is not None:
            for key in ("raw_get_logs", "statement"):
                data["statement"]["point"][key].update(getattr(self.statement.point, key).summary())
        data["all_passed"] = all(g.passed for g in self.goals)
        return json.dumps(data, indent=1) + "\n"

    def to_markdown(self) -> str:
        out = [
            "# pylender benchmarks",
            "",
            f"Run {self.run.started} UTC on {self.run.host} ({self.run.cpus} CPUs), {self.run.seconds:.0f} s"
            f"{' - QUICK run (small sizes)' if self.run.quick else ''}. Python {self.run.python}, {self.run.anvil}. "
            f"Load average (1 min) at start / end: {' / '.join(f'{x:.1f}' for x in self.run.load_average)}.",
            f"Ledger: `{self.run.ledger_artifact}`. Audit modules: {self.run.audit_build or 'not recorded'}.",
            "Regenerate with `make bench` (or `python -m bench --quick`).",
            "Every figure is measured against its reference in the same run; each section on a chain and in a Python "
            "process of its own.",
            "",
            "## Goals",
            "",
            "| goal | measured | ratio | target | result |",
            "|---|---|---:|---|:---:|",
        ]
        for g in self.goals:
            ratio = "-" if g.ratio is None else f"{g.ratio:.3f}"
            out.append(f"| {g.goal} | {g.measured} | {ratio} | {g.target} | {'PASS' if g.passed else '**FAIL**'} |")
        details = [g for g in self.goals if g.detail]
        if details:
            out.append("")
            out += [f"- {g.goal}: {g.detail}" for g in details]
        if self.sizes:
            out += _sizes_markdown(self.sizes)
        if self.gas is not None:
            out += _gas_markdown(self.gas)
        if self.throughput is not None:
            out += _throughput_markdown(self.throughput)
        if self.audit is not None:
            out += _audit_markdown(self.audit)
        if self.statement is not None:
            out += _statement_markdown(self.statement)
        return "\n".join(out) + "\n"

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        md, js = folder / "report.md", folder / "report.json"
        md.write_text(self.to_markdown())
        js.write_text(self.to_json())
        return md, js


def _sizes_markdown(sizes: list[CodeSize]) -> list[str]:
    out = [
        "",
        "## Code sizes",
        "",
        f"Every contract a deployment puts on chain (the shipped artifacts). Goals: runtime ≤ {RUNTIME_LIMIT:,} "
        f"bytes (EIP-170: {EIP170:,}), initcode, constructor arguments included, ≤ {INITCODE_LIMIT:,} bytes "
        f"(EIP-3860: {EIP3860:,}).",
        "",
        "| contract | runtime bytes | initcode bytes |",
        "|---|---:|---:|",
    ]
    out += [f"| {c.name} | {c.runtime:,} | {c.initcode:,} |" for c in sizes]
    return out


def _storage_floor_markdown(gas: GasResults) -> list[str]:
    if not gas.storage_floor_repay:
        return []
    floor = gas.floor_repay
    single, batch = gas.storage_floor_repay, gas.storage_floor_batch
    return [
        "",
        "Storage floor (`bench/contracts/StorageFloorRepay.sol`): a repayment that makes only the storage accesses "
        "the ledger's data model needs (pause + audit head slot; 3 loan slots read, the cursor written; one "
        "account slot per lender), writes the same 14-word audit record and pulls the payment with the same "
        "fee-on-transfer check - and computes nothing (no dues, penalty, waterfall, fee or split):",
        "",
        "| storage floor, 2 lenders | gas | ratio to the floor | goal |",
        "|---|---:|---:|---:|",
        f"| repay | {single:,} | {single / floor:.3f}× | the ledger's repay ≤ 1.15× this |",
        f"| batch of 100 (per loan) | {batch:,} | {batch / floor:.3f}× | the ledger's batch ≤ 1.5× this |",
    ]


def _gas_markdown(gas: GasResults) -> list[str]:
    ks = gas.lender_counts
    floor = gas.floor_repay
    out = [
        "",
        "## Gas (deterministic)",
        "",
        f"References: floor repay (FloorRepay, transferFrom only) **{floor:,}**, plain ERC-20 transfer "
        f"**{gas.erc20_transfer:,}**. Cells: gas (ratio to the floor).",
        "",
        "| operation | " + " | ".join(f"{k} lender{'s' if k > 1 else ''}" for k in ks) + " |",
        "|---|" + "---:|" * len(ks),
    ]
    for name in OPERATIONS:
        row = gas.operations.get(name, {})
        cells = [f"{row[k]:,} ({row[k] / floor:.2f}×)" if k in row else "-" for k in ks]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out += _storage_floor_markdown(gas)
    if gas.pool:
        out += ["", "Loan pool (one pool, steady state unless marked first; ratio to the plain ERC-20 transfer):", ""]
        out += ["| operation | gas | ratio to transfer |", "|---|---:|---:|"]
        out += [f"| {n} | {g:,} | {g / gas.erc20_transfer:.2f}× |" for n, g in gas.pool.items()]
    out += ["", "Repay gas (2 lenders, steady state) against the number of loans in the ledger:", ""]
    out += ["| loans in the ledger | repay gas | ratio to floor |", "|---:|---:|---:|"]
    out += [f"| {n:,} | {g:,} | {g / floor:.2f}× |" for n, g in sorted(gas.repay_by_loans.items())]
    out += _breakdown_markdown(gas)
    out += [""] + [f"- {n}" for n in gas.notes]
    return out


def _breakdown_markdown(gas: GasResults) -> list[str]:
    if not gas.breakdown:
        return []
    out = [
        "",
        f"Where the gas goes ({BREAKDOWN_LENDERS} lenders; opcode trace of the same transactions; the columns add up "
        "to the total):",
        "",
        "| transaction | total | intrinsic + calldata | token calls | cold reads (n) | warm reads | writes (n) "
        "| events | transient | compute | refund |",
        "|---|" + "---:|" * 10,
    ]
    for label, b in gas.breakdown.items():
        out.append(
            f"| {label} | {b.total:,} | {b.intrinsic:,} | {b.external_calls:,} | {b.cold_reads:,} ({b.cold_read_count})"
            f" | {b.warm_reads:,} | {b.writes:,} ({b.write_count}) | {b.events:,} | {b.transient:,} | {b.compute:,}"
            f" | -{b.refund:,} |"
        )
    return out


def _sample_row(s: Sample, ref: Sample | None = None) -> str:
    ratio = f"{s.median / ref.median:.2f}" if ref is not None else "-"
    return f"| {s.name} | {s.median:,.1f} | {s.low:,.1f} | {s.high:,.1f} | {len(s.runs)} × {s.items:,} | {ratio} |"


def _throughput_markdown(tp: ThroughputResults) -> list[str]:
    out = [
        "",
        "## Throughput (one anvil)",
        "",
        "| path | median | min | max | runs × items | median / reference median |",
        "|---|---:|---:|---:|---:|---:|",
        _sample_row(tp.raw_transfers),
        _sample_row(tp.pipelined, tp.raw_transfers),
        _sample_row(tp.batch, tp.raw_transfers),
        _sample_row(tp.bare_loop),
        _sample_row(tp.single, tp.bare_loop),
        "",
        f"Units: tx/s, batch in repayments/s. References: raw transfers for the pipelined and batch paths, the bare "
        f"loop for single repayments. A repayment costs {tp.repay_gas:,} gas (median of the pipelined ones).",
        "",
    ]
    return out + [f"- {n}" for n in tp.notes]


def _audit_markdown(audit: AuditResults) -> list[str]:
    out = [
        "",
        "## Audit speed (records/s, same node and block range)",
        "",
        "| records (blocks) | reader | median | min | max | runs | verify / reader |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for p in audit.points:
        size = f"{p.records:,} ({p.blocks:,})"
        optional = [p.verify_no_views] if p.verify_no_views is not None else []  # absent in older reports
        for s in [p.raw_get_logs, p.verify, *optional, p.ape_query]:
            if s is None:
                out.append(f"| {size} | ape ContractEvent.query | skipped | | | | {p.ape_skipped} |")
                continue
            ratio = "-" if s is p.verify else f"{p.verify.median / s.median:.3f}"
            out.append(
                f"| {size} | {s.name} | {s.median:,.0f} | {s.low:,.0f} | {s.high:,.0f} | {len(s.runs)} | {ratio} |"
            )
        out.append(f"| {size} | verify_ledger result | {'ok' if p.verified_ok else 'FINDINGS'} | | | | |")
    out += [""] + [f"- {n}" for n in audit.notes]
    return out


def _statement_markdown(result: StatementResults) -> list[str]:
    p = result.point
    size = f"{p.records:,} ({p.blocks:,})"
    out = [
        "",
        "## Statement speed (records/s, same node and block range)",
        "",
        "| records (blocks) | reader | median | min | max | runs | statement / reader |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for s in (p.raw_get_logs, p.statement):
        ratio = "-" if s is p.statement else f"{p.statement.median / s.median:.3f}"
        out.append(f"| {size} | {s.name} | {s.median:,.0f} | {s.low:,.0f} | {s.high:,.0f} | {len(s.runs)} | {ratio} |")
    out.append(f"| {size} | statement | {'verified, ties to accountOf' if p.verified else 'NOT VERIFIED'} | | | | |")
    return out + [""] + [f"- {n}" for n in result.notes]
