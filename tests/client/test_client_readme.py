"""The README's Python flow runs as printed and gives the exact amounts; the client's docstring shows the same."""

from __future__ import annotations

import contextlib
import io
import textwrap
from pathlib import Path

import pylender.client.ledger
from pylender.schedule import build_schedule

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block() -> str:
    text = README.read_text()
    start = text.index("```python\n") + len("```python\n")
    return text[start : text.index("```", start)]


def test_client_docstring_shows_the_readme_block() -> None:
    doc = pylender.client.ledger.__doc__ or ""
    start = doc.index("::\n\n") + 4
    assert textwrap.dedent(doc[start : doc.index("\n\nIt prints", start)]).strip() == readme_block().strip()


def test_readme_flow_prints_the_exact_split() -> None:
    code = readme_block()
    assert len([line for line in code.splitlines() if line.strip()]) < 15  # "usable in under 15 lines"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README", "exec"), {})
    first = build_schedule(12_000 * 10**6, 1200, 30 * 86_400, 12, 0)[0]
    expected_bank = first.interest * 7000 // 10_000 + first.principal * 7000 // 10_000
    assert out.getvalue().split() == ["2", str(expected_bank)]
    assert expected_bank == 745_684_017
