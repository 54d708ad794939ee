"""Cut-offs: a day ends at its last block before midnight in the statement's timezone. Block times pinned one second
either side of Shanghai's and of UTC's midnight (anvil's ``evm_setNextBlockTimestamp``) put the same movements on
different days, and the cut-off blocks differ by exactly those blocks; the batched binary search finds every
midnight of a long period in about as many rounds as one search."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from statement_chain import account_at, anvil_or_skip

from pylender.client.session import Pylender
from pylender.errors import CutoffNotFound, InvalidPeriod, InvalidZone
from pylender.statements import draw_statement
from pylender.statements.cutoff import BlockClock, midnight, parse_day, parse_zone
from pylender.values import LoanTerms, Tranche

UNIT = 10**6


def _at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


SHANGHAI_MIDNIGHT = _at("2026-03-09T16:00:00")  # 2026-03-10 00:00 in Asia/Shanghai
UTC_MIDNIGHT = _at("2026-03-10T00:00:00")
PINNED = {  # loan -> the block time at which the bank funds its tranche of it
    1: SHANGHAI_MIDNIGHT - 1,
    2: SHANGHAI_MIDNIGHT,
    3: UTC_MIDNIGHT - 1,
    4: UTC_MIDNIGHT,
}


class Pinned:
    def __init__(self, session: Pylender, ledger: Any, bank: str, blocks: dict[int, int], final: int) -> None:
        self.session, self.ledger, self.bank, self.blocks, self.final = session, ledger, bank, blocks, final


@pytest.fixture(scope="module")
def pinned() -> Iterator[Pinned]:
    """Four loans; the bank funds its 700-token tranche of each at one of the PINNED times, one block each."""
    anvil_or_skip()
    with Pylender.local(timestamp=_at("2026-03-09T10:00:00"), accounts=6) as pl:
        ledger = pl.deploy()
        bank, platform, borrower = pl.account(1), pl.account(2), pl.account(5)
        ledger.register_institution(bank, "Bank", is_platform=False)
        ledger.register_institution(platform, "Platform", is_platform=True)
        ledger.mint(bank, ledger.units(10_000))
        ledger.approve(bank)
        for i in PINNED:
            terms = LoanTerms(
                borrower=borrower.address,
                borrower_id=f"borrower-{i}",
                principal=ledger.units(1_000),
                annual_rate_bps=1200,
                periods=6,
                period_seconds=30 * 86_400,
            )
            tranches = [Tranche(lender=bank.address, share_bps=7000), Tranche(lender=platform.address, share_bps=3000)]
            assert ledger.originate(terms, tranches) == i
        blocks = {}
        for loan_id, when in PINNED.items():
            pl.w3.provider.make_request("evm_setNextBlockTimestamp", [hex(when)])  # type: ignore[arg-type]
            blocks[loan_id] = ledger.fund(loan_id, bank, approve=False).block_number
            assert int(pl.w3.eth.get_block(blocks[loan_id])["timestamp"]) == when
        final = ledger.advance_to(_at("2026-03-11T12:00:00"))
        assert final == _at("2026-03-11T12:00:00")
        yield Pinned(pl, ledger, bank.address, blocks, pl.w3.eth.block_number)


@pytest.mark.slow
def test_utc_and_shanghai_cut_offs_fall_either_side_of_the_pinned_blocks(pinned: Pinned) -> None:
    w3, address = pinned.session.w3, pinned.ledger.address
    b = pinned.blocks
    utc = draw_statement(w3, address, "Bank", "2026-03-09", "2026-03-10", tz="UTC")
    shanghai = draw_statement(w3, address, "Bank", "2026-03-09", "2026-03-10", tz="Asia/Shanghai")

    # the 9th ends at 23:59:59 UTC (loan 3's block) in UTC, at 15:59:59 UTC (loan 1's) in Shanghai
    assert [d.cutoff_block for d in utc.days] == [b[3], b[4]]
    assert [d.cutoff_block for d in shanghai.days] == [b[1], b[4]]  # the next block is on the 11th in both
    assert shanghai.opening_block == utc.opening_block == -1  # both days began before the chain's first block

    def dated(s: Any) -> list[tuple[int | None, str, str]]:
        return [(r.loan_id, r.date, r.time) for r in s.rows]

    assert dated(utc) == [
        (1, "2026-03-09", "15:59:59"),
        (2, "2026-03-09", "16:00:00"),
        (3, "2026-03-09", "23:59:59"),
        (4, "2026-03-10", "00:00:00"),
    ]
    assert dated(shanghai) == [
        (1, "2026-03-09", "23:59:59"),
        (2, "2026-03-10", "00:00:00"),
        (3, "2026-03-10", "07:59:59"),
        (4, "2026-03-10", "08:00:00"),
    ]
    tranche = 700 * UNIT
    assert [(d.subtotals, d.closing) for d in utc.days] == [
        ({"funding": 3 * tranche}, (0, 0, 0, 3 * tranche)),
        ({"funding": tranche}, (0, 0, 0, 4 * tranche)),
    ]
    assert [(d.subtotals, d.closing) for d in shanghai.days] == [
        ({"funding": tranche}, (0, 0, 0, tranche)),
        ({"funding": 3 * tranche}, (0, 0, 0, 4 * tranche)),
    ]
    for s in (utc, shanghai):  # and the contract agrees at each cut-off
        assert s.views_compared == 2 and s.findings == [] and s.outcome.value == "verified"
        for day in s.days:
            assert account_at(w3, address, pinned.bank, day.cutoff_block) == day.closing


@pytest.mark.slow
def test_a_period_not_yet_begun_or_ending_later_is_said(pinned: Pinned) -> None:
    w3, address = pinned.session.w3, pinned.ledger.address
    with pytest.raises(InvalidPeriod, match="nothing to state yet"):
        draw_statement(w3, address, "Bank", "2026-03-12", "2026-03-13")
    s = draw_statement(w3, address, "Bank", "2026-03-10", "2026-03-20")
    assert s.date_to == date(2026, 3, 11) and [d.date for d in s.days] == ["2026-03-10", "2026-03-11"]
    assert not s.days[-1].complete and s.days[-1].cutoff_block == pinned.final
    assert any("have not begun" in n for n in s.notes) and any("has not ended" in n for n in s.notes)


# ---------------------------------------------------------------------------------------------- the search alone


class FakeRpc:
    """Blocks 0..n with given timestamps; counts the batches (round trips) and the blocks read."""

    def __init__(self, stamps: list[int]) -> None:
        self.stamps = stamps
        self.batches = 0

    def blocks(self, numbers: list[int]) -> dict[int, dict[str, str]]:
        self.batches += 1
        return {n: {"timestamp": hex(self.stamps[n])} for n in numbers if 0 <= n < len(self.stamps)}


def test_every_midnight_of_a_year_is_found_in_about_one_search_s_rounds() -> None:
    start = _at("2026-01-01T00:00:00")
    stamps = [start + 7 * i + (i % 5) for i in range(1_000_000 // 7 * 32)]  # ~7 s blocks over about a year
    rpc = FakeRpc(stamps)
    clock = BlockClock(rpc, len(stamps) - 1)  # type: ignore[arg-type]
    zone = parse_zone("Asia/Shanghai")
    days = [date(2026, 1, 1).toordinal() + i for i in range(365)]
    instants = [midnight(date.fromordinal(d), zone) for d in days]
    found = clock.cutoffs(instants)
    for instant, block in found.items():
        before = [i for i in range(max(block - 2, 0), block + 2) if stamps[i] < instant]
        assert block == max(before, default=-1)
        assert block == len(stamps) - 1 or stamps[block + 1] >= instant
    assert rpc.batches <= 26  # log2(4.5M blocks) ≈ 22 rounds, plus the last block and a few
    assert clock.reads < 365 * 24


def test_block_times_that_go_backwards_are_named() -> None:
    clock = BlockClock(FakeRpc([10, 20, 15, 30]), 3)  # type: ignore[arg-type]
    with pytest.raises(CutoffNotFound, match="go backwards"):
        clock.cutoffs([16, 25])


def test_bad_dates_and_zones_are_named() -> None:
    with pytest.raises(InvalidPeriod, match="YYYY-MM-DD"):
        parse_day("31/03/2026", "--from")
    with pytest.raises(InvalidZone, match="Mars/Olympus"):
        parse_zone("Mars/Olympus")
