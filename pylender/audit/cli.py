"""``pylender audit``: verify, export, trail, lender, roles, report (a click group the main CLI mounts).

Exit status 0 only when everything matches; otherwise 1, with each finding named.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from web3 import Web3

from pylender.audit.events import EventCatalog
from pylender.audit.export import FORMATS, Format, read_export, write_export
from pylender.audit.fetch import FetchConfig
from pylender.audit.findings import VerificationResult
from pylender.audit.records import Record, parse_head
from pylender.audit.replay import AuditBooks, replay
from pylender.audit.report import role_rows, write_report
from pylender.audit.trail import lender_statement, loan_trail
from pylender.audit.verify import (
    PIPELINE_LOGS,
    audit_ledger,
    fetch_records,
    load_ledger_abi,
    verify_file,
    verify_ledger,
)
from pylender.client.transport import ENV_RPC
from pylender.errors import AuditError, PylenderError

ENV_LEDGER = "PYLENDER_LEDGER"
DEFAULT_DEPLOYMENT = Path(".pylender") / "deployment.json"


@dataclass
class Source:
    """Where the records come from: an export file, or a node (+ ledger, optional index)."""

    rpc: str | None
    ledger: str | None
    file: Path | None
    index: Path | None
    abi: Path | None
    confirmations: int
    from_block: int | None
    deployment: Path

    def resolve(self) -> None:
        """Fill rpc, ledger and from_block from the environment and the deployment file.

        An export (``--file``) is checked offline unless ``--rpc`` is given explicitly.
        """
        if self.file is not None and self.rpc is None:
            return
        self.rpc = self.rpc or os.environ.get(ENV_RPC)
        self.ledger = self.ledger or os.environ.get(ENV_LEDGER)
        if self.deployment.exists() and (self.ledger is None or self.rpc is None or self.from_block is None):
            from pylender.client.session import load_deployment

            dep = load_deployment(self.deployment)
            if self.ledger is None or self.ledger.lower() == str(dep.ledger).lower():
                self.ledger = self.ledger or str(dep.ledger)
                self.rpc = self.rpc or dep.rpc
                self.from_block = dep.block if self.from_block is None else self.from_block

    def web3(self) -> Web3 | None:
        if self.rpc is None:
            return None
        from pylender.client.transport import connect

        return connect(self.rpc)

    def need_chain(self) -> tuple[Web3, str]:
        w3 = self.web3()
        if w3 is None or self.ledger is None:
            raise AuditError(
                "no records source: pass --file F, or --rpc URL and --ledger ADDR "
                f"(or set {ENV_RPC}/{ENV_LEDGER}, or run where {DEFAULT_DEPLOYMENT} exists)"
            )
        return w3, Web3.to_checksum_address(self.ledger)

    def load(self) -> tuple[list[Record], EventCatalog, Web3 | None, str | None, int | None]:
        """Records (chain order), their catalogue, the node, the ledger and the final block (None offline)."""
        if self.file is not None:
            exp = read_export(self.file)
            catalog = EventCatalog.from_abi(load_ledger_abi(self.abi)) if self.abi else exp.catalog()
            return exp.records, catalog, self.web3(), self.ledger or exp.ledger, None
        w3, ledger = self.need_chain()
        catalog = EventCatalog.from_abi(load_ledger_abi(self.abi))
        config = FetchConfig(confirmations=self.confirmations, target_logs=PIPELINE_LOGS)
        from pylender.audit.fetch import LogFetcher
        from pylender.audit.index import AuditIndex

        final = LogFetcher(w3, ledger, catalog.topics, config).final_block()
        index = AuditIndex(self.index, ledger, int(w3.eth.chain_id)) if self.index else None
        try:
            records, _, _ = fetch_records(w3, ledger, catalog, final, index, self.from_block or 0, config, True)
        finally:
            if index is not None:
                index.close()
        return records, catalog, w3, ledger, final


def _inherit_root_options(src: Source) -> None:
    """Mounted as ``pylender audit``: take ``--rpc``/``--deployment`` given to the root command."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    if root is None or root is ctx:
        return
    if src.rpc is None and isinstance(root.params.get("rpc"), str):
        src.rpc = root.params["rpc"]
    deployment = root.params.get("deployment")
    if src.deployment == DEFAULT_DEPLOYMENT and deployment:
        src.deployment = Path(deployment)


