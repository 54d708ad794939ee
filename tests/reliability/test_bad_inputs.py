"""Bad inputs, each rejected by the contract with its exact named error and arguments (the client's own checks are
bypassed: calls are encoded raw), and odd tokens: fee-on-transfer (rejected), no-return-value (USDT-like, works),
0 and 18 decimals (exact amounts against the reference model)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from reliability_support import DAY, UNIT, World, error_signature, model_terms, terms_tuple

from pylender import artifacts, errors
from pylender import reference as ref
from pylender.client.ledger import Ledger
from pylender.client.session import _with_args
from pylender.client.tx import Call
from pylender.errors import ContractError
from pylender.values import PolicyParams

PRINCIPAL = 12_000 * UNIT
ORIGINATED, CLOSED, CANCELLED = 1, 4, 5


class Case:
    """Sets up state with the client, then returns (call, caller party, expected (error name, args))."""

    def __init__(self, world: World, ledger: Ledger) -> None:
        self.w = world
        self.l = ledger
        self.a = world.accounts

    def addr(self, party: str) -> str:
        return self.a[party].address

    def terms(self, **overrides: Any) -> tuple[Any, ...]:
        fields: dict[str, Any] = {
            "principal": PRINCIPAL,
            "rate": 1200,
            "periods": 3,
            "period_seconds": 30 * DAY,
            "deadline": self.l.now() + 7 * DAY,
        }
        borrower = overrides.pop("borrower", self.addr("borrower"))
        fields.update(overrides)
        return terms_tuple(borrower, **fields)

    def tranches(self, *pairs: tuple[str, int]) -> list[tuple[str, int]]:
        return [(self.addr(p), s) for p, s in (pairs or (("bank", 7000), ("platform", 3000)))]

    def originate_call(self, terms: tuple[Any, ...], tranches: list[tuple[str, int]] | None = None) -> Call:
        return self.l.call("originate", terms, tranches if tranches is not None else self.tranches())

    def next_id(self) -> int:
        return self.l.loan_count() + 1

    def send(self, call: Call, party: str) -> None:
        self.l.send(call, self.a[party])

    def originated(self, **overrides: Any) -> int:
        receipt = self.l.send(self.originate_call(self.terms(**overrides)), self.a["originator"])
        return self.l.loan_id_from(receipt)

    def funded(self, **overrides: Any) -> int:
        loan_id = self.originated(**overrides)
        self.send(self.l.call("fund", loan_id), "bank")
        self.send(self.l.call("fund", loan_id), "platform")
        return loan_id

    def active(self, **overrides: Any) -> int:
        loan_id = self.funded(**overrides)
        self.send(self.l.call("disburse", loan_id), "originator")
        return loan_id


Expect = tuple[Call, str, tuple[str, tuple[Any, ...]]]


def _originate(c: Case, expected: tuple[str, tuple[Any, ...]], tranches=None, **terms: Any) -> Expect:
    return c.originate_call(c.terms(**terms), tranches), "originator", expected


def _overpay(c: Case) -> Expect:
    loan_id = c.active()
    c.l.advance(30 * DAY)
    top = c.l.amount_due(loan_id).max_payable
    return c.l.call("repay", loan_id, top + 1), "borrower", ("Overpayment", (loan_id, top + 1, top))


def _repay_closed(c: Case) -> Expect:
    loan_id = c.active(periods=1)
    c.send(c.l.call("repay", loan_id, c.l.amount_due(loan_id).max_payable), "borrower")
    return c.l.call("repay", loan_id, 1), "borrower", ("LoanNotInStatus", (loan_id, CLOSED))


def _repay_cancelled(c: Case) -> Expect:
    loan_id = c.funded()
    c.send(c.l.call("cancel", loan_id), "originator")
    return c.l.call("repay", loan_id, 1), "borrower", ("LoanNotInStatus", (loan_id, CANCELLED))


def _fund_twice(c: Case) -> Expect:
    loan_id = c.originated()
    c.send(c.l.call("fund", loan_id), "bank")
    return c.l.call("fund", loan_id), "bank", ("AlreadyFunded", (loan_id, c.addr("bank")))


def _fund_late(c: Case) -> Expect:
    loan_id = c.originated()
    deadline = c.l.loan(loan_id).funding_deadline
    c.l.advance_to(deadline + 1)
    return c.l.call("fund", loan_id), "bank", ("DeadlinePassed", (loan_id, deadline))


def _disburse_unfunded(c: Case) -> Expect:
    loan_id = c.originated()
    c.send(c.l.call("fund", loan_id), "bank")
    return c.l.call("disburse", loan_id), "originator", ("LoanNotInStatus", (loan_id, ORIGINATED))


def _paused(action: str) -> Callable[[Case], Expect]:
    def case(c: Case) -> Expect:
        loan_id = c.active()
        c.send(c.l.call("pause"), "pauser")
        # (borrower-funded inflows - repay, prepay, recover - stay open while paused: see test_access_matrix)
        calls = {
            "withdrawTo": (c.l.call("withdrawTo", c.addr("spare")), "bank"),
            "originate": (c.originate_call(c.terms()), "originator"),
            "withdraw": (c.l.call("withdraw"), "bank"),
            "markDefault": (c.l.call("markDefault", loan_id), "servicer"),
            "registerInstitution": (c.l.call("registerInstitution", c.addr("spare"), "x", False), "admin"),
            "offerPosition": (c.l.call("offerPosition", loan_id, c.addr("third"), 1000, 0, c.l.now() + DAY), "bank"),
        }
        call, by = calls[action]
        return call, by, ("EnforcedPause", ())

    return case


def _exposure(c: Case) -> Expect:
    policy = dataclasses.replace(c.l.policy(), max_lender_exposure=PRINCIPAL * 7000 // 10_000 - 1)
    c.send(c.l.call("setPolicy", policy.to_abi()), "admin")
    loan_id = c.originated()
    amount = PRINCIPAL * 7000 // 10_000
    return c.l.call("fund", loan_id), "bank", ("ExposureAboveCap", (c.addr("bank"), amount, amount - 1))


def _prepay_no_period(c: Case) -> Expect:
    """The last installment owes all the principal: a prepayment of less would defer it."""
    loan_id = c.active(periods=1)
    expected = ("PrepaymentBelowSchedule", (loan_id, PRINCIPAL // 2, PRINCIPAL))
    return c.l.call("prepay", loan_id, PRINCIPAL // 2), "borrower", expected


def _recover_too_much(c: Case) -> Expect:
    loan_id = c.active()
    c.l.advance(30 * DAY + c.w.policy.default_after + 1)
    c.send(c.l.call("markDefault", loan_id), "servicer")
    owed = c.l.loan(loan_id).owed_at_default
    return c.l.call("recover", loan_id, owed + 1), "outsider", ("Overpayment", (loan_id, owed + 1, owed))


def _default_early(c: Case) -> Expect:
    loan_id = c.active(grace=3 * DAY)
    loan = c.l.loan(loan_id)
    since = loan.disbursed_at + 30 * DAY + 3 * DAY
    expected = ("NotOverdueLongEnough", (loan_id, since, since + c.w.policy.default_after))
    return c.l.call("markDefault", loan_id), "servicer", expected


def _offer(c: Case, buyer: str, bps: int, *, price: int = UNIT, ttl: int = DAY, loan_id: int | None = None) -> Call:
    loan = loan_id if loan_id is not None else c.active()
    return c.l.call("offerPosition", loan, c.addr(buyer), bps, price, c.l.now() + ttl)


def _offered(c: Case, price: int = UNIT) -> int:
    """An active loan whose holder, the bank, offers 1,000 bps to the third institution; the offer id."""
    return c.l.offer_id_from(c.l.send(_offer(c, "third", 1000, price=price), c.a["bank"]))


def _offer_more_than_held(c: Case) -> Expect:
    loan_id = c.active()
    return _offer(c, "third", 7001, loan_id=loan_id), "bank", ("ShareNotHeld", (loan_id, c.addr("bank"), 7000, 7001))


def _accept_expired(c: Case) -> Expect:
    offer_id = _offered(c)
    expiry = c.l.offer_of(offer_id).expiry
    c.l.advance_to(expiry + 1)
    return c.l.call("acceptOffer", offer_id), "third", ("OfferExpired", (offer_id, expiry))


def _accept_unpayable(c: Case) -> Expect:
    price = 10**9 * UNIT + 1  # more than the third institution holds (the world minted it 10^9 tokens)
    offer_id = _offered(c, price=price)
    held = c.l.balance_of(c.addr("third"))
    return c.l.call("acceptOffer", offer_id), "third", ("ERC20InsufficientBalance", (c.addr("third"), held, price))


CASES: dict[str, Callable[[Case], Expect]] = {
    "zero principal": lambda c: _originate(c, ("ZeroAmount", ()), principal=0),
    "zero borrower": lambda c: _originate(c, ("ZeroAddress", ()), borrower=ref.ZERO_ADDRESS),
    "shares 7000+2999": lambda c: _originate(
        c, ("SharesNotWhole", (9999,)), tranches=c.tranches(("bank", 7000), ("platform", 2999))
    ),
    "shares 7000+3001": lambda c: _originate(
        c, ("SharesNotWhole", (10_001,)), tranches=c.tranches(("bank", 7000), ("platform", 3001))
    ),
    "a zero share": lambda c: _originate(
        c, ("SharesNotWhole", (10_000,)), tranches=c.tranches(("platform", 10_000), ("bank", 0))
    ),
    "duplicate lender": lambda c: _originate(
        c, ("DuplicateLender", (c.addr("platform"),)), tranches=c.tranches(("platform", 5000), ("platform", 5000))
    ),
    "unregistered lender": lambda c: _originate(
        c, ("UnknownInstitution", (c.addr("spare"),)), tranches=c.tranches(("platform", 5000), ("spare", 5000))
    ),
    "no tranche": lambda c: _originate(c, ("InvalidTrancheCount", (0,)), tranches=[]),
    "17 tranches": lambda c: _originate(
        c, ("InvalidTrancheCount", (17,)), tranches=[(f"0x{i:040x}", 1) for i in range(1, 17)] + [(c.addr("bank"), 1)]
    ),
    "rate above the cap": lambda c: _originate(c, ("RateAboveCap", (2401, 2400)), rate=2401),
    "penalty rate above the cap": lambda c: _originate(c, ("PenaltyRateAboveCap", (3601, 3600)), penalty=3601),
    "principal above the cap": lambda c: _originate(
        c, ("PrincipalAboveCap", (200_000 * UNIT + 1, 200_000 * UNIT)), principal=200_000 * UNIT + 1
    ),
    "platform share below the minimum": lambda c: _originate(
        c, ("ShareBelowMinimum", (c.next_id(), 2999, 3000)), tranches=c.tranches(("bank", 7001), ("platform", 2999))
    ),
    "zero periods": lambda c: _originate(c, ("PeriodsOutOfRange", (0, 600)), periods=0),
    "601 periods": lambda c: _originate(c, ("PeriodsOutOfRange", (601, 600)), periods=601),
    "zero period length": lambda c: _originate(c, ("ZeroPeriodSeconds", ()), period_seconds=0),
    "service fee without recipient": lambda c: _originate(
        c, ("FeeRecipientMismatch", ("0x0000000000000000000000000000000000000000", 100)), service_fee=100
    ),
    "service fee above 100 %": lambda c: _originate(
        c, ("ServiceFeeAboveWhole", (10_001,)), service_fee=10_001, fee_recipient=c.addr("platform")
    ),
    "unregistered fee recipient": lambda c: _originate(
        c, ("UnknownInstitution", (c.addr("spare"),)), service_fee=100, fee_recipient=c.addr("spare")
    ),
    "deadline not in the future": lambda c: _originate(
        c, ("DeadlinePassed", (c.next_id(), c.l.now())), deadline=c.l.now()
    ),
    "institution registered twice": lambda c: (
        c.l.call("registerInstitution", c.addr("bank"), "again", False),
        "admin",
        ("InstitutionExists", (c.addr("bank"),)),
    ),
    "zero-address institution": lambda c: (
        c.l.call("registerInstitution", ref.ZERO_ADDRESS, "zero", False),
        "admin",
        ("ZeroAddress", ()),
    ),
    "repay zero": lambda c: (c.l.call("repay", c.active(), 0), "borrower", ("ZeroAmount", ())),
    "prepay zero": lambda c: (c.l.call("prepay", c.active(), 0), "borrower", ("ZeroAmount", ())),
    "withdraw nothing": lambda c: (c.l.call("withdraw"), "bank", ("ZeroAmount", ())),
    "batch length mismatch": lambda c: (
        c.l.call("repayBatch", [c.active()], [1, 2]),
        "servicer",
        ("LengthMismatch", (1, 2)),
    ),
    "empty batch": lambda c: (c.l.call("repayBatch", [], []), "servicer", ("ZeroAmount", ())),
    "overpayment": _overpay,
    "repay a closed loan": _repay_closed,
    "repay a cancelled loan": _repay_cancelled,
    "fund twice": _fund_twice,
    "fund after the deadline": _fund_late,
    "fund by a lender without a tranche": lambda c: (
        c.l.call("fund", (loan := c.originated())),
        "third",
        ("NotATrancheLender", (loan, c.addr("third"))),
    ),
    "disburse before funded": _disburse_unfunded,
    "exposure above the cap": _exposure,
    "prepayment leaving no period": _prepay_no_period,
    "recover more than owed": _recover_too_much,
    "default before defaultAfter": _default_early,
    "withdraw to another address while paused": _paused("withdrawTo"),
    "originate while paused": _paused("originate"),
    "withdraw while paused": _paused("withdraw"),
    "mark default while paused": _paused("markDefault"),
    "register while paused": _paused("registerInstitution"),
    "pause twice": lambda c: (
        c.send(c.l.call("pause"), "pauser") or c.l.call("pause"),
        "pauser",
        ("EnforcedPause", ()),
    ),
    "unpause when not paused": lambda c: (c.l.call("unpause"), "pauser", ("ExpectedPause", ())),
    # positions changing hands (docs/ledger-spec.md, "Participations")
    "offer to oneself": lambda c: (_offer(c, "bank", 1000), "bank", ("SelfTransfer", (c.addr("bank"),))),
    "offer 0 bps": lambda c: (_offer(c, "third", 0), "bank", ("ZeroShare", ())),
    "offer more than held": _offer_more_than_held,
    "offer to an unregistered buyer": lambda c: (
        _offer(c, "spare", 1000),
        "bank",
        ("UnknownInstitution", (c.addr("spare"),)),
    ),
    "accept an expired offer": _accept_expired,
    "accept at a price the buyer cannot pay": _accept_unpayable,
    "offer while paused": _paused("offerPosition"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_rejected_with_its_named_error(name: str, fresh: World):
    ledger = fresh.client()
    case = Case(fresh, ledger)
    call, by, expected = CASES[name](case)
    balance = ledger.balance_of(ledger.address)
    head = ledger.audit_head().seq
    with pytest.raises(ContractError) as info:
        ledger.send(call, fresh.accounts[by])
    assert error_signature(info.value) == expected
    assert (ledger.balance_of(ledger.address), ledger.audit_head().seq) == (balance, head)


# ------------------------------------------------------------------------------------------------ odd tokens


def _deploy_token(world: World, name: str, *args: Any) -> str:
    art = artifacts.load(name)
    receipt = world.session._sender().deploy(_with_args(art, list(args)), name)
    assert receipt.contract_address
    return receipt.contract_address


def _ledger_on(world: World, token: str, decimals: int) -> Ledger:
    a = world.accounts
    ledger = world.session.deploy(
        token=token,
        policy=PolicyParams.defaults(decimals),
        originator=a["originator"].address,
        servicer=a["servicer"].address,
        pauser=a["pauser"].address,
    )
    ledger.add_signer(*a.values())
    ledger.register_institution(a["bank"], "bank", is_platform=False)
    ledger.register_institution(a["platform"], "platform", is_platform=True)
    for party in ("bank", "platform", "borrower"):
        ledger.mint(a[party], 10**9 * 10**decimals)
        ledger.approve(a[party])
    return ledger


def test_fee_on_transfer_token_is_rejected_not_booked(fresh: World):
    token = _deploy_token(fresh, "FeeOnTransferToken")
    ledger = _ledger_on(fresh, token, 6)
    c = Case(fresh, ledger)
    loan_id = c.originated()
    amount = PRINCIPAL * 7000 // 10_000
    with pytest.raises(ContractError) as info:
        c.send(ledger.call("fund", loan_id), "bank")
    assert error_signature(info.value) == ("UnexpectedTransferAmount", (amount, amount - amount // 100))
    assert ledger.balance_of(ledger.address) == 0
    assert ledger.tranches(loan_id)[0].funded is False


def _full_life_cycle(
    world: World, ledger: Ledger, principal: int, model: ref.ReferenceLedger, rate: int = 1800
) -> None:
    """Originate 70/30, fund, disburse, pay every installment when due, withdraw: exact amounts as the model."""
    c = Case(world, ledger)
    a = world.accounts
    terms = c.terms(principal=principal, rate=rate, periods=3, service_fee=1000, fee_recipient=c.addr("platform"))
    tranches = c.tranches()
    now = ledger.now() + 1
    world.rpc("evm_setNextBlockTimestamp", [hex(now)])
    loan_id = ledger.loan_id_from(ledger.send(c.originate_call(terms, tranches), a["originator"]))
    model.originate(model_terms(terms), [ref.Tranche(x, s) for x, s in tranches], now)
    for party in ("bank", "platform"):
        now += 1
        world.rpc("evm_setNextBlockTimestamp", [hex(now)])
        c.send(ledger.call("fund", loan_id), party)
        model.fund(loan_id, c.addr(party), now)
    now += 1
    world.rpc("evm_setNextBlockTimestamp", [hex(now)])
    borrower_before = ledger.balance_of(a["borrower"])
    c.send(ledger.call("disburse", loan_id), "originator")
    model.disburse(loan_id, now)
    assert ledger.balance_of(a["borrower"]) - borrower_before == principal
    for _ in range(3):
        now += 30 * DAY
        due = model.amount_due(loan_id, now).total_due
        world.rpc("evm_setNextBlockTimestamp", [hex(now)])
        c.send(ledger.call("repay", loan_id, due), "borrower")
        model.repay(loan_id, due, now)
    assert ledger.loan(loan_id).status == ref.LoanStatus.CLOSED == model.loans[loan_id].status
    for party in ("bank", "platform"):
        expected = model.books.accounts[c.addr(party)].withdrawable
        assert ledger.account_of(a[party]).withdrawable == expected
        before = ledger.balance_of(a[party])
        c.send(ledger.call("withdraw"), party)
        model.withdraw(c.addr(party))
        assert ledger.balance_of(a[party]) - before == expected
    assert ledger.balance_of(ledger.address) == 0
    model.check_conservation(0)


def _model(world: World, ledger: Ledger, decimals: int) -> ref.ReferenceLedger:
    model = ref.ReferenceLedger(PolicyParams.defaults(decimals))
    model.register_institution(world.address("bank"), "bank", False)
    model.register_institution(world.address("platform"), "platform", True)
    return model


def test_token_without_return_values_works_end_to_end(fresh: World):
    token = _deploy_token(fresh, "NoReturnToken")
    ledger = _ledger_on(fresh, token, ledger_decimals := 6)
    _full_life_cycle(fresh, ledger, 12_000 * 10**ledger_decimals, _model(fresh, ledger, ledger_decimals))


# 7 units of a 0-decimal token at 18 % would be charged a whole unit of interest each month (about 200 % a year):
# refused (EffectiveRateAboveCap, below); interest-free, they run to the unit.
@pytest.mark.parametrize(
    "decimals, principal, rate", [(0, 12_345, 1800), (0, 7, 0), (18, 12_345 * 10**18 + 987_654_321, 1800)]
)
def test_decimals_token_amounts_are_exact(decimals: int, principal: int, rate: int, fresh: World):
    token = _deploy_token(fresh, "DecimalsToken", decimals)
    ledger = _ledger_on(fresh, token, decimals)
    assert ledger.decimals == decimals
    _full_life_cycle(fresh, ledger, principal, _model(fresh, ledger, decimals), rate=rate)


def test_a_tiny_loan_whose_rounding_breaks_the_rate_cap_is_refused(fresh: World):
    token = _deploy_token(fresh, "DecimalsToken", 0)
    ledger = _ledger_on(fresh, token, 0)
    c = Case(fresh, ledger)
    terms = c.terms(principal=7, rate=1800, periods=3, service_fee=1000, fee_recipient=c.addr("platform"))
    model = _model(fresh, ledger, 0)
    with pytest.raises(errors.EffectiveRateAboveCap) as chain_error:
        ledger.send(c.originate_call(terms, c.tranches()), fresh.accounts["originator"])
    with pytest.raises(errors.EffectiveRateAboveCap) as model_error:
        model.originate(model_terms(terms), [ref.Tranche(x, s) for x, s in c.tranches()], ledger.now())
    assert chain_error.value.args == model_error.value.args
    assert chain_error.value.capBps == 2400 and chain_error.value.effectiveRateBps > 2400
