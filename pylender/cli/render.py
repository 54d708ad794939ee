"""How the command line shows things to people: consoles, tables that never cut a value, amounts, dates, and
text from the chain made harmless.

* Text that comes from the chain (institution names, revert reasons) or from a user is never read as rich markup,
  and its control characters (escape sequences, bidirectional overrides) are removed: :func:`clean`.
* A table that does not fit the terminal is printed as one block of ``key  value`` lines per row instead of being
  squeezed: no amount, address or hash is ever cut with "…" (:func:`print_table`).
* Amounts are tokens with every decimal (:func:`amount`); dates are ISO 8601 in the ``--tz`` zone (:func:`when`).
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pylender.client.units import format_units

PIPE_WIDTH = 160
"""Columns when the output is not a terminal and ``$COLUMNS`` is not set (a file keeps wide tables whole)."""

_BIDI = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def clean(text: object) -> str:
    """``text`` without terminal escape sequences, control characters or bidirectional overrides (a tab or a newline
    becomes a space): what a name from the chain may show."""
    value = _ANSI.sub("", str(text)).translate(_BIDI)
    return "".join(" " if ch in "\t\n\r" else ch for ch in value if unicodedata.category(ch) != "Cc" or ch in "\t\n\r")


def console(err: bool = False) -> Console:
    """A console on stdout (or stderr) that never reads markup: every style is given as a :class:`Text`."""
    stream = sys.stderr if err else sys.stdout
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else (None if stream.isatty() else PIPE_WIDTH)
    return Console(file=stream, highlight=False, markup=False, emoji=False, width=width, soft_wrap=False)


def say(*parts: str | tuple[str, str]) -> None:
    """Print one line of plain parts and ``(text, style)`` pairs, every part cleaned."""
    line = Text()
    for part in parts:
        text, style = part if isinstance(part, tuple) else (part, "")
        line.append(clean(text), style=style)
    console().print(line, soft_wrap=True)  # one line, however long: the terminal wraps it, a file keeps it whole


def amount(value: int, decimals: int) -> str:
    """Base units as tokens with every decimal (``1,065.262883``)."""
    return format_units(value, decimals)


def when(timestamp: int, tz: tzinfo | None = None) -> str:
    """A Unix time as ISO 8601 in ``tz`` (UTC by default); ``-`` for 0 (no date)."""
    if timestamp <= 0:
        return "-"
    return datetime.fromtimestamp(timestamp, tz or UTC).isoformat()


def duration(seconds: int) -> str:
    """``90 days`` / ``3 h`` / ``45 s``: seconds in the largest unit that divides them."""
    for unit, size in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size:,} {unit}"
    return f"{seconds:,} s"


def _width(cell: str) -> int:
    return max((cell_len(line) for line in cell.splitlines()), default=0)


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    right: Sequence[str] = (),
    header: bool = True,
) -> None:
    """A table when it fits the console's width; otherwise each row as a block of ``column  value`` lines under its
    first cell, so that every value is shown whole (never cut with "…", never folded mid-number)."""
    out = console()
    cells = [[clean(value) for value in row] for row in rows]
    widths = [max([_width(c) if header else 0, *(_width(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    needed = sum(widths) + 3 * len(columns) + 1
    if needed <= out.width:
        table = Table(title=clean(title) or None, show_header=header, expand=False)
        for name in columns:
            table.add_column(clean(name), justify="right" if name in right else "left", no_wrap=True)
        for row in cells:
            table.add_row(*(Text(c) for c in row))
        out.print(table)
        return
    if title:
        out.print(Text(clean(title), style="bold"))
    if not header:  # key / value records
        _lines(out, [(row[0], "  ".join(row[1:])) for row in cells], indent="")
        return
    for row in cells:
        out.print(Text(f"{clean(columns[0])} {row[0]}".strip(), style="bold"))
        _lines(out, [(clean(name), value) for name, value in zip(columns[1:], row[1:], strict=True)], indent="  ")


def _lines(out: Console, pairs: Sequence[tuple[str, str]], indent: str) -> None:
    """``key  value`` lines with the keys padded to one width; a value too wide for that goes on a line of its own."""
    key_width = max((cell_len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        if len(indent) + key_width + 2 + cell_len(value) <= out.width:
            out.print(Text(f"{indent}{key}{' ' * (key_width - cell_len(key))}  {value}"))
        else:
            out.print(Text(f"{indent}{key}"))
            out.print(Text(f"{indent}  {value}"))


def print_pairs(title: str, pairs: Sequence[tuple[str, Any]]) -> None:
    """Key / value lines under a title (a record), laid out like :func:`print_table`."""
    print_table(title, ["", ""], [[k, v] for k, v in pairs], header=False)


__all__ = ["amount", "clean", "console", "duration", "print_pairs", "print_table", "say", "when"]
