"""``python -m bench`` (``make bench``): gas, throughput and audit speed, each against a same-run reference.

Writes ``bench/report.md`` and ``bench/report.json``. ``--quick`` runs small sizes (the smoke
test uses it); ``--only`` runs some sections. Exit status 0 even when goals fail (the report says
which); ``--strict`` makes a failed goal exit 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.audit_speed import AuditSizes, measure_audit
from bench.chain import LENDER_COUNTS
from bench.gas import measure_gas
from bench.goals import audit_goals, gas_goals, size_goals, statement_goals, throughput_goals
from bench.isolated import run_isolated
from bench.report import Report, RunInfo
from bench.sizes import measure_sizes
from bench.statement_speed import StatementSizes, measure_statement
from bench.throughput import FIGURES, ThroughputSizes, measure_throughput
from pylender import artifacts, native
from pylender.client.node import find_anvil

log = logging.getLogger("bench")

BENCH_DIR = Path(__file__).resolve().parent
SECTIONS = ("gas", "throughput", "audit", "statement")
FULL_LOANS = (1, 100, 10_000)
QUICK_LOANS = (1, 10, 50)
QUICK_LENDERS = (1, 2)
QUICK_THROUGHPUT = ThroughputSizes(raw=20, pipelined=20, single=8, bare=8, batches=1, runs=3)
QUICK_AUDIT = AuditSizes(loans=50, periods=20, targets=(400, 800), runs=3, ape_runs_large=3)
QUICK_STATEMENT = StatementSizes(loans=50, periods=20, records=800, runs=3)


class _Bar:
    """One rich progress line per section on stderr (nothing when ``show`` is off)."""

    def __init__(self, show: bool) -> None:
        self.progress = (
            Progress(
                TextColumn("{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[step]}"),
                console=Console(stderr=True),
                auto_refresh=False,  # redrawn on each tick, between measurements: no thread takes the GIL mid-run
            )
            if show
            else None
        )

    @contextmanager
    def section(self, name: str, total: int) -> Iterator[Callable[[str], None]]:
        if self.progress is None:
            yield lambda step: log.info("%s: %s", name, step)
            return
        task = self.progress.add_task(name, total=total, step="")

        def tick(step: str) -> None:
            assert self.progress is not None
            self.progress.update(task, advance=1, step=step, refresh=True)

        yield tick
        self.progress.update(task, completed=total, step="done", refresh=True)

    def __enter__(self) -> _Bar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def _run_info(started: dt.datetime, seconds: float, quick: bool, load: list[float]) -> RunInfo:
    try:
        anvil = subprocess.run([str(find_anvil()), "--version"], capture_output=True, text=True, timeout=10).stdout
        anvil = anvil.strip().splitlines()[0] if anvil.strip() else "anvil"
    except Exception as exc:  # the version is informative only
        anvil = f"anvil (version unknown: {exc})"
    art = artifacts.load(artifacts.LEDGER)
    digest = hashlib.sha256(art.deployed_bytecode.encode()).hexdigest()[:12]
    size = (len(art.deployed_bytecode) - 2) // 2
    return RunInfo(
        started=started.strftime("%Y-%m-%d %H:%M"),
        seconds=seconds,
        quick=quick,
        host=platform.node(),
        cpus=os.cpu_count() or 0,
        python=platform.python_version(),
        anvil=anvil,
        ledger_artifact=f"CoLendingLedger {size:,} bytes, sha256(code) {digest}",
        audit_build=native.describe(),
        load_average=load,
    )


@click.command()
@click.option("--quick", is_flag=True, help="Small sizes (about a minute): the smoke test's run.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=BENCH_DIR, show_default=True)
@click.option("--only", type=click.Choice(SECTIONS), multiple=True, help="Run only these sections (repeatable).")
@click.option("--strict", is_flag=True, help="Exit 1 when a goal fails.")
@click.option("--progress/--no-progress", default=True, help="rich progress bars on stderr.")
def main(quick: bool, out: Path, only: tuple[str, ...], strict: bool, progress: bool) -> None:
    """Benchmark the ledger and the client; write report.md and report.json."""
    logging.basicConfig(
        level=logging.WARNING, handlers=[RichHandler(console=Console(stderr=True))], format="%(message)s"
    )
    sections = only or SECTIONS
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    load = [os.getloadavg()[0]]
    report = Report(run=_run_info(started, 0.0, quick, load), goals=[], sizes=measure_sizes())
    report.goals += size_goals(report.sizes)
    lenders = QUICK_LENDERS if quick else LENDER_COUNTS
    loans = QUICK_LOANS if quick else FULL_LOANS
    tp_sizes = QUICK_THROUGHPUT if quick else ThroughputSizes()
    audit_sizes = QUICK_AUDIT if quick else AuditSizes()
    statement_sizes = QUICK_STATEMENT if quick else StatementSizes()
    with _Bar(progress) as bar:
        if "gas" in sections:
            with bar.section("gas", 3 + len(lenders) + len(loans)) as tick:
                report.gas = run_isolated(measure_gas, lenders, loans, tick=tick)
            report.goals += gas_goals(report.gas)
        if "throughput" in sections:
            with bar.section("throughput", 1 + (tp_sizes.warmup + tp_sizes.runs) * len(FIGURES)) as tick:
                report.throughput = run_isolated(measure_throughput, tp_sizes, tick=tick)
            report.goals += throughput_goals(report.throughput)
        if "audit" in sections:
            total = 1 + len(audit_sizes.targets) * (1 + 3 * audit_sizes.runs)
            with bar.section("audit", total) as tick:
                report.audit = run_isolated(measure_audit, audit_sizes, tick=tick)
            report.goals += audit_goals(report.audit)
        if "statement" in sections:
            with bar.section("statement", 2 + statement_sizes.warmup + 2 * statement_sizes.runs) as tick:
                report.statement = run_isolated(measure_statement, statement_sizes, tick=tick)
            report.goals += statement_goals(report.statement)
    first_artifact = report.run.ledger_artifact
    report.run = _run_info(started, time.perf_counter() - t0, quick, [*load, os.getloadavg()[0]])
    if report.run.ledger_artifact != first_artifact:
        log.warning("the ledger artifact changed during the run; sections may have measured different code")
        report.run.ledger_artifact += f" (CHANGED during the run; it started with {first_artifact})"
    md, js = report.write(out)
    console = Console()
    failed = [g for g in report.goals if not g.passed]
    console.print(f"wrote {md} and {js}: {len(report.goals) - len(failed)}/{len(report.goals)} goals passed")
    for g in report.goals:
        ratio = "-" if g.ratio is None else f"{g.ratio:.3f}"
        mark = "[green]PASS[/]" if g.passed else "[red]FAIL[/]"
        console.print(f"  {mark} {g.goal}: {ratio} (target {g.target})")
    if strict and failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
