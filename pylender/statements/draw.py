"""Draw a statement: the trail (:mod:`.trail`), the institution's movements (:mod:`.movements`), the days and
their cut-off blocks (:mod:`.cutoff`), the balances, and ``accountOf`` at every cut-off (:mod:`.cutoff_views`).

Balances come from the replay of the verified trail; the statement reads the contract's views at the cut-offs to
show that the contract agrees, and names every difference as a finding.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from web3 import Web3

from pylender.audit.probe import checksum_address
from pylender.audit.rpc import Rpc
from pylender.errors import InstitutionNotInTrail, InvalidAddress, InvalidPeriod
from pylender.statements.components import STATEMENT_COMPONENTS
from pylender.statements.cutoff import (
    BlockClock,
    days_between,
    local_day,
    midnight,
    parse_day,
    parse_zone,
)
from pylender.statements.cutoff_views import compare_views
from pylender.statements.movements import (
    Institution,
    Movement,
    dated_rows,
    institution_movements,
    institutions,
    loan_refs,
)
from pylender.statements.statement import Balances, DailyStatement, StatementDay, effect
from pylender.statements.trail import DrawnTrail, open_trail

log = logging.getLogger(__name__)


def find_institution(known: dict[int, Institution], text: str | int) -> Institution:
    """The institution ``text`` names: its index (``1``), registered name (any case) or an address it has had."""
    listing = ", ".join(f"{i.index} {i.name} {i.address}" for i in known.values()) or "none registered"
    if isinstance(text, int) or str(text).strip().isdigit():
        index = int(text)
        if index in known:
            return known[index]
        raise InstitutionNotInTrail(f"no institution {index} in the trail (institutions: {listing})")
    value = str(text).strip()
    if value[:2].lower() == "0x":
        try:
            address = checksum_address(value, "institution")
        except InvalidAddress as exc:
            raise InstitutionNotInTrail(str(exc)) from None
        for inst in known.values():
            if address in inst.addresses:
                return inst
        raise InstitutionNotInTrail(f"{address} is not an institution in the trail (institutions: {listing})")
    named = [i for i in known.values() if i.name.casefold() == value.casefold()]
    if len(named) == 1:
        return named[0]
    if named:
        options = ", ".join(f"{i.index} ({i.address})" for i in named)
        raise InstitutionNotInTrail(f"{len(named)} institutions are named {value!r}: give the index: {options}")
    raise InstitutionNotInTrail(
        f"{text!r} is neither an institution index, a name nor an address in the trail (institutions: {listing})"
    )


# ------------------------------------------------------------------------------------------------ drawing


def draw_statement(
    w3: Web3 | None,
    ledger: str | None,
    institution: str | int,
    date_from: str | date,
    date_to: str | date,
    *,
    tz: str = "UTC",
    file: str | Path | None = None,
    abi: list[dict[str, Any]] | None = None,
    abi_path: str | Path | None = None,
    from_block: int = 0,
    confirmations: int = 0,
    index_path: str | Path | None = None,
    expected_head: int | None = None,
    check_views: bool = True,
    progress: bool = False,
) -> DailyStatement:
    """The statement of ``institution`` (index, name or address) from ``date_from`` to ``date_to`` (ISO dates,
    both included) in timezone ``tz``, drawn from the ledger at ``ledger`` on ``w3`` (its trail fetched, indexed
    at ``index_path``, proved against its ``auditHead`` and replayed), or from the export ``file`` (offline
    unless ``w3`` is given too)."""
    parse_zone(tz)  # bad input is said before the trail is read
    first, last = _period(date_from, date_to)
    trail = open_trail(
        w3,
        ledger,
        what="a statement",
        file=file,
        abi=abi,
        abi_path=abi_path,
        expected_head=expected_head,
        from_block=from_block,
        confirmations=confirmations,
        index_path=index_path,
        progress=progress,
    )
    return statement_of(trail, institution, first, last, tz=tz, check_views=check_views)


def _period(date_from: str | date, date_to: str | date) -> tuple[date, date]:
    first, last = parse_day(date_from, "--from"), parse_day(date_to, "--to")
    if first > last:
        raise InvalidPeriod(f"--from {first} is after --to {last}")
    return first, last


def statement_of(
    trail: DrawnTrail,
    institution: str | int,
    date_from: str | date,
    date_to: str | date,
    *,
    tz: str = "UTC",
    check_views: bool = True,
) -> DailyStatement:
    """The statement of ``institution`` over the period, drawn from ``trail``."""
    zone = parse_zone(tz)
    first, last = _period(date_from, date_to)
    inst = find_institution(institutions(trail.records), institution)
    moves = institution_movements(trail.records, trail.books, inst.index)
    rpc = Rpc(trail.w3) if trail.on_chain and trail.w3 is not None else None
    try:
        return _assemble(trail, inst, moves, first, last, zone, tz, rpc, check_views)
    finally:
        if rpc is not None:
            rpc.close()


def _assemble(
    trail: DrawnTrail,
    inst: Institution,
    moves: Sequence[Movement],
    first: date,
    last: date,
    zone: Any,
    tz: str,
    rpc: Rpc | None,
    check_views: bool,
) -> DailyStatement:
    notes: list[str] = []
    final = trail.final_block if trail.final_block is not None else (moves[-1].block if moves else 0)
    clock = BlockClock(rpc, final, trail.block_times)
    final_time = clock.time_of(final)
    if final_time is None and clock.times:
        final_time = clock.times[max(clock.times)]
    if final_time is not None:
        final_day = local_day(final_time, zone)
        if first > final_day:
            raise InvalidPeriod(
                f"--from {first} is after the trail's last block {final} ({final_day} in {tz}): nothing to state yet"
            )
        if last > final_day:
            notes.append(f"the days after {final_day} ({tz}) have not begun at block {final}: the statement ends there")
            last = final_day
    days = days_between(first, last)
    instants = [midnight(d, zone) for d in [*days, last + timedelta(days=1)]]
    cut = clock.cutoffs(instants)
    opening_block = cut[instants[0]]
    if not clock.exact:
        notes.append(
            "no node to search block times: each cut-off is the last block known to hold records before midnight "
            "(the balances are those of the true cut-off; its block number may be lower)"
        )
    closing_block = cut[instants[-1]]
    # the movements of the period, with their blocks' dates and times
    in_period = [m for m in moves if opening_block < m[1] <= closing_block]  # m[1]: its block
    clock.fetch({m[1] for m in in_period})
    refs = loan_refs(trail.books)
    rows, sums = dated_rows(in_period, refs, clock.times, zone)
    before: dict[str, int] = {}
    for m in moves:
        if m.block > opening_block:
            break
        before[m.component] = before.get(m.component, 0) + m.amount
    opening = effect(before)
    out_days: list[StatementDay] = []
    balance = opening
    dated = 0
    no_movements: tuple[dict[str, int], int] = ({}, 0)
    for day, end in zip(days, instants[1:], strict=True):
        iso = day.isoformat()
        subtotals, count = sums.get(iso, no_movements)
        dated += count
        change = effect(subtotals)
        closing: Balances = (
            balance[0] + change[0], balance[1] + change[1], balance[2] + change[2], balance[3] + change[3]
        )  # fmt: skip
        block = cut[end]
        complete = final_time is not None and final_time >= end
        ordered = {c: subtotals[c] for c in STATEMENT_COMPONENTS if c in subtotals}
        out_days.append(StatementDay(iso, block, clock.times.get(block), complete, balance, closing, ordered, count))
        balance = closing
    if dated != len(rows):  # a movement whose block time is unknown or outside its cut-offs: never silently lost
        notes.append(f"{len(rows) - dated} movement(s) could not be dated within the period's cut-offs")
    if not all(d.complete for d in out_days):
        open_day = next(d for d in out_days if not d.complete)
        notes.append(
            f"{open_day.date} has not ended at block {final}: its closing balance is as of that block, not a cut-off"
        )
    statement = DailyStatement(
        institution=inst,
        ledger=trail.ledger,
        chain_id=trail.chain_id,
        token=trail.token,
        symbol=trail.symbol,
        decimals=trail.decimals,
        zone=tz,
        date_from=first,
        date_to=last,
        rows=rows,
        days=out_days,
        opening_block=opening_block,
        opening=opening,
        verification=trail.result,
        final_block=final,
        final_time=final_time,
        source=trail.source,
        cutoffs_exact=clock.exact,
        notes=notes + list(trail.result.notes),
        loans=refs,
    )
    if check_views and rpc is not None and trail.ledger is not None and trail.w3 is not None:
        compare_views(statement, trail, rpc)
    elif check_views:
        statement.notes.append("accountOf was not read at the cut-offs: no node (an export read offline)")
    return statement


def statement(
    w3: Web3 | None,
    ledger: str | None,
    institution: str | int,
    date_from: str | date,
    date_to: str | date,
    *,
    tz: str = "UTC",
    **options: Any,
) -> Any:
    """:func:`draw_statement` as a pandas DataFrame of its movements (the ``[frames]`` extra): one row per
    movement, amounts exact (``amount`` a Decimal of token units, ``amount_base_units`` an integer), each
    balance's change beside it; ``frame.attrs["statement"]`` is the header (institution, period, opening and
    closing balances, what it may be relied on for)."""
    from pylender.statements.frames import pandas

    pandas()  # the extra is asked for before the trail is read
    return draw_statement(w3, ledger, institution, date_from, date_to, tz=tz, **options).frame()
