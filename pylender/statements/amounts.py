"""Amounts in token units, exact both ways: base units written with every decimal (``1065.262883``), and text read
back only when it names a whole number of base units."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def units_text(amount: int, decimals: int | None) -> str:
    """``amount`` base units in token units with exactly ``decimals`` decimals, no separators (``-0.000001``);
    base units when the decimals are unknown."""
    if not decimals:
        return str(amount)
    whole, part = divmod(-amount if amount < 0 else amount, 10**decimals)
    return f"{'-' if amount < 0 else ''}{whole}.{part:0{decimals}d}"


def units_decimal(amount: int, decimals: int | None) -> Decimal:
    """``amount`` base units as an exact :class:`~decimal.Decimal` of token units."""
    return Decimal(amount).scaleb(-(decimals or 0))


def parse_units(text: str, decimals: int | None) -> int:
    """Token units as text (``1,065.262883`` or ``1065.262883``) in base units; ValueError when it is not a
    number or has more decimals than the token."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not an amount")
    units = value.scaleb(decimals or 0)
    if units != units.to_integral_value():
        raise ValueError(f"{text!r} has more decimals than the token's {decimals or 0}")
    return int(units)
