"""How the audit commands print: never cut short, JSON when asked, one named error line when something fails.

Evidence is copied from these outputs into working papers, so nothing is abbreviated: on a terminal,
table cells that do not fit fold onto the next line (no "…"); piped or redirected, lines are as wide
as their content. Every command takes ``--json``.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from pylender.audit.findings import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE
from pylender.errors import PylenderError

F = TypeVar("F", bound=Callable[..., Any])
UNBOUNDED = 100_000  # columns of a console that is not a terminal: lines are as wide as their content


def console(err: bool = False) -> Console:
    """A console that never truncates: the terminal's width (cells fold) or, piped, unbounded."""
    stream = sys.stderr if err else sys.stdout
    tty = stream.isatty()
    return Console(
        stderr=err,
        width=None if tty else UNBOUNDED,
        soft_wrap=True,
        highlight=False,
        emoji=False,
        force_terminal=None if tty else False,
    )


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], right: Iterable[str] = ()) -> Table:
    """A table whose cells fold rather than being cut (``right``: the right-aligned columns)."""
    aligned = set(right)
    out = Table(title=title, title_justify="left", show_lines=False)
    for name in columns:
        out.add_column(name, justify="right" if name in aligned else "left", overflow="fold")
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    return out


def print_lines(lines: Iterable[str]) -> None:
    out = console()
    for line in lines:
        out.print(line, markup=False, highlight=False)


def emit_json(data: Any) -> None:
    """JSON on stdout: every number exact (integers as integers, never floats)."""
    click.echo(json.dumps(data, indent=1, default=str))


def fail(message: str, code: int) -> None:
    """One line on stderr and exit ``code``: the whole of an error's report."""
    console(err=True).print(f"Error: {message}", markup=False, highlight=False)
    sys.exit(code)


def named_error_code(exc: PylenderError) -> int:
    """Bad input (an error that is also a ``ValueError``) exits 2; an audit that could not run exits 4."""
    return EXIT_USAGE if isinstance(exc, ValueError) else EXIT_ERROR


def _debugging() -> bool:
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def guarded(fn: F) -> F:
    """Run an audit command so that no exception escapes as a traceback.

    A pylender error prints its class and message (exit 2 for bad input, 4 otherwise); a file the
    command cannot read or write says which and why (exit 2); Ctrl-C stops with exit 130; anything
    unexpected is named in one line (exit 4; ``pylender -vv audit ...`` shows the traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except PylenderError as exc:
            fail(f"{type(exc).__name__}: {exc}", named_error_code(exc))
        except KeyboardInterrupt:
            fail("interrupted", EXIT_INTERRUPTED)
        except OSError as exc:
            where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
            fail(f"{type(exc).__name__}:{where} {exc.strerror or exc}", EXIT_USAGE)
        except Exception as exc:
            if _debugging():
                raise
            fail(f"unexpected {type(exc).__name__}: {exc} (run `pylender -vv audit ...` for the traceback)", EXIT_ERROR)
        return None

    return wrapper  # type: ignore[return-value]
