"""The domain's values: enums, units, limits and frozen value types. It imports nothing from pylender.

* Enums: :class:`LoanStatus`, :class:`RepaymentMethod` and :class:`Role`, with every spelling a user meets (the
  Solidity member, ``snake_case`` in scenario files, ``kebab-case`` on the command line, words in reports)
  derived from the member name: adding a member is the whole change.
* Units and limits: :data:`BPS`, :data:`YEAR`, :data:`DAY`, :data:`MAX_TRANCHES`, :data:`MAX_PERIODS`,
  :data:`ZERO_ADDRESS`, :data:`AUDIT_SEQ_BITS` (docs/ledger-spec.md names each).
* Value types (frozen dataclasses, one per concept, named like the ledger's structs): what a caller hands the
  ledger (:class:`LoanTerms`, :class:`Tranche`, :class:`PolicyParams`), what its views return (:class:`LoanView`,
  :class:`TrancheInfo`, :class:`InstallmentView`, :class:`AmountDue`, :class:`Position`, :class:`AccountBalance`,
  :class:`CreditRecord`, :class:`AuditHead`), a schedule row (:class:`Installment`) and where a ledger lives
  (:class:`Deployment`). The reference model, the client and the audit use these same classes.

Constructing a value checks nothing: the reference model must accept any terms to raise the contract's own
errors for them. Values are checked where they cross a boundary - the client before it signs, a file as it is
read - with :func:`validate` (pydantic, through the constraints annotated on the fields): addresses checksummed,
borrower labels hashed into a bytes32, integers within their Solidity types.
"""

from __future__ import annotations

import dataclasses
import re
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Final, Literal, Self, TypeVar

from eth_utils import is_address, keccak, to_checksum_address
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, TypeAdapter

# -- units and limits ------------------------------------------------------------------------------------------

BPS: Final = 10_000
"""Basis points in a whole: shares add up to exactly this; rates and fees are in bps."""
YEAR: Final = 31_536_000
"""Seconds in the ACT/365 fixed year of every rate."""
DAY: Final = 86_400
MAX_TRANCHES: Final = 16
"""Lenders one loan may have (the ledger's ``MAX_TRANCHES``)."""
MAX_PERIODS: Final = 600
"""Installments one loan may have (the ledger's ``MAX_PERIODS``)."""
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
AUDIT_SEQ_BITS: Final = 56
"""The audit head's low bits hold the record's seq (docs/ledger-spec.md, "Audit chain")."""
UINT256_MAX: Final = 2**256 - 1
PAY_ALL_DUE: Final = UINT256_MAX
"""``repay(loan_id, PAY_ALL_DUE)`` pays exactly what is due when the payment executes: the accrued penalty to that
second and every installment already due (the contract's ``type(uint256).max``; docs/ledger-spec.md, "Waterfall")."""
CURSOR_LIMIT: Final = 2**96 - 1
"""The schedule cursor keeps the outstanding principal and the installment amount in 96 bits."""
MAX_INSTITUTIONS: Final = 2_047
"""Institution indexes a tranche entry holds (11 bits; docs/ledger-spec.md, "Institutions")."""


# -- enums -------------------------------------------------------------------------------------------------------


class _Named(IntEnum):
    """Every spelling of a member, derived from its name (``WRITTEN_OFF``)."""

    @property
    def label(self) -> str:
        """The Solidity enum member (``WrittenOff``)."""
        return self.name.replace("_", " ").title().replace(" ", "")

    @property
    def key(self) -> str:
        """``written_off``: scenario files and JSON."""
        return self.name.lower()

    @property
    def option(self) -> str:
        """``written-off``: command-line options."""
        return self.name.lower().replace("_", "-")

    @property
    def words(self) -> str:
        """``written off``: sentences and reports."""
        return self.name.lower().replace("_", " ")

    @classmethod
    def parse(cls, value: Any) -> Self:
        """The member for a code or any spelling above; :class:`ValueError` naming the choices otherwise."""
        if isinstance(value, cls):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value in cls._value2member_map_:
            return cls(value)
        if isinstance(value, str):
            wanted = re.sub(r"[\s_-]+", "", value).lower()
            for member in cls:
                if member.name.replace("_", "").lower() == wanted:
                    return member
        choices = ", ".join(member.key for member in cls)
        raise ValueError(f"unknown {cls.__name__} {value!r}: one of {choices}")


class LoanStatus(_Named):
    """``LoanStatus`` of the ledger."""

    NONE = 0
    ORIGINATED = 1
    FUNDED = 2
    ACTIVE = 3
    CLOSED = 4
    CANCELLED = 5
    DEFAULTED = 6
    WRITTEN_OFF = 7
    RECOVERED = 8  # defaulted, then recovered in full: ended as a closure does


