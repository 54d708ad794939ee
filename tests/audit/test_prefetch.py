"""ViewPrefetch: the views the records name are read while the records still arrive, each once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pylender.audit.prefetch import FLUSH_CALLS, HEAD, ViewPrefetch
from pylender.audit.records import Record
from pylender.audit.replay import LENDER_ROLE

BANK = "0x" + "b" * 40
PLATFORM = "0x" + "c" * 40
HEAD_HEX = "0x" + "00" * 24 + "0000000000000007"


class FakeViews:
    """Answers every view with its own key; remembers each ``call_many`` and the thread it ran on."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []
        self.threads: set[str] = set()

    def call_many(self, calls: list[Any]) -> list[Any]:
        self.batches.append(list(calls))
        self.threads.add(threading.current_thread().name)
        return [repr(c) for c in calls]

    def head_value(self, value: str) -> int:
        return int(value, 16)


def _originated(loan_id: int, seq: int) -> Record:
    tranches = [{"lender": BANK, "shareBps": 7_000}, {"lender": PLATFORM, "shareBps": 3_000}]
    return Record(seq, "LoanOriginated", loan_id, {"loanId": loan_id, "tranches": tranches}, seq, 1, "0x", 0)


@pytest.fixture
def views() -> FakeViews:
    return FakeViews()


def _ledger_views(views: object) -> dict[Any, Any]:
    return {HEAD: HEAD_HEX, ("token", ()): "t"}


def test_a_lens_calls_worth_of_positions_is_read_before_the_records_end(views: FakeViews) -> None:
    loans = FLUSH_CALLS // 2  # two positions each: exactly one flush's worth
    reader = ViewPrefetch(views, ledger_views=_ledger_views)  # type: ignore[arg-type]
    try:
        reader.feed([_originated(i, i) for i in range(1, loans + 1)])
        reader._reads[0].result(timeout=5)  # read without waiting for cache()
        assert views.batches == [
            [("positionOf", (i, lender)) for i in range(1, loans + 1) for lender in (BANK, PLATFORM)]
        ]
        assert views.threads == {"audit-views_0"}
        extra = Record(loans + 1, "InstitutionRegistered", None, {"account": BANK}, 0, 1, "0x", 0)
        reader.feed([_originated(1, 1), extra])  # loan 1 again: its positions are not asked twice
        assert reader.head() == 7
        cache = reader.cache()
    finally:
        reader.close()
    assert views.batches[1:] == [[("hasRole", (LENDER_ROLE, BANK))]]
    assert cache[("positionOf", (3, PLATFORM))] == repr(("positionOf", (3, PLATFORM)))
    assert cache[("token", ())] == "t" and len(cache) == 2 * loans + 3


def test_without_positions_only_the_roles_are_read(views: FakeViews) -> None:
    reader = ViewPrefetch(views, positions=False, ledger_views=_ledger_views)  # type: ignore[arg-type]
    try:
        grant = {"role": "0x" + "11" * 32, "account": BANK, "granted": True}
        reader.feed([_originated(1, 1), Record(2, "AccessChanged", None, grant, 0, 1, "0x", 0)])
        cache = reader.cache()
    finally:
        reader.close()
    assert views.batches == [[("hasRole", ("0x" + "11" * 32, BANK))]]
    assert set(cache) == {HEAD, ("token", ()), ("hasRole", ("0x" + "11" * 32, BANK))}


def test_a_failed_read_surfaces_in_cache(views: FakeViews) -> None:
    def refuse(calls: list[Any]) -> list[Any]:
        raise RuntimeError("node gone")

    views.call_many = refuse  # type: ignore[method-assign]
    reader = ViewPrefetch(views, ledger_views=_ledger_views)  # type: ignore[arg-type]
    try:
        reader.feed([_originated(1, 1)])
        with pytest.raises(RuntimeError, match="node gone"):
            reader.cache()
    finally:
        reader.close()
