"""``pylender audit report``: the HTML report for people, verdict first."""

from __future__ import annotations

from pathlib import Path

import click

from pylender.audit.cli.group import audit
from pylender.audit.cli.inputs import writable_file
from pylender.audit.cli.output import emit_json, print_lines
from pylender.audit.cli.source import Source, root_option, source_options
from pylender.audit.export import read_export
from pylender.audit.replay import replay
from pylender.audit.report import check_zone, facts_from_chain, facts_from_export, write_report
from pylender.audit.verdict import headline
from pylender.audit.verify import audit_ledger, verify_file


@audit.command()
@source_options
@click.option("--html", "html_out", type=click.Path(path_type=Path), required=True, help="Output HTML file.")
@click.option(
    "--timezone",
    "zone",
    help="Timezone of the report's dates (an IANA name, e.g. Asia/Shanghai for a Beijing cut-off); default: "
    "pylender's --tz (or $PYLENDER_TZ), else UTC.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verification result as JSON.")
def report(src: Source, html_out: Path, zone: str | None, as_json: bool) -> None:
    """A self-contained HTML report: verdict, portfolio totals, overdue, cash flows, losses, breaches.

    Exits like `audit verify`: 0 proven complete and matching, 1 findings, 3 not proven complete."""
    if zone is None:  # the zone every other command shows dates in (`pylender --tz Asia/Shanghai audit report`)
        root_zone, _ = root_option("tz")
        zone = root_zone if isinstance(root_zone, str) and root_zone else "UTC"
    writable_file(html_out, "--html")
    check_zone(zone)  # an unknown timezone is said before the audit runs
    if src.file is not None:
        result = verify_file(src.file, abi_path=src.abi, w3=src.web3(), ledger=src.ledger)
        exp = read_export(src.file)
        records = exp.records
        facts = facts_from_export(exp, result, f"export {src.file}", zone)
        write_report(html_out, result, records, replay(sorted(records, key=lambda r: r.seq))[0], None, facts)
    else:
        w3, ledger = src.need_chain()
        run = audit_ledger(
            w3,
            ledger,
            abi=src.abi_list(),
            from_block=src.from_block or 0,
            confirmations=src.confirmations,
            index_path=src.index,
            progress=not as_json,
        )
        result = run.result
        facts = facts_from_chain(w3, ledger, run.records, result, zone)
        write_report(html_out, result, run.records, run.books, run.views, facts)
    if as_json:
        emit_json({"report": str(html_out), **result.to_json_dict()})
    else:
        print_lines([f"wrote {html_out}", headline(result) + f" (exit {result.exit_code})"])
    raise SystemExit(result.exit_code)