DISBURSED_STATUSES: Final = frozenset(
    {LoanStatus.ACTIVE, LoanStatus.CLOSED, LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF, LoanStatus.RECOVERED}
)
"""The statuses of a loan whose principal went to the borrower."""


class RepaymentMethod(_Named):
    """``RepaymentMethod`` of the ledger (the schedule library's uint8 codes)."""

    EQUAL_INSTALLMENT = 0  # 等额本息: equal payments, interest on the outstanding principal
    EQUAL_PRINCIPAL = 1  # 等额本金: equal principal parts, interest on the outstanding principal
    INTEREST_FIRST = 2  # 先息后本: interest each period, all principal with the last


class Role(StrEnum):
    """The ledger's AccessControl roles (the value is the Solidity constant's name)."""

    DEFAULT_ADMIN = "DEFAULT_ADMIN_ROLE"
    ORIGINATOR = "ORIGINATOR_ROLE"
    LENDER = "LENDER_ROLE"
    SERVICER = "SERVICER_ROLE"
    PAUSER = "PAUSER_ROLE"

    @property
    def id(self) -> bytes:
        """The role id: ``bytes32(0)`` for the admin role, else ``keccak256(name)``."""
        return role_id(self.value)


ROLES: Final = tuple(role.value for role in Role)


def role_id(name: str) -> bytes:
    """The AccessControl role id (``bytes32(0)`` for the admin role, else ``keccak256(name)``)."""
    return b"\x00" * 32 if name == Role.DEFAULT_ADMIN.value else keccak(text=name)


ROLE_NAMES: Final = {role_id(name): name for name in ROLES}


def role_bytes(role: bytes | str) -> bytes:
    """A role id given as bytes or 0x-hex."""
    return role if isinstance(role, bytes) else bytes.fromhex(role.removeprefix("0x"))


def role_name(role: bytes | str) -> str:
    """The role's name, or its 0x-hex id when it is none of the ledger's roles."""
    raw = role_bytes(role)
    return ROLE_NAMES.get(raw, "0x" + raw.hex())


# -- field types (the constraints :func:`validate` checks) --------------------------------------------------------


def _checksum(value: Any) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"not an Ethereum address: {value!r}")
    if (
        value != value.lower()
        and value != value.upper()[:2] + value[2:].upper()
        and value != to_checksum_address(value)
    ):
        raise ValueError(f"bad address checksum: {value} (expected {to_checksum_address(value)})")
    return str(to_checksum_address(value))


def _address_in(value: Any) -> Any:
    address = getattr(value, "address", None)  # accept LocalAccount / contract objects
    return address if isinstance(address, str) else value


def borrower_id(label: str) -> bytes:
    """The pseudonymous borrower id for a label: a 0x-hex bytes32 as is, else ``keccak256(label)``.

    No personal data goes on chain; callers hash their own customer keys (salted) into this.
    """
    if re.fullmatch(r"0x[0-9a-fA-F]{64}", label):
        return bytes.fromhex(label[2:])
    return bytes(keccak(text=label))


def loan_ref(reference: str) -> bytes:
    """The bytes32 loan reference for the institutions' own reference (their shared contract number).

    A 0x-hex bytes32 is taken as is; text of up to 31 UTF-8 bytes is stored readably (left-aligned, zero-padded,
    so ``loan show`` and the trail print it back); longer text is hashed (keccak256). Never personal data.
    """
    if re.fullmatch(r"0x[0-9a-fA-F]{64}", reference):
        return bytes.fromhex(reference[2:])
    raw = reference.encode()
    if not raw:
        return bytes(32)
    if len(raw) <= 31:
        return raw.ljust(32, b"\0")
    return bytes(keccak(text=reference))


def loan_ref_text(value: bytes) -> str:
    """A loan reference as people read it: the text it encodes, else its 0x-hex (a hashed reference)."""
    raw = bytes(value).rstrip(b"\0")
    if not raw:
        return ""
    if len(bytes(value)) == 32 and bytes(value)[31] == 0:
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            text = ""
        if text and text.isprintable():
            return text
    return "0x" + bytes(value).hex()


