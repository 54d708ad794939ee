"""Scenario files: a portfolio and its timeline in YAML, run deterministically on a chain.

A scenario names institutions, borrowers, loans (terms + tranches; set up to ``stage`` ``active``
unless told ``originated`` or ``funded``) and a timeline of steps (``advance_days``, ``fund``,
``disburse``, ``repay``, ``repay_batch``, ``prepay``, ``cancel``, ``mark_default``, ``write_off``,
``recover``, ``withdraw``, ``pause``, ``unpause``, ``offer``, ``accept``, ``cancel_offer`` (participations change
hands), ``pool``, ``subscribe``, ``pool_buy``, ``distribute``, ``claim``, ``transfer_class`` (loan pools and their
investors), ``repeat``, and ``expect_error``, which runs one step
that must revert with the named contract error). Amounts are in whole tokens (decimals allowed) or the
words ``due`` (everything due now) / ``max`` (the most ``repay`` accepts now). Errors in the file are
reported with its line number (from the YAML marks). See ``scenarios/*.yaml``.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pylender.errors import ScenarioError
from pylender.values import BPS, DAY, MAX_PERIODS, MAX_TRANCHES, Method, RepaymentMethod

log = logging.getLogger(__name__)

GENESIS_TIMESTAMP = 1_767_225_600  # 2026-01-01T00:00:00Z: scenario runs start here, so they repeat exactly


# -- YAML with line numbers ---------------------------------------------------------------------------


class _Map(dict[str, Any]):
    line: int = 0
    key_lines: dict[str, int]


class _Seq(list[Any]):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings and sequences remember their line numbers (1-based)."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)):
            raise ScenarioError("mapping keys must be plain scalars", line=key_node.start_mark.line + 1)
        key = str(key)
        if key in result:
            raise ScenarioError(f"duplicate key {key!r}", line=key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def _line_of(tree: Any, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest node along a pydantic error location."""
    line = getattr(tree, "line", None)
    node = tree
    for part in loc:
        if isinstance(node, _Map) and str(part) in node:
            line = node.key_lines.get(str(part), line)
            node = node[str(part)]
        elif isinstance(node, _Seq) and isinstance(part, int) and part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            continue
        line = getattr(node, "line", line) if isinstance(node, (_Map, _Seq)) and part != loc[-1] else line
    return line


# -- the schema -----------------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Amount = Decimal | Literal["due", "max"]


class InstitutionSpec(_Spec):
    account: int = Field(ge=0, description="dev account index")
    name: str
    platform: bool = False
    balance: Decimal = Decimal(0)


class BorrowerSpec(_Spec):
    account: int = Field(ge=0)
    id: str | None = None
    balance: Decimal = Decimal(0)


class InvestorSpec(_Spec):
    """An investor in loan pools' classes: a dev account and the settlement tokens it starts with."""

    account: int = Field(ge=0)
    balance: Decimal = Decimal(0)


class ServicerSpec(_Spec):
    account: int = Field(ge=0)
    balance: Decimal = Decimal(0)


class TrancheSpec(_Spec):
    lender: str
    share_bps: int = Field(gt=0, le=BPS)


class LoanSpec(_Spec):
    borrower: str
    principal: Decimal = Field(gt=0)
    rate_bps: int = Field(ge=0, le=BPS)
    periods: int = Field(ge=1, le=MAX_PERIODS)
    period_days: Decimal = Field(default=Decimal(30), gt=0)
    method: Method = RepaymentMethod.EQUAL_INSTALLMENT
    grace_days: Decimal = Field(default=Decimal(0), ge=0)
    penalty_rate_bps: int = Field(default=0, ge=0, lt=2**16)
    prepayment_fee_bps: int = Field(default=0, ge=0, le=BPS)
    service_fee_bps: int = Field(default=0, ge=0, le=BPS)
    fee_recipient: str | None = None
    reserve_bps: int = Field(default=0, ge=0, le=BPS)
    tranches: list[TrancheSpec] = Field(min_length=1, max_length=MAX_TRANCHES)
    stage: Literal["originated", "funded", "active"] = "active"  # how far setup takes the loan
    ref: str | None = Field(default=None, min_length=1)
    """The reference the institutions know the loan by (their contract number; never personal data)."""

    @property
    def period_seconds(self) -> int:
        return int(self.period_days * DAY)

    @property
    def grace_seconds(self) -> int:
        return int(self.grace_days * DAY)


class FundStep(_Spec):
    loan: str
    lender: str  # any institution: whether it lends in this loan is the contract's call (NotATrancheLender)