def source_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say where the records come from."""
    options = [
        click.option("--rpc", help=f"JSON-RPC URL of a node (default ${ENV_RPC} or the deployment file)."),
        click.option("--ledger", help=f"Ledger address (default ${ENV_LEDGER} or the deployment file)."),
        click.option("--file", "file", type=click.Path(path_type=Path), help="An export (.csv/.json/.parquet)."),
        click.option("--index", type=click.Path(path_type=Path), help="SQLite index to read/extend incrementally."),
        click.option("--abi", type=click.Path(exists=True, path_type=Path), help="Ledger ABI or artifact JSON."),
        click.option("--confirmations", default=0, show_default=True, help="Blocks below the head treated as final."),
        click.option("--from-block", type=int, help="First block to scan (default: the deployment block or 0)."),
        click.option(
            "--deployment",
            type=click.Path(path_type=Path),
            default=DEFAULT_DEPLOYMENT,
            show_default=True,
            help="Deployment file naming the ledger.",
        ),
    ]

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        keys = ("rpc", "ledger", "file", "index", "abi", "confirmations", "from_block", "deployment")
        src = Source(**{k: kwargs.pop(k) for k in keys})
        _inherit_root_options(src)
        src.resolve()
        try:
            return fn(src, **kwargs)
        except PylenderError as exc:
            raise click.ClickException(str(exc)) from exc

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _console() -> Console:
    return Console(soft_wrap=True)


def _print_result(result: VerificationResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_json_dict(), indent=1))
        return
    console = _console()
    table = Table(title="audit verification", show_header=False)
    for key, value in (
        ("ledger", result.ledger),
        ("records", result.records),
        ("last seq", result.last_seq),
        ("computed head", result.computed_head),
        ("on-chain head", result.onchain_head),
        ("final block", result.final_block),
        ("loans", result.loans_checked),
        ("institutions", result.institutions_checked),
        ("views compared", result.compared_views),
    ):
        table.add_row(key, str(value))
    console.print(table)
    if result.ok:
        if result.compared_views:
            said = "the chain holds and every balance matches"
        else:
            said = "the chain holds (replayed; views not compared)"
        console.print(f"[green bold]OK[/]: the trail is complete, {said}.")
        return
    console.print(f"[red bold]FAILED[/]: {len(result.findings)} finding(s), first bad seq {result.first_bad_seq}")
    for finding in result.findings:
        console.print(" • " + finding.describe(), markup=False)


@click.group("audit")
def audit() -> None:
    """Prove the ledger's audit trail complete and untampered, replay it, reconcile, export."""