def _bytes32(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    elif isinstance(value, str):
        raw = borrower_id(value)
    else:
        raise ValueError(f"not a bytes32: {value!r}")
    if len(raw) != 32:
        raise ValueError(f"bytes32 must be 32 bytes, got {len(raw)}")
    return raw


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


Address = Annotated[str, BeforeValidator(_address_in), AfterValidator(_checksum)]
"""An EIP-55 checksummed address (lowercase input is checksummed; a wrong mixed case is rejected)."""
Bytes32 = Annotated[bytes, BeforeValidator(_bytes32), PlainSerializer(_hex, when_used="json")]
BorrowerId = Annotated[bytes | str, BeforeValidator(_bytes32), PlainSerializer(_hex, when_used="json")]
LoanRef = Annotated[
    bytes | str,
    BeforeValidator(lambda v: loan_ref(v) if isinstance(v, str) else _bytes32(v)),
    PlainSerializer(_hex, when_used="json"),
]
"""A loan reference; text given instead is encoded (:func:`loan_ref`) when validated."""
"""A borrower's bytes32 id; a label given instead is hashed (:func:`borrower_id`) when validated."""
Bps = Annotated[int, Field(ge=0, le=BPS)]
Uint16 = Annotated[int, Field(ge=0, lt=2**16)]
Uint32 = Annotated[int, Field(ge=0, lt=2**32)]
Uint40 = Annotated[int, Field(ge=0, lt=2**40)]
Uint128 = Annotated[int, Field(ge=0, lt=2**128)]
Method = Annotated[RepaymentMethod, BeforeValidator(RepaymentMethod.parse)]
"""A repayment method, given as its code or any spelling of it (``interest-first``)."""


# -- what a caller hands the ledger --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tranche:
    """One funder's slice of a loan: lender and share in bps. The first tranche is the lead."""

    lender: Address
    share_bps: Annotated[int, Field(gt=0, le=BPS)]

    def to_abi(self) -> tuple[str, int]:
        return (self.lender, self.share_bps)


@dataclasses.dataclass(frozen=True)
class LoanTerms:
    """The terms a loan is originated with (``LoanTerms`` of the ledger, snake_case)."""

    borrower: Address
    borrower_id: BorrowerId
    principal: Annotated[int, Field(gt=0, lt=2**128)]
    annual_rate_bps: Bps
    periods: Annotated[int, Field(ge=1, le=MAX_PERIODS)]
    period_seconds: Annotated[int, Field(gt=0, lt=2**32)]
    method: Method = RepaymentMethod.EQUAL_INSTALLMENT
    grace_period: Uint32 = 0
    penalty_rate_bps: Uint16 = 0
    prepayment_fee_bps: Bps = 0
    service_fee_bps: Bps = 0
    fee_recipient: Address = ZERO_ADDRESS
    reserve_bps: Bps = 0
    funding_deadline: Uint40 = 0
    """Unix time; 0 lets the client set ``now + 7 days`` when originating."""
    loan_ref: LoanRef = bytes(32)
    """The reference the institutions know the loan by (their contract number, :func:`loan_ref`); zero if none."""

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
            self.loan_ref,
        )


def _fee_recipient_iff_fee(terms: LoanTerms) -> LoanTerms:
    if (terms.service_fee_bps > 0) != (int(terms.fee_recipient, 16) != 0):
        raise ValueError("fee_recipient must be set if and only if service_fee_bps > 0")
    return terms


@dataclasses.dataclass(frozen=True)
class PolicyParams:
    """``PolicyParams``: limits checked at origination and funding (defaults: the deploy script's, 6 decimals)."""

    min_platform_share_bps: Bps = 3000
    max_annual_rate_bps: Bps = 2400
    max_penalty_rate_bps: Uint16 = 3600
    min_reserve_bps: Bps = 0
    max_principal: Uint128 = 200_000 * 10**6
    max_lender_exposure: Uint128 = 10_000_000 * 10**6
    default_after: Uint32 = 90 * DAY
    public_default_delay: Uint32 = 30 * DAY
    min_period_seconds: Uint32 = DAY
    max_period_seconds: Uint32 = 366 * DAY
    max_tenor_seconds: Uint32 = 30 * 365 * DAY
    disbursement_window: Uint32 = 30 * DAY

    @classmethod
    def defaults(cls, decimals: int) -> PolicyParams:
        """The deploy script's defaults for a token with ``decimals``."""
        unit = 10**decimals
        return cls(max_principal=200_000 * unit, max_lender_exposure=10_000_000 * unit)

    def to_abi(self) -> tuple[int, ...]:
        return dataclasses.astuple(self)


# -- what the views return ------------------------------------------------------------------------------------------
# Fields in the order of the Solidity structs (snake_case of the same names), so an ABI tuple maps onto them
# positionally; the client checks that against the ABI when it loads.


@dataclasses.dataclass(frozen=True)
class LoanView:
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
    default_after: int
    public_default_delay: int
    disburse_by: int
    loan_ref: bytes