class DisburseStep(_Spec):
    loan: str
    by: str | None = None  # default: the originator (the deployer)


class RepayStep(_Spec):
    loan: str
    amount: Amount = "due"
    by: str | None = None


class BatchStep(_Spec):
    payments: dict[str, Amount]
    by: str | None = None


class PrepayStep(_Spec):
    loan: str
    principal: Decimal | Literal["all"]
    by: str | None = None


class LoanStep(_Spec):
    loan: str


class CancelStep(_Spec):
    loan: str
    by: str | None = None  # default: the originator (the deployer)


class LedgerStep(_Spec):
    """``pause`` / ``unpause`` (by the pauser, the deployer): no arguments."""


class RecoverStep(_Spec):
    loan: str
    amount: Decimal = Field(gt=0)
    by: str | None = None


class WithdrawStep(_Spec):
    lender: str


class OfferStep(_Spec):
    """``seller`` offers ``share_bps`` of its position in ``loan`` to ``buyer`` at ``price`` (whole tokens), open for
    ``expiry_days``; ``name`` is how later ``accept`` / ``cancel_offer`` steps refer to it."""

    name: str
    loan: str
    seller: str
    buyer: str
    share_bps: int = Field(gt=0, le=BPS)
    price: Decimal = Field(default=Decimal(0), ge=0)
    expiry_days: Decimal = Field(default=Decimal(7), ge=0)


class OfferRefStep(_Spec):
    """``accept`` (by the offer's buyer) or ``cancel_offer`` (by its seller) of the offer named ``offer``."""

    offer: str


class PoolStep(_Spec):
    """``pool``: create loan pool ``name`` (the deployer is its arranger) and register it on the ledger; its
    subscription window and purchase period run ``subscription_days`` and ``purchase_days`` from now."""

    name: str
    coupon_bps: int = Field(ge=0, lt=2**16)
    min_junior_bps: int = Field(default=0, ge=0, le=BPS)
    subscription_days: Decimal = Field(default=Decimal(7), ge=0)
    purchase_days: Decimal = Field(default=Decimal(30), ge=0)


class SubscribeStep(_Spec):
    pool: str
    investor: str
    class_: Literal["senior", "junior"] = Field(alias="class")
    amount: Decimal = Field(gt=0)


class PoolBuyStep(_Spec):
    """``pool_buy``: the arranger accepts, for the pool, the offers named (made to the pool by ``offer`` steps)."""

    pool: str
    offers: list[str] = Field(min_length=1)


class PoolRefStep(_Spec):
    """``distribute``: anyone passes what the pool collected through its waterfall."""

    pool: str


class ClaimStep(_Spec):
    pool: str
    investor: str
    class_: Literal["senior", "junior"] = Field(alias="class")


class ClassTransferStep(_Spec):
    """``transfer_class``: class tokens change hands between two investors (what accrued stays with the sender)."""

    pool: str
    class_: Literal["senior", "junior"] = Field(alias="class")
    sender: str = Field(alias="from")
    to: str
    amount: Decimal = Field(gt=0)


class RepeatStep(_Spec):
    times: int = Field(ge=1, le=1000)
    steps: list[dict[str, Any]]


class ExpectErrorStep(_Spec):
    error: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="the contract error's name")
    step: dict[str, Any] | str  # a string for an argument-less step (`step: unpause`)


# the steps that send exactly one transaction: what ``expect_error`` may wrap
ONE_ACTION_KINDS = (
    "fund", "disburse", "repay", "repay_batch", "prepay", "cancel", "mark_default", "write_off", "recover",
    "withdraw", "pause", "unpause", "offer", "accept", "cancel_offer", "pool", "subscribe", "pool_buy",
    "distribute", "claim", "transfer_class",
)  # fmt: skip


STEP_KINDS: dict[str, type[BaseModel] | None] = {
    "advance_days": None,
    "advance_seconds": None,
    "fund": FundStep,
    "disburse": DisburseStep,
    "repay": RepayStep,
    "repay_batch": BatchStep,
    "prepay": PrepayStep,
    "cancel": CancelStep,
    "mark_default": LoanStep,
    "write_off": LoanStep,
    "recover": RecoverStep,
    "withdraw": WithdrawStep,
    "pause": LedgerStep,
    "unpause": LedgerStep,
    "offer": OfferStep,
    "accept": OfferRefStep,
    "cancel_offer": OfferRefStep,
    "pool": PoolStep,
    "subscribe": SubscribeStep,
    "pool_buy": PoolBuyStep,
    "distribute": PoolRefStep,
    "claim": ClaimStep,
    "transfer_class": ClassTransferStep,
    "repeat": RepeatStep,
    "expect_error": ExpectErrorStep,
}


