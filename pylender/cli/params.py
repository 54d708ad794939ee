"""The command line's parameter types and its command classes: every bad value is refused naming the option and
the rule (``--rate must be ≤ 10000 bps, got 20000``), and a negative number is a value, not an unknown option
(``loan repay 1 -5`` says the amount must be positive, not "No such option: -5")."""

from __future__ import annotations

import re
from typing import Any

import click
from click.parser import OptionParser, ParsingState

from pylender.values import BPS

NEGATIVE = re.compile(r"-\d[\d.,_]*[A-Za-z]*")
"""A token that looks like a negative number (``-5``, ``-1.5``, ``-3d``): an argument, never an option."""


class OptionError(click.UsageError):
    """Bad input for one option or argument: the message names it and says what it must be (exit code 2)."""


def name_of(param: click.Parameter | None, fallback: str = "the value") -> str:
    """How the user wrote ``param``: ``--rate`` for an option, ``AMOUNT`` for an argument."""
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    if isinstance(param, click.Argument):
        return param.human_readable_name
    return fallback


class _Parser(OptionParser):
    def _process_opts(self, arg: str, state: ParsingState) -> None:
        if NEGATIVE.fullmatch(arg) and arg not in self._short_opt and arg not in self._long_opt:
            state.largs.append(arg)  # a negative number: the parameter's own check refuses it by name
            return
        super()._process_opts(arg, state)


class Command(click.Command):
    """A command whose parser passes negative numbers through as values."""

    def make_parser(self, ctx: click.Context) -> OptionParser:
        parser = _Parser(ctx)
        for param in self.get_params(ctx):
            param.add_to_parser(parser, ctx)
        return parser


class Group(click.Group):
    """A group whose commands (and sub-groups) are :class:`Command` and :class:`Group`."""

    command_class = Command
    group_class = type


class IntIn(click.ParamType):
    """An integer in ``[low, high]``; ``unit`` names what it counts (``bps``) in the message."""

    name = "integer"

    def __init__(self, low: int, high: int, unit: str = "") -> None:
        self.low, self.high, self.unit = low, high, unit

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip().replace("_", "")
            if not re.fullmatch(r"[+-]?\d+", text):
                kind = f"a whole number of {self.unit}" if self.unit else "a whole number"
                raise OptionError(f"{name_of(param)} must be {kind}, got {value!r}")
            number = int(text)
        unit = f" {self.unit}" if self.unit else ""
        if number < self.low:
            raise OptionError(f"{name_of(param)} must be ≥ {self.low}{unit}, got {number}")
        if number > self.high:
            raise OptionError(f"{name_of(param)} must be ≤ {self.high}{unit}, got {number}")
        return number


def bps(high: int = BPS) -> IntIn:
    """Basis points from 0 to ``high`` (10,000 = 100 %)."""
    return IntIn(0, high, "bps")


LOAN_ID = IntIn(1, 2**256 - 1)
"""A loan id (ids start at 1)."""

OFFER_ID = IntIn(1, 2**256 - 1)
"""An offer id (ids start at 1)."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(w|d|h|m|s)")
_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


class Duration(click.ParamType):
    """A length of time: ``30d``, ``12h``, ``90m``, ``45s``, ``1w``, combined (``1d12h``), or bare seconds."""

    name = "duration"

    def __init__(self, allow_zero: bool = False) -> None:
        self.allow_zero = allow_zero

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            seconds = value
        else:
            text = str(value).strip().lower().replace(" ", "")
            if text.startswith("-") and (text[1:].isdigit() or _DURATION.sub("", text[1:]) == ""):
                raise OptionError(f"{name_of(param)} must be a positive duration, got {value!r}")
            if text.isdigit():
                seconds = int(text)
            elif text and _DURATION.sub("", text) == "":
                total = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text))
                if total != int(total):
                    raise OptionError(f"{name_of(param)} must be a whole number of seconds, got {value!r}")
                seconds = int(total)
            else:
                raise OptionError(
                    f"{name_of(param)} must be a duration such as 30d, 12h, 90m, 45s or 1d12h, got {value!r}"
                )
        if seconds < 0 or (seconds == 0 and not self.allow_zero):
            raise OptionError(f"{name_of(param)} must be a positive duration, got {value!r}")
        return seconds


class Days(click.ParamType):
    """A number of days (``30``, ``0.5``), in seconds; whole seconds only."""

    name = "days"

    def __init__(self, allow_zero: bool = True) -> None:
        self.allow_zero = allow_zero

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            days = float(str(value).strip())
        except ValueError:
            raise OptionError(f"{name_of(param)} must be a number of days, got {value!r}") from None
        seconds = days * 86_400
        if not days == days or days in (float("inf"), float("-inf")) or seconds != int(seconds):
            raise OptionError(f"{name_of(param)} must be a whole number of seconds in days, got {value!r}")
        if seconds < 0 or (seconds == 0 and not self.allow_zero):
            raise OptionError(f"{name_of(param)} must be {'≥' if self.allow_zero else '>'} 0 days, got {value!r}")
        if seconds >= 2**32:
            raise OptionError(f"{name_of(param)} must be less than {(2**32 - 1) // 86_400:,} days, got {value!r}")
        return int(seconds)


__all__ = ["LOAN_ID", "Command", "Days", "Duration", "Group", "IntIn", "OptionError", "bps", "name_of"]