@dataclasses.dataclass(frozen=True)
class TrancheInfo:
    """``TrancheView``: one tranche of a loan as the ledger holds it."""

    lender: Address
    institution: int
    share_bps: int
    amount: int
    funded: bool


@dataclasses.dataclass(frozen=True)
class PoolTerms:
    """``PoolTerms``: a loan pool's terms, fixed when it is created (docs/ledger-spec.md, "Loan pools")."""

    senior_coupon_bps: int
    min_junior_bps: int
    subscription_end: int
    purchase_end: int

    def to_abi(self) -> tuple[int, int, int, int]:
        return (self.senior_coupon_bps, self.min_junior_bps, self.subscription_end, self.purchase_end)


@dataclasses.dataclass(frozen=True)
class OfferView:
    """``OfferView``: an open offer of part of a loan position (docs/ledger-spec.md, "Participations")."""

    loan_id: int
    seller: Address
    buyer: Address
    share_bps: int
    price: int
    expiry: int


@dataclasses.dataclass(frozen=True)
class InstallmentView:
    """``InstallmentView``: one installment as the ledger projects it, with what was paid of it."""

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


@dataclasses.dataclass(frozen=True)
class AmountDue:
    """``DueView``: what a loan owes at a moment."""

    penalty: int
    interest: int
    principal: int
    total_due: int
    max_payable: int
    overdue_installments: int
    next_due_date: int


@dataclasses.dataclass(frozen=True)
class Position:
    """``PositionView``: a lender's position in one loan."""

    share_bps: int
    amount: int
    funded: bool
    lead: bool
    income_credited: int
    reserve_held: int
    principal_credited: int
    recovered_credited: int


@dataclasses.dataclass(frozen=True)
class AccountBalance:
    """``AccountView``: an institution's account on the ledger."""

    index: int
    is_platform: bool
    withdrawable: int
    reserve: int
    loss: int
    exposure: int
    name: str


@dataclasses.dataclass(frozen=True)
class CreditRecord:
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


@dataclasses.dataclass(frozen=True)
class AuditHead:
    """The on-chain audit head: the 0x-hex word and the seq in its low :data:`AUDIT_SEQ_BITS` bits."""

    head: str
    seq: int

    @classmethod
    def from_word(cls, word: bytes) -> AuditHead:
        value = int.from_bytes(word, "big")
        return cls(head="0x" + word.hex(), seq=value & ((1 << AUDIT_SEQ_BITS) - 1))


@dataclasses.dataclass(frozen=True)
class Installment:
    """One row of a repayment schedule as :func:`pylender.schedule.build_schedule` computes it (k = index, 1-based)."""

    index: int
    due: int
    interest: int
    principal: int
    payment: int
    outstanding_after: int


@dataclasses.dataclass(frozen=True)
class Deployment:
    """Where a ledger lives: saved as JSON so successive CLI calls find it."""

    chain_id: int
    ledger: Address
    token: Address
    deployer: Address
    block: int
    token_decimals: int = 6
    rpc: str | None = None
    #: The linked libraries the ledger's code calls, name -> address (deployed with it).
    libraries: dict[str, Address] = dataclasses.field(default_factory=dict)
    #: The anvil state file that keeps the embedded chain the ledger lives on (``--state``), when not at ``rpc``.
    state: str | None = None


# -- validation at the boundary -----------------------------------------------------------------------------------

V = TypeVar("V")

_CHECKS: dict[type, Any] = {LoanTerms: AfterValidator(_fee_recipient_iff_fee)}


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def adapter(cls: type[V]) -> TypeAdapter[V]:
    """The pydantic adapter that validates and dumps values of ``cls`` (built once per class)."""
    found = _ADAPTERS.get(cls)
    if found is None:
        check = _CHECKS.get(cls)
        target: Any = Annotated[cls, check] if check is not None else cls
        found = _ADAPTERS[cls] = TypeAdapter(target)
    return found


def validate(cls: type[V], data: Any) -> V:
    """``data`` (a mapping, or a ``cls`` instance) as a checked ``cls``: pydantic's ``ValidationError``
    (a :class:`ValueError`) names every field that breaks its constraint."""
    if isinstance(data, cls) and dataclasses.is_dataclass(data):
        data = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
    return adapter(cls).validate_python(data)


def to_jsonable(value: Any, *, mode: Literal["json", "python"] = "json") -> Any:
    """A value as plain JSON types (bytes as 0x-hex, enums as their codes)."""
    return adapter(type(value)).dump_python(value, mode=mode)
