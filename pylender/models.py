"""Typed values crossing the client boundary (pydantic v2, frozen, checksummed addresses).

The view models list their fields in the order of the Solidity structs of
``contracts/interfaces/ICoLendingLedger.sol`` (snake_case of the same names), so an ABI tuple
maps onto them positionally; :func:`check_layout` verifies that against the ABI at load time.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from eth_utils import is_address, keccak, to_checksum_address
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from pylender.errors import DuplicateLender, InvalidTrancheCount, SharesNotWhole, ZeroAddress
from pylender.reference import values as _reference_values
from pylender.schedule import BPS, RepaymentMethod

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_TRANCHES = 16
MAX_PERIODS = 600


def _checksum(value: Any) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"not an Ethereum address: {value!r}")
    if (
        value != value.lower()
        and value != value.upper()[:2] + value[2:].upper()
        and value != to_checksum_address(value)
    ):
        raise ValueError(f"bad address checksum: {value} (expected {to_checksum_address(value)})")
    return to_checksum_address(value)


def _address_in(value: Any) -> Any:
    address = getattr(value, "address", None)  # accept LocalAccount / contract objects
    return address if isinstance(address, str) else value


Address = Annotated[str, BeforeValidator(_address_in), AfterValidator(_checksum)]
"""An EIP-55 checksummed address (lowercase input is checksummed; a wrong mixed case is rejected)."""


def _bytes32(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    elif isinstance(value, str) and re.fullmatch(r"0x[0-9a-fA-F]{64}", value):
        raw = bytes.fromhex(value[2:])
    elif isinstance(value, str):
        raw = borrower_id(value)
    else:
        raise ValueError(f"not a bytes32: {value!r}")
    if len(raw) != 32:
        raise ValueError(f"bytes32 must be 32 bytes, got {len(raw)}")
    return raw


Bytes32 = Annotated[bytes, BeforeValidator(_bytes32), PlainSerializer(lambda b: "0x" + b.hex(), when_used="json")]
Bps = Annotated[int, Field(ge=0, le=BPS)]
Uint128 = Annotated[int, Field(ge=0, lt=2**128)]


def borrower_id(label: str) -> bytes:
    """The pseudonymous borrower id for a label: a 0x-hex bytes32 as is, else ``keccak256(label)``.

    No personal data goes on chain; callers hash their own customer keys (salted) into this.
    """
    if re.fullmatch(r"0x[0-9a-fA-F]{64}", label):
        return bytes.fromhex(label[2:])
    return keccak(text=label)


LoanStatus = _reference_values.LoanStatus  # one definition, shared with the reference model and the audit


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _View(_Value):
    """A struct read from the ledger."""

    @classmethod
    def from_abi(cls: type[M], values: Any) -> M:
        names = list(cls.model_fields)
        if isinstance(values, dict):
            return cls(**{_snake(k): v for k, v in values.items()})
        values = tuple(values)
        if len(values) != len(names):
            raise ValueError(f"{cls.__name__}: expected {len(names)} fields, got {len(values)}")
        return cls(**dict(zip(names, values, strict=True)))


M = TypeVar("M", bound=_View)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def check_layout(model: type[_View], components: list[dict[str, Any]]) -> None:
    """Raise if ``model``'s fields are not the snake_case of the ABI struct's components, in order."""
    expected = [_snake(c["name"]) for c in components]
    actual = list(model.model_fields)
    if expected != actual:
        raise TypeError(f"{model.__name__} fields {actual} do not match the ABI struct {expected}")


# -- inputs ----------------------------------------------------------------------------------------


class Tranche(_Value):
    """One funder's slice of a loan: lender and share in bps (the first tranche is the lead)."""

    lender: Address
    share_bps: Annotated[int, Field(gt=0, le=BPS)]

    def to_abi(self) -> tuple[str, int]:
        return (self.lender, self.share_bps)


class LoanTerms(_Value):
    """The terms a loan is originated with (``LoanTerms`` of the ledger)."""

    borrower: Address
    borrower_id: Bytes32
    principal: Annotated[int, Field(gt=0, lt=2**128)]
    annual_rate_bps: Bps
    periods: Annotated[int, Field(ge=1, le=MAX_PERIODS)]
    period_seconds: Annotated[int, Field(gt=0, lt=2**32)]
    method: RepaymentMethod = RepaymentMethod.EQUAL_INSTALLMENT
    grace_period: Annotated[int, Field(ge=0, lt=2**32)] = 0
    penalty_rate_bps: Annotated[int, Field(ge=0, lt=2**16)] = 0
    prepayment_fee_bps: Bps = 0
    service_fee_bps: Bps = 0
    fee_recipient: Address = ZERO_ADDRESS
    reserve_bps: Bps = 0
    funding_deadline: Annotated[int, Field(ge=0, lt=2**40)] = 0
    """Unix time; 0 lets the client set ``now + 7 days`` when originating."""

    @model_validator(mode="after")
    def _fee_recipient_iff_fee(self) -> LoanTerms:
        if self.borrower == ZERO_ADDRESS:
            raise ZeroAddress()
        if (self.service_fee_bps > 0) != (self.fee_recipient != ZERO_ADDRESS):
            raise ValueError("fee_recipient must be set if and only if service_fee_bps > 0")
        return self

    def to_abi(self) -> tuple[Any, ...]:
        return (
            self.borrower,
            self.borrower_id,
            self.principal,
            self.annual_rate_bps,
            self.periods,
            self.period_seconds,
            int(self.method),
            self.grace_period,
            self.penalty_rate_bps,
            self.prepayment_fee_bps,
            self.service_fee_bps,
            self.fee_recipient,
            self.reserve_bps,
            self.funding_deadline,
        )