class Step(_Spec):
    """One timeline step: its kind and parsed arguments (a number for ``advance_*``)."""

    kind: str
    args: Any
    line: int | None = None


class PolicySpec(_Spec):
    min_platform_share_bps: int | None = None
    max_annual_rate_bps: int | None = None
    max_penalty_rate_bps: int | None = None
    min_reserve_bps: int | None = None
    max_principal: Decimal | None = None
    max_lender_exposure: Decimal | None = None
    default_after_days: Decimal | None = None
    public_default_delay_days: Decimal | None = None


class Scenario(_Spec):
    name: str
    description: str = ""
    decimals: int = Field(default=6, ge=0, le=18)
    policy: PolicySpec = PolicySpec()
    institutions: dict[str, InstitutionSpec] = Field(min_length=1)
    borrowers: dict[str, BorrowerSpec] = Field(min_length=1)
    servicer: ServicerSpec | None = None
    investors: dict[str, InvestorSpec] = {}
    loans: dict[str, LoanSpec] = Field(min_length=1)
    timeline: list[Step] = []

    @field_validator("timeline", mode="before")
    @classmethod
    def _parse_steps(cls, raw: Any) -> list[Step]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise ValueError("timeline must be a list of steps")
        return [_parse_step(item, getattr(raw, "item_lines", [None] * len(raw))[i]) for i, item in enumerate(raw)]

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        for key, loan in self.loans.items():
            if loan.borrower not in self.borrowers:
                raise ScenarioError(f"loan {key}: unknown borrower {loan.borrower!r}", loc=("loans", key, "borrower"))
            for i, t in enumerate(loan.tranches):
                if t.lender not in self.institutions:
                    raise ScenarioError(f"loan {key}: unknown lender {t.lender!r}", loc=("loans", key, "tranches", i))
            if loan.fee_recipient is not None and loan.fee_recipient not in self.institutions:
                raise ScenarioError(
                    f"loan {key}: unknown fee_recipient {loan.fee_recipient!r}", loc=("loans", key, "fee_recipient")
                )
        offers: set[str] = set()
        pools: set[str] = set()
        for step in _flatten(self.timeline):
            self._check_pool_step(step, pools)
            self._check_step(step, pools)
            if isinstance(step.args, OfferStep):
                if step.args.name in offers:
                    raise ScenarioError(f"offer: the name {step.args.name!r} is taken", line=step.line)
                offers.add(step.args.name)
            elif isinstance(step.args, OfferRefStep) and step.args.offer not in offers:
                raise ScenarioError(f"{step.kind}: no earlier offer named {step.args.offer!r}", line=step.line)
            elif isinstance(step.args, PoolBuyStep):
                for name in step.args.offers:
                    if name not in offers:
                        raise ScenarioError(f"pool_buy: no earlier offer named {name!r}", line=step.line)
        return self

    def _check_pool_step(self, step: Step, pools: set[str]) -> None:
        """Pools are created by a ``pool`` step before any step names them; investors are declared."""
        a = step.args
        if isinstance(a, PoolStep):
            if a.name in pools or a.name in self.institutions:
                raise ScenarioError(f"pool: the name {a.name!r} is taken", line=step.line)
            pools.add(a.name)
            return
        if isinstance(a, (SubscribeStep, PoolBuyStep, PoolRefStep, ClaimStep, ClassTransferStep)):
            if a.pool not in pools:
                raise ScenarioError(f"{step.kind}: no earlier pool named {a.pool!r}", line=step.line)
            named = [a.investor] if isinstance(a, (SubscribeStep, ClaimStep)) else []
            if isinstance(a, ClassTransferStep):
                named = [a.sender, a.to]
            for who in named:
                if who not in self.investors:
                    raise ScenarioError(f"{step.kind}: unknown investor {who!r}", line=step.line)

    def _check_step(self, step: Step, pools: frozenset[str] | set[str] = frozenset()) -> None:
        loans = []
        loan_steps = (FundStep, DisburseStep, RepayStep, PrepayStep, CancelStep, LoanStep, RecoverStep, OfferStep)
        if isinstance(step.args, loan_steps):
            loans = [step.args.loan]
        elif isinstance(step.args, BatchStep):
            loans = list(step.args.payments)
            if self.servicer is None:
                raise ScenarioError("repay_batch needs a servicer", line=step.line)
        for loan in loans:
            if loan not in self.loans:
                raise ScenarioError(f"{step.kind}: unknown loan {loan!r}", line=step.line)
        if isinstance(step.args, (FundStep, WithdrawStep)) and step.args.lender not in self.institutions:
            raise ScenarioError(f"{step.kind}: unknown institution {step.args.lender!r}", line=step.line)
        if isinstance(step.args, OfferStep):
            if step.args.seller not in self.institutions:
                raise ScenarioError(f"offer: unknown institution {step.args.seller!r}", line=step.line)
            if step.args.buyer not in self.institutions and step.args.buyer not in pools:
                raise ScenarioError(f"offer: unknown institution or pool {step.args.buyer!r}", line=step.line)
        by = getattr(step.args, "by", None)
        if by is not None and by not in self.borrowers and by not in self.institutions and by != "servicer":
            raise ScenarioError(f"{step.kind}: unknown payer {by!r}", line=step.line)


