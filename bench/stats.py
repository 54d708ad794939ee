"""Result types shared by the sections: repeated measurements and the goals they are judged against."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pydantic import BaseModel, Field


class Sample(BaseModel):
    """A rate measured ``runs`` times: the median is the figure, min and max show the spread."""

    name: str
    unit: str
    runs: list[float]
    items: int = Field(description="items (transactions, repayments, records) per run")
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def low(self) -> float:
        return min(self.runs)

    @property
    def high(self) -> float:
        return max(self.runs)

    def summary(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high}


class Goal(BaseModel):
    """One target from the issues, with the measured value, its reference and the verdict."""

    goal: str
    measured: str
    ratio: float | None
    target: str
    passed: bool
    section: str
    detail: str = ""


class Timer:
    """Seconds of one timed block (``perf_counter``)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def run(self) -> Iterator[Timer]:
        start = time.perf_counter()
        try:
            yield self
        finally:
            self.seconds = time.perf_counter() - start


def rate(items: int, action: Callable[[], object]) -> float:
    """Items per second of one call of ``action``."""
    timer = Timer()
    with timer.run():
        action()
    return items / timer.seconds if timer.seconds > 0 else float("inf")
