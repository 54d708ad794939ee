"""The README flow (the example in :mod:`pylender.client`'s docstring) runs and prints the exact amounts."""

from __future__ import annotations

import contextlib
import io
import textwrap

import pylender.client
from pylender.schedule import build_schedule


def readme_block() -> str:
    doc = pylender.client.__doc__ or ""
    start = doc.index("::\n\n") + 4
    end = doc.index("\n\nIt prints", start)
    return textwrap.dedent(doc[start:end])


def test_readme_flow_prints_the_exact_split() -> None:
    code = readme_block()
    assert len([line for line in code.splitlines() if line.strip()]) <= 17  # "usable in < 15 lines" + 2 imports
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README", "exec"), {})
    first = build_schedule(12_000 * 10**6, 1200, 30 * 86_400, 12, 0)[0]
    expected_bank = first.interest * 7000 // 10_000 + first.principal * 7000 // 10_000
    assert out.getvalue().split() == ["2", str(expected_bank)]
    assert expected_bank == 745_684_017
