"""``pylender audit verify``: prove the trail, replay it, reconcile it; say exactly what was proved."""

from __future__ import annotations

import click

from pylender.audit.cli.group import audit
from pylender.audit.cli.output import emit_json, print_lines
from pylender.audit.cli.source import Source, source_options
from pylender.audit.findings import VerificationResult
from pylender.audit.provenance import PREFIX_METHODS
from pylender.audit.record import parse_trusted_head
from pylender.audit.verdict import verdict_lines
from pylender.audit.verify import verify_file, verify_ledger


def print_result(result: VerificationResult, as_json: bool) -> None:
    if as_json:
        emit_json(result.to_json_dict())
    else:
        print_lines(verdict_lines(result))


@audit.command()
@source_options
@click.option(
    "--expected-head",
    help="A head you trust (0x and 64 hex digits) that the trail must end in: proves an offline export complete.",
)
@click.option(
    "--prefix-check",
    type=click.Choice(PREFIX_METHODS),
    default="auto",
    show_default=True,
    help="How --file --rpc proves the export is the chain's trail as of its final block: the ledger's head read "
    "at that block (state), the chain's later records continuing it (logs), or state where the node has it (auto).",
)
@click.option("--no-positions", is_flag=True, help="Skip the per-lender position comparison (fewer calls).")
@click.option(
    "--no-views", is_flag=True, help="Verify and replay only: no reconciliation with the contract's views and balance."
)
@click.option(
    "--follow",
    is_flag=True,
    help="After verifying, tail new blocks: verify and print each new record as it becomes final "
    "(--confirmations), through reorgs; stops at the first finding (exit 1) or on Ctrl-C.",
)
@click.option(
    "--poll",
    type=click.FloatRange(min=0.05),
    default=2.0,
    show_default=True,
    help="With --follow: seconds between two looks at the chain.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON (with --follow: one JSON object a line)."
)
def verify(
    src: Source,
    expected_head: str | None,
    prefix_check: str,
    no_positions: bool,
    no_views: bool,
    follow: bool,
    poll: float,
    as_json: bool,
) -> None:
    """Check seq, hash chain and the trusted head; replay and reconcile with the contract views.

    Exit 0: proven complete and matching; 1: findings; 3: consistent but not proven complete (an
    export checked offline: add --rpc, or --expected-head). With --follow it keeps watching: one line
    per new record, exit 1 at the first finding, 130 on Ctrl-C."""
    trusted = parse_trusted_head(expected_head) if expected_head is not None else None
    if follow:
        if src.file is not None:
            raise click.UsageError("--follow watches a live ledger: it cannot follow an export (--file)")
        if trusted is not None:
            raise click.UsageError("--follow proves each record against the ledger's own head: no --expected-head")
        w3, ledger = src.need_chain()
        from pylender.audit.cli.follow_cmd import run_follow

        run_follow(src, w3, ledger, poll=poll, views=not no_views, positions=not no_positions, as_json=as_json)
        return
    if src.file is not None:
        result = verify_file(
            src.file,
            abi_path=src.abi,
            w3=src.web3(),
            ledger=src.ledger,
            expected_head=trusted,
            confirmations=src.confirmations,
            method=prefix_check,  # type: ignore[arg-type]
        )
    else:
        w3, ledger = src.need_chain()
        result = verify_ledger(
            w3,
            ledger,
            abi=src.abi_list(),
            from_block=src.from_block or 0,
            confirmations=src.confirmations,
            index_path=src.index,
            progress=not as_json,
            compare_with_views=not no_views,
            positions=not no_positions,
            expected_head=trusted,
        )
    print_result(result, as_json)
    raise SystemExit(result.exit_code)