def validate_tranches(tranches: list[Tranche]) -> None:
    """The contract's tranche checks, client-side: count, positive shares summing to 10,000, no duplicates."""
    if not 1 <= len(tranches) <= MAX_TRANCHES:
        raise InvalidTrancheCount(count=len(tranches))
    total = sum(t.share_bps for t in tranches)
    if total != BPS:
        raise SharesNotWhole(sum=total)
    seen: set[str] = set()
    for t in tranches:
        if t.lender in seen:
            raise DuplicateLender(lender=t.lender)
        seen.add(t.lender)


class PolicyParams(_View):
    """``PolicyParams``: limits checked at origination and funding."""

    min_platform_share_bps: Bps = 3000
    max_annual_rate_bps: Bps = 2400
    max_penalty_rate_bps: Annotated[int, Field(ge=0, lt=2**16)] = 3600
    min_reserve_bps: Bps = 0
    max_principal: Uint128 = 200_000 * 10**6
    max_lender_exposure: Uint128 = 10_000_000 * 10**6
    default_after: Annotated[int, Field(ge=0, lt=2**32)] = 90 * 86_400
    public_default_delay: Annotated[int, Field(ge=0, lt=2**32)] = 30 * 86_400

    @classmethod
    def defaults(cls, decimals: int) -> PolicyParams:
        """The deploy script's defaults for a token with ``decimals``."""
        unit = 10**decimals
        return cls(max_principal=200_000 * unit, max_lender_exposure=10_000_000 * unit)

    def to_abi(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in type(self).model_fields)


# -- views -------------------------------------------------------------------------------------------


class Loan(_View):
    """``LoanView``: the full state of one loan."""

    status: LoanStatus
    method: RepaymentMethod
    borrower: Address
    borrower_id: Bytes32
    principal: int
    annual_rate_bps: int
    periods: int
    period_seconds: int
    grace_period: int
    penalty_rate_bps: int
    prepayment_fee_bps: int
    service_fee_bps: int
    fee_recipient: Address
    reserve_bps: int
    funding_deadline: int
    disbursed_at: int
    tranche_count: int
    funded_count: int
    installment_amount: int
    current_installment: int
    outstanding_at_installment_start: int
    outstanding_principal: int
    interest_paid_cur: int
    principal_paid_cur: int
    interest_paid: int
    fee_paid: int
    penalty_paid: int
    prepayment_fee_paid: int
    principal_paid: int
    recovered: int
    penalty_accrued: int
    penalty_checkpoint: int
    owed_at_default: int
    written_off: int


class TrancheInfo(_View):
    """``TrancheView``: one tranche of a loan."""

    lender: Address
    institution: int
    share_bps: int
    amount: int
    funded: bool


class Installment(_View):
    """``InstallmentView``: one projected installment."""

    index: int
    due_date: int
    outstanding_before: int
    interest: int
    principal: int
    interest_paid: int
    principal_paid: int

    @property
    def total(self) -> int:
        return self.interest + self.principal


class AmountDue(_View):
    """``DueView``: what a loan owes now."""

    penalty: int
    interest: int
    principal: int
    total_due: int
    max_payable: int
    overdue_installments: int
    next_due_date: int


class Position(_View):
    """``PositionView``: a lender's position in one loan."""

    share_bps: int
    amount: int
    funded: bool
    lead: bool
    income_credited: int
    reserve_held: int
    principal_credited: int
    recovered_credited: int


class AccountBalance(_View):
    """``AccountView``: an institution's account on the ledger."""

    index: int
    is_platform: bool
    withdrawable: int
    reserve: int
    loss: int
    exposure: int
    name: str


class CreditRecord(_View):
    """``CreditRecord``: a borrower's record summed over its loans."""

    loans_taken: int
    active: int
    closed: int
    defaulted: int
    on_time_installments: int
    late_installments: int
    max_days_late: int
    total_days_late: int
    amount_written_off: int


AUDIT_SEQ_BITS = 56
"""The audit head's low bits hold the seq (docs/ledger-spec.md, "Audit trail")."""


class AuditHead(_Value):
    """The on-chain audit head split into its parts."""

    head: str
    seq: int

    @classmethod
    def from_word(cls, word: bytes) -> AuditHead:
        value = int.from_bytes(word, "big")
        return cls(head="0x" + word.hex(), seq=value & ((1 << AUDIT_SEQ_BITS) - 1))


class Deployment(_Value):
    """Where a ledger lives: saved as JSON so successive CLI calls find it."""

    chain_id: int
    ledger: Address
    token: Address
    deployer: Address
    block: int
    token_decimals: int = 6
    rpc: str | None = None
    #: The linked libraries the ledger's code calls, name -> address (deployed with it).
    libraries: dict[str, Address] = {}


class Institution(_Value):
    """A registered institution as the client knows it."""

    account: Address
    name: str
    is_platform: bool
    index: int