def _parse_step(item: Any, line: int | None) -> Step:
    if isinstance(item, str) and STEP_KINDS.get(item) is LedgerStep:
        item = {item: {}}  # `- pause` reads as `- pause: {}`
    if not isinstance(item, dict) or len(item) != 1:
        raise ScenarioError(f"a step is a mapping with exactly one key, one of: {', '.join(STEP_KINDS)}", line=line)
    ((kind, args),) = item.items()
    if kind not in STEP_KINDS:
        raise ScenarioError(f"unknown step {kind!r}; expected one of: {', '.join(STEP_KINDS)}", line=line)
    model = STEP_KINDS[kind]
    try:
        if model is None:
            value = Decimal(str(args))
            if value < 0:
                raise ValueError("time only moves forward")
            return Step(kind=kind, args=value, line=line)
        if kind == "repeat":
            parsed = RepeatStep.model_validate(args)
            inner_lines = getattr(args.get("steps"), "item_lines", None) or [line] * len(parsed.steps)
            steps = [_parse_step(s, inner_lines[i]) for i, s in enumerate(parsed.steps)]
            return Step(kind=kind, args=(parsed.times, steps), line=line)
        if kind == "expect_error":
            expect = ExpectErrorStep.model_validate(args)
            inner_line = getattr(args.get("step"), "line", None) or line
            inner = _parse_step(expect.step, inner_line)
            if inner.kind not in ONE_ACTION_KINDS:
                raise ValueError(f"step must be one action ({', '.join(ONE_ACTION_KINDS)}), not {inner.kind!r}")
            return Step(kind=kind, args=(expect.error, inner), line=line)
        if args is None and model is LedgerStep:
            args = {}
        if not isinstance(args, dict):
            raise ValueError(f"{kind} takes a mapping of arguments")
        return Step(kind=kind, args=model.model_validate(args), line=line)
    except ScenarioError:
        raise
    except (ValidationError, ValueError, InvalidOperation, TypeError) as exc:
        raise ScenarioError(f"step {kind}: {_short(exc)}", line=line) from None


def _flatten(steps: list[Step]) -> list[Step]:
    out: list[Step] = []
    for step in steps:
        if step.kind in ("repeat", "expect_error"):
            out.extend(_flatten(step.args[1]) if step.kind == "repeat" else [step.args[1]])
        else:
            out.append(step)
    return out


def _short(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        return "; ".join(parts)
    return str(exc)


def parse(text: str, path: str | None = None) -> Scenario:
    """Parse scenario YAML; :class:`ScenarioError` (with the line) if it is malformed."""
    try:
        tree = yaml.load(text, Loader=_LineLoader)
    except ScenarioError as exc:
        raise ScenarioError(exc.detail, path=path, line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError(f"invalid YAML: {exc.problem or exc}", path=path, line=line) from None
    if not isinstance(tree, dict):
        raise ScenarioError("a scenario is a YAML mapping (name, institutions, borrowers, loans, timeline)", path=path)
    try:
        return Scenario.model_validate(tree)
    except ScenarioError as exc:
        line = exc.line if exc.line is not None else _line_of(tree, exc.loc)
        raise ScenarioError(exc.detail, path=path, line=line) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, ScenarioError):
            line = inner.line if inner.line is not None else _line_of(tree, inner.loc or tuple(err["loc"]))
            raise ScenarioError(inner.detail, path=path, line=line) from None
        line = _line_of(tree, tuple(err["loc"]))
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        message = f"{loc}: {msg}" if loc else msg
        if len(exc.errors()) > 1:
            message += f" (and {len(exc.errors()) - 1} more)"
        raise ScenarioError(message, path=path, line=line) from None


def load(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario: {exc.strerror or exc}", path=str(path)) from None
    return parse(text, str(path))
