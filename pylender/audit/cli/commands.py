"""``pylender audit export|trail|roles|lender``: the trail written out, one loan's life, roles, a statement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pylender.audit.cli.group import audit
from pylender.audit.cli.inputs import resolve_institution, writable_file
from pylender.audit.cli.output import console, emit_json, print_lines, table
from pylender.audit.cli.source import Source, source_options
from pylender.audit.export import FORMATS, ExportHeader, make_header, sidecar_path, write_export
from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks, replay
from pylender.audit.trail import lender_statement, loan_trail, role_rows
from pylender.errors import LoanNotInTrail


def _books(records: list[Record]) -> AuditBooks:
    return replay(sorted(records, key=lambda r: r.seq))[0]


def _header_json(header: ExportHeader) -> dict[str, Any]:
    return header.model_dump(mode="json", exclude={"abi", "columns"})


@audit.command()
@source_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output file.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def export(src: Source, fmt: str, out: Path, as_json: bool) -> None:
    """Write one row per record, with a header naming the ledger, chain, blocks, final head and tool.

    The header is in the JSON document, in the Parquet schema metadata, and for CSV in OUT.meta.json."""
    writable_file(out, "--out")
    if fmt == "csv":
        writable_file(sidecar_path(out), "--out's header file")
    if src.file is not None:  # another format of an export: its header carries over
        loaded = src.load()
        exp = loaded.export
        assert exp is not None
        header = exp.header or make_header(exp.records, catalog=loaded.catalog)
        write_export(exp.records, out, fmt, header=header, block_times=exp.block_times)
    else:
        from pylender.audit.provenance import export_trail

        w3, ledger = src.need_chain()
        header = export_trail(
            w3,
            ledger,
            out,
            fmt,
            abi=src.abi_list(),
            from_block=src.from_block or 0,
            confirmations=src.confirmations,
            index_path=src.index,
            progress=not as_json,
        )
    where = {"path": str(out), "header_file": str(sidecar_path(out)) if fmt == "csv" else None}
    if as_json:
        emit_json({**where, "format": fmt, "header": _header_json(header)})
        return
    seqs = f"seq {header.first_seq} to {header.last_seq}" if header.records else "no record"
    blocks = f"blocks {header.first_block} to {header.final_block}" if header.final_block is not None else "blocks ?"
    lines = [
        f"wrote {header.records} record(s) ({seqs}, {blocks}) to {out}",
        f"  ledger {header.ledger} on chain {header.chain_id}, final head {header.final_head}",
    ]
    if fmt == "csv":
        lines.append(f"  header (ledger, chain, blocks, final head, tool) in {where['header_file']}")
    print_lines(lines)


@audit.command()
@source_options
@click.argument("loan_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
def trail(src: Source, loan_id: int, as_json: bool) -> None:
    """The timeline of one loan: every record and what it credited to whom."""
    records = src.load().records
    entries = loan_trail(records, _books(records), loan_id)
    if not entries:
        loans = sorted({r.loan_id for r in records if r.loan_id is not None})
        known = f"loans 1 to {loans[-1]}" if loans else "no loan"
        raise LoanNotInTrail(f"no record of loan {loan_id} in the trail (it holds {known})")
    if as_json:
        emit_json([e.model_dump() for e in entries])
        return
    lines: list[str] = []
    for e in entries:
        lines.append(f"seq {e.seq} block {e.block} {e.kind} tx {e.tx_hash}")
        lines.append(f"    {e.text}")
        lines += [f"      -> {who}: {amount:,}" for who, amount in e.credits.items()]
    print_lines(lines)


@audit.command()
@source_options
@click.option("--json", "as_json", is_flag=True, help="Print the holders and changes as JSON.")
def roles(src: Source, as_json: bool) -> None:
    """Who holds each role, and every grant and revocation the trail records."""
    records = src.load().records
    holders, changes = role_rows(records, _books(records))
    if as_json:
        emit_json({"holders": holders, "changes": changes})
        return
    out = console()
    out.print(table("role holders", ["role", "account"], [(h["role"], h["account"]) for h in holders]))
    columns = ["seq", "block", "role", "account", "change", "by"]
    out.print(table("role changes", columns, [[c[k] for k in columns] for c in changes], right=("seq", "block")))


@audit.command()
@source_options
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help="Print the statement as JSON.")
def lender(src: Source, account: str, as_json: bool) -> None:
    """Every unit that reached an institution: ACCOUNT is its index (1), name (Bank) or address."""
    records = src.load().records
    books = _books(records)
    address = resolve_institution(books.accounts, account)
    lines = lender_statement(books, address)
    acct = books.accounts[address]
    totals: dict[str, int] = {}
    for x in lines:
        totals[x.component] = totals.get(x.component, 0) + x.amount
    now = {"withdrawable": acct.withdrawable, "reserve": acct.reserve, "loss": acct.loss, "exposure": acct.exposure}
    if as_json:  # the statement's lines, as `pylender.audit.trail.lender_statement` gives them
        emit_json([x.model_dump() for x in lines])
        return
    columns = ["seq", "block", "loan", "component", "amount", "balance"]
    rows = [
        (x.seq, x.block, "" if x.loan_id is None else x.loan_id, x.component, f"{x.amount:,}", f"{x.balance:,}")
        for x in lines
    ]
    out = console()
    title = f"statement of institution {acct.index} {acct.name} {address} (token base units)"
    out.print(table(title, columns, rows, right=("seq", "block", "loan", "amount", "balance")))
    print_lines([f"  total {component}: {total:,}" for component, total in totals.items()])
    print_lines(["  now: " + ", ".join(f"{k} {v:,}" for k, v in now.items())])
