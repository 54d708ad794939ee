"""Days and their cut-off blocks: the last block whose timestamp is before midnight in a timezone.

A day ``D`` in timezone ``tz`` runs from midnight at its start (inclusive) to the next midnight (exclusive). Its
cut-off block is the last block with a timestamp strictly before that next midnight, found by binary search over
block timestamps: the balances at the cut-off are the day's closing balances, and the movements of ``D`` are those
in the blocks after the previous day's cut-off up to its own. Block timestamps never decrease along the chain, so
a block's date and the cut-offs always agree.

:class:`BlockClock` keeps every timestamp it has read and searches all the midnights of a statement at once: each
round asks the node for the middle block of every interval still open, in one JSON-RPC batch, so a year of days
costs about as many round trips as one binary search (about 20), not 365 times that.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from pylender.audit.rpc import Rpc
from pylender.errors import CutoffNotFound, InvalidPeriod, InvalidZone

log = logging.getLogger(__name__)


def parse_zone(name: str) -> tzinfo:
    """The IANA timezone ``name`` (``UTC``, ``Asia/Shanghai``); :class:`InvalidZone` when there is none."""
    if name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidZone(f"unknown timezone {name!r} (an IANA name such as Asia/Shanghai, or UTC)") from exc


def parse_day(text: str | date, what: str = "date") -> date:
    """An ISO date (``2026-03-31``); :class:`InvalidPeriod` when it is not one."""
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise InvalidPeriod(f"{what} {text!r} is not a date: write it YYYY-MM-DD (e.g. 2026-03-31)") from None


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def midnight(day: date, zone: tzinfo) -> int:
    """The unix time at which ``day`` begins in ``zone`` (its 00:00)."""
    return int(datetime.combine(day, time(0), tzinfo=zone).timestamp())


def local_day(timestamp: int, zone: tzinfo) -> date:
    """The date of a unix time in ``zone``."""
    return datetime.fromtimestamp(timestamp, zone).date()


def local_time(timestamp: int, zone: tzinfo) -> tuple[str, str]:
    """(``YYYY-MM-DD``, ``HH:MM:SS``) of a unix time in ``zone``."""
    when = datetime.fromtimestamp(timestamp, zone)
    return when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S")


class BlockClock:
    """Block timestamps up to the ``last`` block, read from a node (``rpc``) and cached, or only those given
    (``known``, an export's block times) when there is no node.

    Without a node a cut-off is the last *known* block before midnight: the balances there are the same as at
    the true cut-off (no record lies between them), but its number is not the chain's last block of the day
    (:attr:`exact` says which)."""

    def __init__(self, rpc: Rpc | None, last: int, known: Mapping[int, int] | None = None) -> None:
        self.rpc = rpc
        self.last = last
        self.times: dict[int, int] = {b: t for b, t in (known or {}).items() if b <= last}
        self.reads = 0  # blocks read from the node

    @property
    def exact(self) -> bool:
        return self.rpc is not None

    def fetch(self, blocks: Iterable[int]) -> dict[int, int]:
        """The timestamps of ``blocks`` (read from the node where not cached)."""
        wanted = sorted({b for b in blocks if 0 <= b <= self.last})
        missing = [b for b in wanted if b not in self.times]
        if missing and self.rpc is not None:
            found = self.rpc.blocks(missing)
            self.reads += len(missing)
            for number in missing:
                block = found.get(number)
                if block is None or "timestamp" not in block:
                    raise CutoffNotFound(f"the node has no block {number} (or no timestamp for it)")
                self.times[number] = int(str(block["timestamp"]), 16)
        return {b: self.times[b] for b in wanted if b in self.times}

    def time_of(self, block: int) -> int | None:
        if block not in self.times and self.rpc is not None:
            self.fetch([block])
        return self.times.get(block)

    def cutoffs(self, instants: Sequence[int]) -> dict[int, int]:
        """For each unix time in ``instants``, the last block (≤ ``last``) whose timestamp is before it;
        −1 when even block 0 is not.

        All instants are searched together: each round narrows every open interval by its middle block, the
        middles read in one batch; blocks already known (the records' own, earlier rounds') narrow them too."""
        wanted = sorted(set(instants))
        if self.rpc is not None:
            self.fetch([self.last])
        lo: dict[int, int] = {}
        hi: dict[int, int] = {}
        while True:
            blocks = sorted(self.times)
            stamps = [self.times[b] for b in blocks]
            self._check_monotone(blocks, stamps)
            probes: set[int] = set()
            for instant in wanted:
                i = bisect.bisect_left(stamps, instant)  # blocks[i - 1] is before the instant, blocks[i] is not
                lo[instant] = blocks[i - 1] if i > 0 else -1
                hi[instant] = blocks[i] if i < len(blocks) else self.last + 1
                if hi[instant] - lo[instant] > 1 and self.rpc is not None:
                    probes.add((lo[instant] + hi[instant]) // 2)
            if not probes:
                break
            self.fetch(probes)
        return {instant: lo[instant] for instant in wanted}

    @staticmethod
    def _check_monotone(blocks: Sequence[int], stamps: Sequence[int]) -> None:
        for i in range(1, len(stamps)):
            if stamps[i] < stamps[i - 1]:
                raise CutoffNotFound(
                    f"block {blocks[i]} has an earlier timestamp ({stamps[i]}) than block {blocks[i - 1]} "
                    f"({stamps[i - 1]}): the node's block times go backwards, no cut-off can be searched"
                )
