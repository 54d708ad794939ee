"""``accountOf`` at every cut-off block: the contract's own balances where each day ends, compared with the
statement's. A difference is a finding; a node that cannot answer at a block (historical state pruned) is noted,
and the statement says at how many cut-offs the views were compared."""

from __future__ import annotations

from pylender.audit.findings import Finding
from pylender.audit.rpc import Rpc
from pylender.audit.views import LedgerViews
from pylender.statements.components import BALANCE_NAMES
from pylender.statements.statement import Balances, DailyStatement
from pylender.statements.trail import DrawnTrail

VIEW_BATCH = 200  # eth_calls per JSON-RPC batch


def compare_views(statement: DailyStatement, trail: DrawnTrail, rpc: Rpc) -> None:
    """Read ``accountOf`` at every cut-off block (opening included) and compare it with the statement."""
    assert trail.w3 is not None and trail.ledger is not None
    inst = statement.institution
    views = LedgerViews(trail.w3, trail.ledger, trail.abi or [], "latest")
    fn = views.function("accountOf")
    wanted: dict[int, str] = {}
    points = [(statement.opening_block, statement.opening, None)] + [
        (d.cutoff_block, d.closing, d) for d in statement.days
    ]
    for block, _, _ in points:
        address = inst.address_at(block)
        if address is not None:  # before its registration every balance is 0 by definition
            wanted[block] = address
    found: dict[int, Balances] = {}
    refused: list[str] = []
    blocks = sorted(wanted)
    for i in range(0, len(blocks), VIEW_BATCH):
        part = blocks[i : i + VIEW_BATCH]
        requests = [("eth_call", [{"to": trail.ledger, "data": fn.calldata([wanted[b]])}, hex(b)]) for b in part]
        for block, reply in zip(part, rpc.batch(requests), strict=True):
            result = reply.get("result") if isinstance(reply, dict) else None
            if not isinstance(result, str) or len(result) < 2 + 64 * 6:
                error = reply.get("error") if isinstance(reply, dict) else reply
                refused.append(f"block {block}: {str(error)[:160]}")
                continue
            value = fn.result(bytes.fromhex(result[2:]))
            found[block] = tuple(int(value[name]) for name in BALANCE_NAMES)  # type: ignore[assignment]
    views.close()
    compared = 0
    for block, balances, day in points:
        if block not in wanted:
            continue
        seen = found.get(block)
        if seen is None:
            continue
        compared += 1
        if day is None:
            statement.opening_views = seen
        else:
            day.views = seen
        for name, mine, theirs in zip(BALANCE_NAMES, balances, seen, strict=True):
            if mine != theirs:
                when = f"the opening cut-off of {statement.date_from}" if day is None else f"the {day.date} cut-off"
                statement.findings.append(
                    Finding(
                        check="view",
                        subject=f"institution {inst.index} {wanted[block]} at block {block} ({when})",
                        field=name,
                        expected=str(theirs),
                        found=str(mine),
                        detail="accountOf at the cut-off block ≠ the statement's balance",
                    )
                )
    statement.views_compared = compared
    if refused:
        statement.notes.append(
            f"the node did not answer accountOf at {len(refused)} cut-off block(s) (historical state pruned?): "
            + "; ".join(refused[:3])
        )