@audit.command()
@source_options
@click.option("--expected-head", help="A trusted head (hex) the trail must end in (offline --file checks).")
@click.option("--no-positions", is_flag=True, help="Skip the per-lender positionOf comparison (fewer calls).")
@click.option(
    "--no-views", is_flag=True, help="Verify and replay only: no reconciliation with the contract's views and balance."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(src: Source, expected_head: str | None, no_positions: bool, no_views: bool, as_json: bool) -> None:
    """Check seq, hash chain, on-chain head; replay and reconcile with the contract views."""
    if src.file is not None:
        w3 = src.web3()
        result = verify_file(
            src.file,
            abi_path=src.abi,
            w3=w3,
            ledger=src.ledger,
            expected_head=parse_head(expected_head) if expected_head else None,
        )
    else:
        w3, ledger = src.need_chain()
        abi = load_ledger_abi(src.abi)
        result = verify_ledger(
            w3,
            ledger,
            abi=abi,
            from_block=src.from_block or 0,
            confirmations=src.confirmations,
            index_path=src.index,
            progress=not as_json,
            compare_with_views=not no_views,
            positions=not no_positions,
        )
    _print_result(result, as_json)
    if not result.ok:
        raise SystemExit(1)


@audit.command()
@source_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output file.")
def export(src: Source, fmt: Format, out: Path) -> None:
    """Write one row per record (decoded fields, block, tx, log index)."""
    records, catalog, w3, ledger, final = src.load()
    chain_id = int(w3.eth.chain_id) if w3 is not None else None
    write_export(
        records,
        out,
        fmt,
        catalog=catalog,
        ledger=ledger,
        chain_id=chain_id,
        meta={"final_block": final},
    )
    click.echo(f"wrote {len(records)} records to {out}")


def _books(records: list[Record]) -> AuditBooks:
    return replay(sorted(records, key=lambda r: r.seq))[0]


@audit.command()
@source_options
@click.argument("loan_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def trail(src: Source, loan_id: int, as_json: bool) -> None:
    """The timeline of one loan: every record and what it credited to whom."""
    records, *_ = src.load()
    entries = loan_trail(records, _books(records), loan_id)
    if not entries:
        raise click.ClickException(f"no record of loan {loan_id}")
    if as_json:
        click.echo(json.dumps([e.model_dump() for e in entries], indent=1))
        return
    console = _console()
    for e in entries:
        console.print(f"[bold]seq {e.seq}[/] block {e.block} [cyan]{e.kind}[/]")
        console.print(f"    {e.text}", markup=False)
        for who, amount in e.credits.items():
            console.print(f"      → {who}: {amount:,}", markup=False)


@audit.command()
@source_options
@click.option("--json", "as_json", is_flag=True)
def roles(src: Source, as_json: bool) -> None:
    """Who holds each role, and every grant and revocation the trail records."""
    records, *_ = src.load()
    holders, changes = role_rows(records, _books(records))
    if as_json:
        click.echo(json.dumps({"holders": holders, "changes": changes}, indent=1))
        return
    console = _console()
    for title, rows in (("role holders", holders), ("role changes", changes)):
        table = Table(title=title)
        for col in dict.fromkeys(k for r in rows for k in r):
            table.add_column(col)
        for r in rows:
            table.add_row(*(str(v) for v in r.values()))
        console.print(table)


@audit.command()
@source_options
@click.argument("account")
@click.option("--json", "as_json", is_flag=True)
def lender(src: Source, account: str, as_json: bool) -> None:
    """Every unit that reached ACCOUNT: from which loan and component."""
    records, *_ = src.load()
    books = _books(records)
    address = Web3.to_checksum_address(account)
    lines = lender_statement(books, address)
    if as_json:
        click.echo(json.dumps([x.model_dump() for x in lines], indent=1))
        return
    table = Table(title=f"statement of {address}")
    for col in ("seq", "block", "loan", "component", "amount", "balance"):
        table.add_column(col, justify="right" if col in ("amount", "balance") else "left")
    totals: dict[str, int] = {}
    for x in lines:
        table.add_row(
            str(x.seq),
            str(x.block),
            "" if x.loan_id is None else str(x.loan_id),
            x.component,
            f"{x.amount:,}",
            f"{x.balance:,}",
        )
        totals[x.component] = totals.get(x.component, 0) + x.amount
    console = _console()
    console.print(table)
    for component, total in totals.items():
        console.print(f"  total {component}: {total:,}", markup=False)
    acct = books.accounts.get(address)
    if acct is not None:
        console.print(
            f"  now: withdrawable {acct.withdrawable:,}, reserve {acct.reserve:,}, loss {acct.loss:,}", markup=False
        )


@audit.command()
@source_options
@click.option("--html", "html_out", type=click.Path(path_type=Path), required=True, help="Output HTML file.")
def report(src: Source, html_out: Path) -> None:
    """A self-contained HTML report: verification, portfolio, cash flows, losses, breaches, overdue."""
    if src.file is not None:
        result = verify_file(src.file, abi_path=src.abi, w3=src.web3(), ledger=src.ledger)
        records = read_export(src.file).records
        write_report(html_out, result, records, _books(records))
    else:
        w3, ledger = src.need_chain()
        run = audit_ledger(
            w3,
            ledger,
            abi=load_ledger_abi(src.abi),
            from_block=src.from_block or 0,
            confirmations=src.confirmations,
            index_path=src.index,
            progress=True,
        )
        result = run.result
        write_report(html_out, result, run.records, run.books, run.views)
    click.echo(f"wrote {html_out} ({'passed' if result.ok else f'{len(result.findings)} finding(s)'})")
    if not result.ok:
        raise SystemExit(1)


main = audit
