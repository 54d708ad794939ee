"""Access-control matrix: every external state-changing function of the ledger ABI, called by every role.

Roles: admin, originator, lender (a registered institution), servicer, pauser, outsider - one account each. For
every function the row says who may call it; every other role must be rejected with the named error and its
arguments (AccessControlUnauthorizedAccount(account, role), or the function's own one). The rows are checked
against the ABI: a new state-changing function without a row fails ``test_every_state_changing_function_has_a_row``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from reliability_support import DAY, ROLES, UNIT, World, error_signature, terms_tuple

from pylender import artifacts
from pylender.client.ledger import Ledger
from pylender.errors import ContractError
from pylender.values import role_id

PRINCIPAL = 10_000 * UNIT


class Ctx:
    """Builds the state a row needs, with the right parties (the setup is not what the cell tests)."""

    def __init__(self, world: World, ledger: Ledger) -> None:
        self.world = world
        self.ledger = ledger
        self.a = world.accounts

    def addr(self, party: str) -> str:
        return self.a[party].address

    def originated(self) -> int:
        terms = terms_tuple(
            self.addr("borrower"),
            principal=PRINCIPAL,
            rate=1200,
            periods=3,
            period_seconds=30 * DAY,
            grace=3 * DAY,
            penalty=1800,
            deadline=self.ledger.now() + 7 * DAY,
        )
        tranches = [(self.addr("bank"), 7000), (self.addr("platform"), 3000)]
        receipt = self.ledger.send(self.ledger.call("originate", terms, tranches), self.a["originator"])
        return self.ledger.loan_id_from(receipt)

    def funded(self) -> int:
        loan_id = self.originated()
        for lender in ("bank", "platform"):
            self.ledger.send(self.ledger.call("fund", loan_id), self.a[lender])
        return loan_id

    def active(self) -> int:
        loan_id = self.funded()
        self.ledger.send(self.ledger.call("disburse", loan_id), self.a["originator"])
        return loan_id

    def defaultable_by_servicer(self) -> int:
        """Active, past due + grace + defaultAfter, before the public delay ends."""
        loan_id = self.active()
        self.ledger.advance(30 * DAY + 3 * DAY + self.world.policy.default_after + 1)
        return loan_id

    def defaulted(self) -> int:
        loan_id = self.defaultable_by_servicer()
        self.ledger.send(self.ledger.call("markDefault", loan_id), self.a["servicer"])
        return loan_id

    def bank_has_withdrawable(self) -> None:
        loan_id = self.funded()
        self.ledger.send(self.ledger.call("cancel", loan_id), self.a["originator"])

    def offered_by_bank(self) -> int:
        """An active loan whose holder, the bank, offers 1,000 bps to the platform; the offer id."""
        loan_id = self.active()
        call = self.ledger.call("offerPosition", loan_id, self.addr("platform"), 1000, UNIT, self.ledger.now() + DAY)
        return self.ledger.offer_id_from(self.ledger.send(call, self.a["bank"]))

    def offered_to_bank(self) -> int:
        """An active loan (bank 50 %, platform 25 %, third 25 %) whose holder the platform offers 1,000 bps to the
        bank (the platforms keep 40 %); the offer id."""
        terms = terms_tuple(self.addr("borrower"), principal=PRINCIPAL, deadline=self.ledger.now() + 7 * DAY)
        tranches = [(self.addr("bank"), 5000), (self.addr("platform"), 2500), (self.addr("third"), 2500)]
        loan_id = self.ledger.loan_id_from(
            self.ledger.send(self.ledger.call("originate", terms, tranches), self.a["originator"])
        )
        for lender in ("bank", "platform", "third"):
            self.ledger.send(self.ledger.call("fund", loan_id), self.a[lender])
        self.ledger.send(self.ledger.call("disburse", loan_id), self.a["originator"])
        call = self.ledger.call("offerPosition", loan_id, self.addr("bank"), 1000, UNIT, self.ledger.now() + DAY)
        return self.ledger.offer_id_from(self.ledger.send(call, self.a["platform"]))

    def paused(self) -> None:
        self.ledger.send(self.ledger.call("pause"), self.a["pauser"])


def _unauthorized(role: str) -> Callable[[Ctx, str, Any], tuple[str, tuple[Any, ...]]]:
    def expected(ctx: Ctx, caller: str, _state: Any) -> tuple[str, tuple[Any, ...]]:
        return "AccessControlUnauthorizedAccount", (ctx.addr(caller), role_id(role))

    return expected


@dataclass(frozen=True)
class Row:
    """One function: how to reach a state where it can run, its arguments, who may call, what others get."""

    setup: Callable[[Ctx], Any]
    args: Callable[[Ctx, Any], tuple[Any, ...]]
    allowed: frozenset[str]
    denied: Callable[[Ctx, str, Any], tuple[str, tuple[Any, ...]]]


def _ext(fn: str, *types_and_values: tuple[str, Any]) -> bytes:
    types = [t for t, _ in types_and_values]
    return keccak(text=f"{fn}({','.join(types)})")[:4] + abi_encode(types, [v for _, v in types_and_values])


def _not_overdue_public(ctx: Ctx, _caller: str, loan_id: int) -> tuple[str, tuple[Any, ...]]:
    loan = ctx.ledger.loan(loan_id)
    overdue_since = loan.disbursed_at + loan.period_seconds + loan.grace_period
    p = ctx.world.policy
    return "NotOverdueLongEnough", (loan_id, overdue_since, overdue_since + p.default_after + p.public_default_delay)


ALL = frozenset(ROLES)
ROWS: dict[str, Row] = {
    "registerInstitution": Row(
        lambda c: None,
        lambda c, _: (c.addr("spare"), "Spare", False),
        frozenset({"admin"}),
        _unauthorized("DEFAULT_ADMIN_ROLE"),
    ),
    "registerPool": Row(
        lambda c: None,
        lambda c, _: (c.addr("spare"), "Pool"),
        frozenset({"admin"}),
        _unauthorized("DEFAULT_ADMIN_ROLE"),
    ),
    "setPolicy": Row(
        lambda c: None,
        lambda c, _: (c.ledger.policy().to_abi(),),
        frozenset({"admin"}),
        _unauthorized("DEFAULT_ADMIN_ROLE"),
    ),
    "grantRole": Row(
        lambda c: None,
        lambda c, _: (role_id("SERVICER_ROLE"), c.addr("spare")),
        frozenset({"admin"}),
        _unauthorized("DEFAULT_ADMIN_ROLE"),
    ),
    "revokeRole": Row(
        lambda c: None,
        lambda c, _: (role_id("SERVICER_ROLE"), c.addr("servicer")),
        frozenset({"admin"}),
        _unauthorized("DEFAULT_ADMIN_ROLE"),
    ),
    # renouncing is only for oneself: the confirmation must be the caller
    "renounceRole": Row(
        lambda c: None,
        lambda c, _: (role_id("SERVICER_ROLE"), c.addr("servicer")),
        frozenset({"servicer"}),
        lambda c, caller, _: ("AccessControlBadConfirmation", ()),
    ),
    "originate": Row(
        lambda c: None,
        lambda c, _: (
            terms_tuple(c.addr("borrower"), principal=PRINCIPAL, deadline=c.ledger.now() + 7 * DAY),
            [(c.addr("bank"), 7000), (c.addr("platform"), 3000)],
        ),
        frozenset({"originator"}),
        _unauthorized("ORIGINATOR_ROLE"),
    ),
    "fund": Row(Ctx.originated, lambda c, loan: (loan,), frozenset({"lender"}), _unauthorized("LENDER_ROLE")),
    "cancel": Row(
        Ctx.originated,
        lambda c, loan: (loan,),
        frozenset({"originator"}),
        lambda c, caller, loan: ("CancelNotAllowed", (loan, c.addr(caller))),
    ),
    "disburse": Row(Ctx.funded, lambda c, loan: (loan,), frozenset({"originator"}), _unauthorized("ORIGINATOR_ROLE")),
    "repay": Row(Ctx.active, lambda c, loan: (loan, 1_000), ALL, _unauthorized("NOBODY")),
    "repayBatch": Row(
        Ctx.active, lambda c, loan: ([loan], [1_000]), frozenset({"servicer"}), _unauthorized("SERVICER_ROLE")
    ),
    # a prepayment pays at least the installment's scheduled principal (it accelerates, never defers)
    "prepay": Row(
        Ctx.active, lambda c, loan: (loan, c.ledger.schedule(loan)[0].principal), ALL, _unauthorized("NOBODY")
    ),
    "withdraw": Row(
        Ctx.bank_has_withdrawable,
        lambda c, _: (),
        frozenset({"lender"}),
        lambda c, caller, _: ("UnknownInstitution", (c.addr(caller),)),
    ),
    "withdrawTo": Row(
        Ctx.bank_has_withdrawable,
        lambda c, _: (c.addr("spare"),),
        frozenset({"lender"}),
        lambda c, caller, _: ("UnknownInstitution", (c.addr(caller),)),
    ),
    "rotateInstitution": Row(
        lambda c: None,
        lambda c, _: (c.addr("bank"), c.addr("spare")),
        frozenset({"admin"}),
        _unauthorized("DEFAULT_ADMIN_ROLE"),
    ),
    "markDefault": Row(
        Ctx.defaultable_by_servicer, lambda c, loan: (loan,), frozenset({"servicer"}), _not_overdue_public
    ),
    "writeOff": Row(Ctx.defaulted, lambda c, loan: (loan,), frozenset({"servicer"}), _unauthorized("SERVICER_ROLE")),
    "recover": Row(Ctx.defaulted, lambda c, loan: (loan, 1_000), ALL, _unauthorized("NOBODY")),
    # positions change hands: only a holder offers (others are no institution), only the buyer accepts, only the
    # seller cancels
    "offerPosition": Row(
        Ctx.active,
        lambda c, loan: (loan, c.addr("platform"), 1000, UNIT, c.ledger.now() + DAY),
        frozenset({"lender"}),
        lambda c, caller, _: ("UnknownInstitution", (c.addr(caller),)),
    ),
    "acceptOffer": Row(
        Ctx.offered_to_bank,
        lambda c, offer: (offer,),
        frozenset({"lender"}),
        lambda c, caller, offer: ("NotOfferBuyer", (offer, c.addr(caller))),
    ),
    "cancelOffer": Row(
        Ctx.offered_by_bank,
        lambda c, offer: (offer,),
        frozenset({"lender"}),
        lambda c, caller, offer: ("NotOfferSeller", (offer, c.addr(caller))),
    ),
    "pause": Row(lambda c: None, lambda c, _: (), frozenset({"pauser"}), _unauthorized("PAUSER_ROLE")),
    "unpause": Row(Ctx.paused, lambda c, _: (), frozenset({"pauser"}), _unauthorized("PAUSER_ROLE")),
}


def _state_changing(abi: list[dict[str, Any]]) -> set[str]:
    return {
        item["name"]
        for item in abi
        if item.get("type") == "function" and item.get("stateMutability") not in ("view", "pure")
    }


def test_every_state_changing_function_has_a_row():
    abi = artifacts.load(artifacts.LEDGER).abi
    assert _state_changing(abi) == set(ROWS), "add a row to ROWS for every new external state-changing function"


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("fn", sorted(ROWS))
def test_only_the_right_roles_may_call(fn: str, role: str, fresh: World):
    ledger = fresh.client()
    ctx = Ctx(fresh, ledger)
    row = ROWS[fn]
    state = row.setup(ctx)
    caller = ROLES[role]
    head_before = ledger.audit_head().seq
    call = ledger.call(fn, *row.args(ctx, state))
    if role in row.allowed:
        receipt = ledger.send(call, fresh.accounts[caller])
        assert receipt.status == 1
        if fn not in ("grantRole", "revokeRole", "renounceRole"):
            records = 2 if fn == "registerPool" else 1  # InstitutionRegistered, then PoolRegistered
            assert ledger.audit_head().seq == head_before + records, f"{fn} must write {records} audit record(s)"
        return
    with pytest.raises(ContractError) as info:
        ledger.send(call, fresh.accounts[caller])
    assert error_signature(info.value) == row.denied(ctx, caller, state)
    assert ledger.audit_head().seq == head_before


def test_the_linked_libraries_cannot_be_driven_directly(fresh: World):
    """The ledger's linked libraries run only by delegatecall on its storage: called directly, every state-changing
    function reverts (Solidity's library call protection), so nobody can reach the rules without the ledger's roles
    and pause checks."""
    from web3.exceptions import ContractLogicError

    ledger = fresh.client()
    ctx = Ctx(fresh, ledger)
    loan_id = ctx.defaulted()
    before = ledger.loan(loan_id)
    libraries = ledger.deployment.libraries
    assert sorted(libraries) == sorted(artifacts.deployment_order(artifacts.LEDGER))
    # CreditRisk.writeOff(LedgerState storage s, uint256 loanId): the storage root is passed as its slot
    selector = keccak(text="writeOff(LedgerState storage,uint256)")[:4]
    data = "0x" + (selector + abi_encode(["uint256", "uint256"], [2, loan_id])).hex()
    servicer = fresh.accounts["servicer"].address
    with pytest.raises(ContractLogicError) as info:  # the call protection: a bare revert, no rule of the ledger
        ledger.w3.eth.call({"from": servicer, "to": libraries["CreditRisk"], "data": data})
    assert info.value.data in (None, "", "0x")
    assert ledger.loan(loan_id) == before


# Role administration and the rotation of an institution's address stay available during a pause (revoking or
# replacing a compromised key is part of an investigation); pause/unpause are the switch itself; borrower-funded
# inflows stay open, so the ledger never refuses a payment (docs/ledger-spec.md, "Roles").
INFLOWS = {"repay", "repayBatch", "prepay", "recover"}
# withdrawing an offer moves nothing: open while paused too
NOT_PAUSABLE = {
    "grantRole",
    "revokeRole",
    "renounceRole",
    "rotateInstitution",
    "cancelOffer",
    "pause",
    "unpause",
    *INFLOWS,
}


@pytest.mark.parametrize("fn", sorted(INFLOWS))
def test_borrower_funded_inflows_stay_open_while_paused(fn: str, fresh: World):
    ledger = fresh.client()
    ctx = Ctx(fresh, ledger)
    row = ROWS[fn]
    state = row.setup(ctx)
    ctx.paused()
    caller = ROLES[sorted(row.allowed)[0]]
    head = ledger.audit_head().seq
    receipt = ledger.send(ledger.call(fn, *row.args(ctx, state)), fresh.accounts[caller])
    assert receipt.status == 1
    assert ledger.audit_head().seq == head + 1


@pytest.mark.parametrize("fn", sorted(set(ROWS) - NOT_PAUSABLE))
def test_every_other_state_changing_function_is_frozen_by_a_pause(fn: str, fresh: World):
    """docs/ledger-spec.md: every state-changing function except pause/unpause is whenNotPaused."""
    ledger = fresh.client()
    ctx = Ctx(fresh, ledger)
    row = ROWS[fn]
    state = row.setup(ctx)
    ctx.paused()
    caller = ROLES[sorted(row.allowed)[0]]
    head = ledger.audit_head().seq
    with pytest.raises(ContractError) as info:
        ledger.send(ledger.call(fn, *row.args(ctx, state)), fresh.accounts[caller])
    assert error_signature(info.value) == ("EnforcedPause", ())
    assert ledger.audit_head().seq == head
