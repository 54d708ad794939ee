"""``pylender audit pool POOL``: a loan pool's own trail (docs/ledger-spec.md, "Loan pools"): its hash chain up to
the pool's head, its replay (every distribution's figures, every claim, ``state()``), and its collections tied to
the ledger's payments to it; ``--trace`` follows the units from the loans' repayments to the investors' claims."""

from __future__ import annotations

import click

from pylender.audit.cli.group import audit
from pylender.audit.cli.output import emit_json, print_lines
from pylender.audit.cli.source import Source, source_options


@audit.command("pool")
@source_options
@click.argument("pool_address", metavar="POOL")
@click.option("--trace", is_flag=True, help="Also list, per record, where its units came from and went.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def pool_cmd(src: Source, pool_address: str, trace: bool, as_json: bool) -> None:
    """Verify and replay POOL's trail; exit 0 when it is complete, untampered and ties to the ledger, 1 if not."""
    from pylender.audit.pool import trace_pool, verify_pool
    from pylender.audit.probe import checksum_address

    pool = checksum_address(pool_address, "POOL")
    w3, ledger = src.need_chain()
    result = verify_pool(w3, pool, from_block=src.from_block or 0, confirmations=src.confirmations)
    traced = []
    if trace:
        from pylender.audit.verify import audit_ledger

        run = audit_ledger(w3, ledger, from_block=src.from_block or 0, confirmations=src.confirmations)
        traced = trace_pool(result.records, run.books.flows, result.pool)
    if as_json:
        emit_json(
            {
                "ok": result.ok,
                "pool": result.pool,
                "ledger": result.ledger,
                "final_block": result.final_block,
                "records": len(result.records),
                "computed_head": result.computed_head,
                "onchain_head": result.onchain_head,
                "collected": result.model.collected if result.model else 0,
                "withdrawn_by_ledger": result.withdrawn_by_ledger,
                "findings": [f.describe() for f in result.findings],
                "trace": [{**t, "fields": {k: str(v) for k, v in t["fields"].items()}} for t in traced],
            }
        )
    else:
        lines = result.describe()
        for t in traced:
            f = t["fields"]
            lines.append(f"seq {t['seq']} block {t['block']} {t['kind']}")
            if t["kind"] == "Distributed":
                lines.append(
                    f"    collected {int(f['collected']):,}: senior {int(f['seniorInterest']):,} interest + "
                    f"{int(f['seniorPrincipal']):,} principal, junior {int(f['juniorPrincipal']):,} principal + "
                    f"{int(f['juniorResidual']):,} residual"
                )
                lines += [f"    <- loan {c['loan_id']} {c['component']} {c['amount']:,}" for c in t["from_loans"]]
            elif t["kind"] in ("Claimed", "PoolSubscribed"):
                cls = "senior" if int(f["cls"]) == 0 else "junior"
                lines.append(f"    {f['investor']} {cls} {int(f['amount']):,}")
            elif t["kind"] == "PositionBought":
                lines.append(f"    loan {f['loanId']} {f['shareBps']} bps for {int(f['price']):,}")
        print_lines(lines)
    if not result.ok:
        raise SystemExit(1)
