"""Errors as the command line shows them: named, with amounts in tokens and times in ISO 8601 like the rest of the
output, and, where the ledger refused an input, the option to change and how.

``InvalidRequest: Overpayment(loanId=1, amount=999,999.000000, maxPayable=1,065.262883): at most 1,065.262883 may be
paid now ...``. With ``--json`` the same error is a JSON object: its name, category, fields in base units and the
token's decimals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any

from pylender.cli.render import amount, duration, when
from pylender.errors import ContractError, PylenderError
from pylender.values import LoanStatus, role_name

AMOUNT_FIELDS = frozenset(
    {
        "amount",
        "maxPayable",
        "exposure",
        "cap",
        "principal",
        "expected",
        "received",
        "balance",
        "allowance",
        "needed",
        "installmentAmount",
        "limit",
        "principalAmount",
        "minimum",
    }
)
"""Contract error fields that hold token amounts (shown in tokens)."""
TIME_FIELDS = frozenset({"deadline", "overdueSince", "defaultableAt"})
"""Contract error fields that hold Unix times (shown in ISO 8601)."""
DURATION_FIELDS = frozenset(
    {"periodSeconds", "minSeconds", "maxSeconds", "tenorSeconds", "capSeconds", "maxTenorSeconds"}
)
"""Contract error fields that hold lengths of time in seconds (shown as ``30 days (2,592,000 s)``)."""

Show = Callable[[str], str]
Hint = Callable[[Show, str], str | None]


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _value(key: str, value: Any, decimals: int | None, tz: tzinfo | None) -> str:
    if key in AMOUNT_FIELDS and isinstance(value, int) and decimals is not None:
        return amount(value, decimals)
    if key in TIME_FIELDS and isinstance(value, int):
        return when(value, tz)
    if key in DURATION_FIELDS and isinstance(value, int):
        return f"{duration(value)} ({value:,} s)"
    if key == "status" and isinstance(value, int) and value in LoanStatus._value2member_map_:
        return f"{value} ({LoanStatus(value).name})"
    if isinstance(value, bytes):
        return role_name(value) if "role" in key.lower() and len(value) == 32 else "0x" + value.hex()
    return str(value)


def _role_word(show: Show) -> str:
    return show("neededRole").removesuffix("_ROLE").lower().replace("_", "-")


HINTS: dict[str, Hint] = {
    "Overpayment": lambda s, cmd: (
        f"at most {s('maxPayable')} is still owed"
        if cmd.endswith("recover")
        else f"PRINCIPAL must be ≤ {s('maxPayable')}, what is outstanding after the dues"
        if cmd.endswith("prepay")
        else f"at most {s('maxPayable')} may be paid now (what is due and the next installment); --due pays exactly "
        "what is due, and more is a prepayment (`pylender loan prepay`)"
    ),
    "RateAboveCap": lambda s, _: f"--rate must be ≤ {s('capBps')} bps, the policy's cap (`pylender policy show`)",
    "EffectiveRateAboveCap": lambda s, _: (
        f"the schedule's interest, rounded up each period, charges {s('effectiveRateBps')} bps a year, above the "
        f"policy's cap of {s('capBps')} bps: lower --rate, or lengthen --period-days"
    ),
    "PeriodSecondsOutOfRange": lambda s, _: (
        f"--period-days must be from {s('minSeconds')} to {s('maxSeconds')}, the policy's bounds "
        "(`pylender policy show`)"
    ),
    "TenorAboveCap": lambda s, _: f"--periods × --period-days must be ≤ {s('capSeconds')}, the policy's maximum tenor",
    "PeriodBoundsInvalid": lambda s, _: "--min-period-seconds must be positive and ≤ --max-period-seconds",
    "RateTenorAboveLimit": lambda s, _: (
        "--max-annual-rate-bps × --max-tenor-seconds must be ≤ 100 years at 100 % (10000 bps × 100 × 365 days): "
        "lower one of them"
    ),
    "LoanRefTaken": lambda s, _: f"loan {s('loanId')} has this reference already: give another one",
    "PrepaymentBelowSchedule": lambda s, _: (
        f"PRINCIPAL must be ≥ {s('minimum')}, what the current installment still owes of principal "
        "(a prepayment accelerates the schedule, never defers it)"
    ),
    "PenaltyRateAboveCap": lambda s, _: f"--penalty-rate must be ≤ {s('capBps')} bps, the policy's cap",
    "PrincipalAboveCap": lambda s, _: f"--principal must be ≤ {s('cap')}, the policy's cap",
    "ReserveBelowMinimum": lambda s, _: f"--reserve must be ≥ {s('minBps')} bps, the policy's minimum",
    "ShareBelowMinimum": lambda s, _: (
        f"the platforms' --tranche shares must add up to ≥ {s('minBps')} bps "
        "(a platform is registered with `pylender lender add ADDRESS NAME --platform`)"
    ),
    "SharesNotWhole": lambda s, _: f"the --tranche shares must add up to 10000 bps, not {s('sum')}",
    "DuplicateLender": lambda s, _: f"give {s('lender')} one --tranche only",
    "InvalidTrancheCount": lambda s, _: "give 1 to 16 --tranche options",
    "UnknownInstitution": lambda s, _: f"register it first: `pylender lender add {s('account')} NAME`",
    "InstitutionExists": lambda s, _: f"{s('account')} is registered already (`pylender lender balance`)",
    "ExposureAboveCap": lambda s, _: f"funding would take the lender's exposure above the policy's {s('cap')}",
    "AccessControlUnauthorizedAccount": lambda s, _: (
        f"{s('account')} lacks {s('neededRole')}: sign with --from an account that holds it, or grant it "
        f"(`pylender role grant {_role_word(s)} {s('account')}`, admin)"
    ),
    "NotATrancheLender": lambda s, _: "only the loan's lenders fund it: --from one of them, or --all",
    "CancelNotAllowed": lambda s, _: "before its funding deadline only the originator may cancel a loan",
    "EnforcedPause": lambda s, _: "the ledger is paused: `pylender unpause` (pauser)",
    "ExpectedPause": lambda s, _: "the ledger is not paused",
    "NotOverdueLongEnough": lambda s, _: (
        f"it may be marked defaulted from {s('defaultableAt')} (on a local chain, `pylender chain advance DURATION` "
        "moves time)"
    ),
    "NothingDue": lambda s, _: "nothing is due now",
    "DeadlinePassed": lambda s, _: f"the funding deadline passed at {s('deadline')}: `pylender loan cancel ID`",
    "ERC20InsufficientBalance": lambda s, _: f"{s('sender')} holds {s('balance')} and needs {s('needed')}",
    "ERC20InsufficientAllowance": lambda s, _: (
        f"the ledger may pull {s('allowance')} of the {s('needed')} needed: approve it, or drop --no-approve"
    ),
    "ZeroAmount": lambda s, _: "the amount must be positive",
}
"""What to change, by contract error name: ``hint(show, command_path)`` with ``show(field)`` the formatted field."""


def describe_error(exc: PylenderError, decimals: int | None, tz: tzinfo | None, command: str = "") -> str:
    """The one line the command line prints for ``exc``: its name, its fields readable, the fix when known."""
    if isinstance(exc, ContractError) and exc.field_names is not None and exc.error_name not in ("Panic",):
        fields = exc.fields

        def show(key: str) -> str:
            return _value(key, fields.get(key), decimals, tz)

        text = f"{exc.category}: {exc.error_name}({', '.join(f'{k}={show(k)}' for k in fields)})"
        hint = HINTS.get(exc.error_name)
        advice = hint(show, command) if hint is not None else None
    else:
        text, advice = str(exc), None
        name = type(exc).__name__
        if not text.startswith(f"{name}:") and not isinstance(exc, ContractError):
            text = f"{name}: {text}"
    text += "".join(f" ({note})" for note in getattr(exc, "__notes__", []))
    return f"{text}: {advice}" if advice else text


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def error_json(exc: PylenderError, decimals: int | None) -> dict[str, Any]:
    """``exc`` for ``--json``: name, category, message and fields (snake_case, amounts in base units)."""
    out: dict[str, Any] = {"type": type(exc).__name__, "message": describe_error(exc, None, None)}
    if isinstance(exc, ContractError):
        fields: Mapping[str, Any] = exc.fields
        out.update(type=exc.error_name, category=exc.category)
        out["fields"] = {_snake(k): _jsonable(v) for k, v in fields.items()}
        if (
            "status" in fields
            and isinstance(fields["status"], int)
            and fields["status"] in LoanStatus._value2member_map_
        ):
            out["fields"]["status"] = LoanStatus(fields["status"]).label
        if "neededRole" in fields and isinstance(fields["neededRole"], bytes):
            out["fields"]["needed_role"] = role_name(fields["neededRole"])
    if decimals is not None:
        out["decimals"] = decimals
    return out


__all__ = ["AMOUNT_FIELDS", "DURATION_FIELDS", "HINTS", "TIME_FIELDS", "describe_error", "error_json"]
