"""Each bench section in an interpreter of its own.

A section's timings must not depend on what an earlier section left behind. A fresh chain per section
(:class:`bench.chain.BenchChain`) covers the node; this covers the Python process: measured in one process,
the 10,000-record audit ran about 15 % slower relative to raw ``eth_getLogs`` after the gas section (whose
10,000 loans grow and fragment the heap to about 240 MB) than alone: 0.53-0.56 against 0.65. :func:`run_isolated`
runs a section's ``measure_*`` in a spawned process and hands its progress ticks and its result back.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable
from typing import Any

Tick = Callable[[str], None]
POLL_SECONDS = 1.0


def _child(out: Any, measure: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result = measure(*args, lambda step: out.put(("tick", step)))
    except BaseException:  # reported to the parent, which raises it
        out.put(("error", traceback.format_exc()))
    else:
        out.put(("done", result))


def run_isolated(measure: Callable[..., Any], *args: Any, tick: Tick) -> Any:
    """``measure(*args, tick)`` in a spawned interpreter; its ticks reach ``tick`` here, its result (a pydantic
    model: picklable) is returned, and an exception there is a :class:`RuntimeError` here with its traceback."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_child, args=(out, measure, args), name=f"bench {measure.__name__}")
    process.start()
    try:
        while True:
            try:
                kind, value = out.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(f"{measure.__name__} ended (exit {process.exitcode}) without a result") from None
                continue
            if kind == "tick":
                tick(value)
            elif kind == "error":
                raise RuntimeError(f"{measure.__name__} failed in its own process:\n{value}")
            else:
                return value
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
