"""Token amounts: the one parser from what a person writes (``"1.5"`` tokens) to base units, and back for display.

The SDK (:meth:`pylender.client.ledger.Ledger.units`), the command line and the scenario files all parse amounts
here, so they accept and refuse the same things: a decimal number of tokens (or of base units) that is not
negative and has no more decimals than the token. Nothing is ever floored, rounded or clamped: an amount the
token cannot hold exactly is an :class:`~pylender.errors.InvalidAmount`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from pylender.errors import InvalidAmount

Amount = int | str | Decimal | float


def to_base_units(
    value: Amount, decimals: int, *, base_units: bool = False, positive: bool = False, what: str = "the amount"
) -> int:
    """``value`` tokens (or base units with ``base_units``) as an integer number of base units.

    ``to_base_units("1.5", 6) == 1_500_000``. Raises :class:`InvalidAmount` for a negative value (or zero with
    ``positive``), for anything that is not a finite number, and for more decimals than the token has
    (``"1.2345678"`` with 6 decimals) - never a silent floor. A float is read as the shortest decimal that prints
    it (``0.1`` is ``"0.1"``). ``what`` names the value in the message (``AMOUNT``, ``--principal``).
    """
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal, float)):
        raise InvalidAmount(f"{what} must be a number, got {value!r}")
    text = str(value).strip().replace("_", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidAmount(f"{what} must be a number, got {str(value)!r}") from None
    if not number.is_finite():
        raise InvalidAmount(f"{what} must be a finite number, got {value}")
    if number < 0 or (positive and number == 0):
        raise InvalidAmount(f"{what} must be {'positive' if positive else 'zero or more'}, got {value}")
    scaled = number if base_units else number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        if base_units:
            raise InvalidAmount(f"{what} must be a whole number of base units, got {value}")
        raise InvalidAmount(f"{what} has more decimals than the token's {decimals}: {value}")
    return int(scaled)


def format_units(amount: int, decimals: int) -> str:
    """``amount`` base units as tokens with every decimal and thousands separators (``1,065.262883``)."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    return f"{sign}{whole:,}" + (f".{frac:0{decimals}d}" if decimals else "")


__all__ = ["Amount", "format_units", "to_base_units"]
