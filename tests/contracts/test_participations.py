"""Positions change hands (docs/ledger-spec.md, "Participations"): offers, delivery versus payment, the offset rule
checked against an independent exact computation from the holding periods, what moves with a position (exposure,
loss share, recoveries) and what stays (the reserve, the lead role), the policy and every refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import ape
import pytest
from conftest import ZERO, deploy_ledger, terms_tuple
from ledger_expect import (
    ACTIVE,
    BPS,
    CLOSED,
    DAY,
    DEFAULTED,
    PERIOD,
    WRITTEN_OFF,
    check_conservation,
    income_of,
    mark_transferred,
    policy_tuple,
    recompute_audit_chain,
)

from pylender import schedule
from pylender.values import PAY_ALL_DUE

GRACE = 3 * DAY
COMPONENTS = ("income", "principal", "recovered")


# ------------------------------------------------------------------ the independent computation


@dataclass
class Holding:
    """One holder of one component: its share now and its exact entitlement accrued up to `since`."""

    share: int
    accrued: Fraction = Fraction(0)
    since: int = 0


@dataclass
class Entitlements:
    """Each holder's exact entitlement on each component, from its holding periods: Σ over the periods it held of
    (C_end - C_start) × share / BPS. Independent of the ledger's offsets: no floors until read, no offset arithmetic.
    """

    lead: str
    holders: dict[str, dict[str, Holding]] = field(default_factory=dict)

    @classmethod
    def of(cls, shares: dict[str, int]) -> Entitlements:
        e = cls(lead=next(iter(shares)))
        for who, share in shares.items():
            e.holders[who] = {c: Holding(share) for c in COMPONENTS}
        return e

    def exact(self, who: str, component: str, total: int) -> Fraction:
        h = self.holders[who][component]
        return h.accrued + Fraction((total - h.since) * h.share, BPS)

    def transfer(self, seller: str, buyer: str, bps: int, totals: dict[str, int]) -> None:
        if buyer not in self.holders:
            self.holders[buyer] = {c: Holding(0) for c in COMPONENTS}
        for c in COMPONENTS:
            for who, delta in ((seller, -bps), (buyer, bps)):
                h = self.holders[who][c]
                h.accrued = self.exact(who, c, totals[c])
                h.since = totals[c]
                h.share += delta

    def credit(self, who: str, component: str, total: int, final: bool = False) -> int:
        """floor of the exact entitlement; the lead takes the component's remainder once it is final."""
        if final and who == self.lead:
            others = sum(self.credit(o, component, total) for o in self.holders if o != self.lead)
            return total - others
        return int(self.exact(who, component, total))  # entitlements are >= 0: int() is the floor


def _totals(ledger, loan_id) -> dict[str, int]:
    loan = ledger.getLoan(loan_id)
    return {"income": income_of(loan), "principal": loan.principalPaid, "recovered": loan.recovered}


def _expected_position(e: Entitlements, who: str, totals: dict[str, int], status: int, reserve_bps: int, owed: int):
    ended = status in (CLOSED, WRITTEN_OFF, 8)
    income = e.credit(who, "income", totals["income"], final=ended)
    principal = e.credit(who, "principal", totals["principal"], final=ended)
    recovered = e.credit(who, "recovered", totals["recovered"], final=totals["recovered"] == owed != 0)
    held = income * reserve_bps // BPS if status in (ACTIVE, DEFAULTED) else 0
    return income, held, principal, recovered


def _positions(ledger, loan_id, holders):
    out = {}
    for who, account in holders.items():
        p = ledger.positionOf(loan_id, account)
        out[who] = (p.incomeCredited, p.reserveHeld, p.principalCredited, p.recoveredCredited)
    return out


def _check_positions(ledger, loan_id, e: Entitlements, holders: dict, reserve_bps: int):
    loan = ledger.getLoan(loan_id)
    totals = _totals(ledger, loan_id)
    got = _positions(ledger, loan_id, {w: holders[w] for w in e.holders})
    want = {w: _expected_position(e, w, totals, loan.status, reserve_bps, loan.owedAtDefault) for w in e.holders}
    assert got == want
    return got


# ------------------------------------------------------------------ helpers


def _offer(ledger, chain, loan_id, seller, buyer, bps, price, ttl=DAY):
    expiry = chain.pending_timestamp + ttl
    tx = ledger.offerPosition(loan_id, buyer, bps, price, expiry, sender=seller)
    [event] = tx.events.filter(ledger.PositionOffered)
    return event.offerId, expiry


def _accept(ledger, offer_id, buyer, loan_id):
    tx = ledger.acceptOffer(offer_id, sender=buyer)
    mark_transferred(ledger, loan_id)
    return tx


def _balances(ledger, accounts):
    return {w: (ledger.accountOf(a).withdrawable, ledger.accountOf(a).reserve) for w, a in accounts.items()}


@pytest.fixture
def newco(ledger, admin, stranger, institutions):
    """A fourth institution (index 4, a bank), new to every loan."""
    ledger.registerInstitution(stranger, "Newco", False, sender=admin)
    return stranger


# ------------------------------------------------------------------ the acceptance scenario


def test_a_share_sold_and_bought_back_keeps_every_holder_exact_at_every_step(
    ledger, make_loan, bank, platform, third, newco, borrower, chain, conserve, token
):
    """12 installments, shares 3,333 / 3,333 / 3,334. Lender 2 sells 1,111 bps to a new institution after
    installment 4; the new institution sells them back after installment 9. A late installment adds penalty income,
    a service fee and a 10 % reserve make income and reserve non-trivial. At every step every holder's credits
    equal the floor of its exact entitlement for the periods it held; at closure the sums equal what came in."""
    holders = {"bank": bank, "platform": platform, "third": third, "newco": newco}
    reserve_bps = 1000
    loan_id = make_loan(
        tranches=[(bank, 3333), (platform, 3333), (third, 3334)],
        principal=1_234_567,
        annualRateBps=1500,
        penaltyRateBps=1800,
        gracePeriod=GRACE,
        reserveBps=reserve_bps,
        serviceFeeBps=700,
        feeRecipient=third.address,
    )
    e = Entitlements.of({"bank": 3333, "platform": 3333, "third": 3334})
    start = _balances(ledger, holders)
    received = {w: 0 for w in holders}  # sale proceeds credited to each holder's withdrawable
    fees = 0
    loan = ledger.getLoan(loan_id)
    rows = schedule.build_schedule(loan.principal, 1500, PERIOD, 12, 0, start=loan.disbursedAt)
    for k, row in enumerate(rows, start=1):
        chain.pending_timestamp = row.due + (10 * DAY if k == 6 else 0)  # installment 6 paid 10 days late
        tx = ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)
        fees += tx.events.filter(ledger.RepaymentApplied)[0].breakdown[3]
        _check_positions(ledger, loan_id, e, holders, reserve_bps)
        conserve()
        if k in (4, 9):
            seller, buyer = ("platform", "newco") if k == 4 else ("newco", "platform")
            price = 150_000 + k
            offer_id, _ = _offer(ledger, chain, loan_id, holders[seller], holders[buyer], 1111, price)
            before = _positions(ledger, loan_id, {w: holders[w] for w in e.holders})
            tx = _accept(ledger, offer_id, holders[buyer], loan_id)
            [event] = tx.events.filter(ledger.PositionTransferred)
            assert (event.loanId, event.seller, event.buyer, event.offerId, event.shareBps, event.price) == (
                loan_id,
                holders[seller],
                holders[buyer],
                offer_id,
                1111,
                price,
            )
            e.transfer(seller, buyer, 1111, _totals(ledger, loan_id))
            received[seller] += price
            after = _check_positions(ledger, loan_id, e, holders, reserve_bps)
            # nothing credited moves at the transfer itself
            assert {w: after[w] for w in before} == before
            conserve()
    assert ledger.getLoan(loan_id).status == CLOSED
    totals = _totals(ledger, loan_id)
    final = _check_positions(ledger, loan_id, e, holders, reserve_bps)
    assert sum(p[0] for p in final.values()) == totals["income"]
    assert sum(p[2] for p in final.values()) == totals["principal"] == 1_234_567
    assert [(t.lender, t.shareBps) for t in ledger.getTranches(loan_id)] == [
        (bank, 3333),
        (platform, 3333),
        (third, 3334),
        (newco, 0),
    ]
    # every unit in each account: its credits, the sale proceeds, the fees; the reserves released at closure
    end = _balances(ledger, holders)
    for who in holders:
        income, _, principal, _ = final[who]
        fee = fees if who == "third" else 0
        assert end[who][0] - start[who][0] == income + principal + received[who] + fee
        assert end[who][1] == start[who][1] == 0
    check_conservation(ledger, token)


def test_a_written_off_position_sold_at_a_tenth_of_its_balance_takes_the_recovery(
    ledger, make_loan, bank, platform, third, servicer, stranger, chain, conserve
):
    """Non-performing-loan sale: the bank's written-off half goes to a third institution at 10 % of its outstanding
    balance. Later recoveries are credited to the buyer; the bank's recorded loss stays what the write-off made it;
    the buyer's loss is untouched; the platform, which kept its half, has its loss reduced as before."""
    loan_id = make_loan(tranches=[(bank, 5000), (platform, 5000)], principal=1_000_001, gracePeriod=GRACE)
    chain.pending_timestamp = chain.pending_timestamp + PERIOD + GRACE + 90 * DAY + 1
    ledger.markDefault(loan_id, sender=servicer)
    ledger.writeOff(loan_id, sender=servicer)
    loan = ledger.getLoan(loan_id)
    assert (loan.status, loan.writtenOff) == (WRITTEN_OFF, 1_000_001)
    losses = {w: ledger.accountOf(a).loss for w, a in (("bank", bank), ("platform", platform), ("third", third))}
    assert losses == {"bank": 500_001, "platform": 500_000, "third": 0}  # the lead takes the remainder
    price = 500_001 // 10  # 10 % of the bank's outstanding balance
    offer_id, _ = _offer(ledger, chain, loan_id, bank, third, 5000, price)
    third_cash = ledger.accountOf(third).withdrawable
    _accept(ledger, offer_id, third, loan_id)
    assert ledger.accountOf(bank).withdrawable == price
    conserve()
    ledger.recover(loan_id, 400_001, sender=stranger)
    assert ledger.positionOf(loan_id, third).recoveredCredited == 200_000
    assert ledger.positionOf(loan_id, platform).recoveredCredited == 200_000
    assert ledger.positionOf(loan_id, bank).recoveredCredited == 0
    assert ledger.accountOf(third).withdrawable - third_cash == 200_000
    assert ledger.accountOf(bank).loss == 500_001  # as the write-off made it
    assert ledger.accountOf(third).loss == 0
    assert ledger.accountOf(platform).loss == 500_000 - 200_000
    conserve()
    # recovered in full: the remainder goes to the lead tranche (the bank, share 0 now), without touching its loss
    rest = loan.owedAtDefault - 400_001
    ledger.recover(loan_id, rest, sender=stranger)
    owed = loan.owedAtDefault
    assert ledger.positionOf(loan_id, third).recoveredCredited == owed * 5000 // BPS
    assert ledger.positionOf(loan_id, bank).recoveredCredited == owed - 2 * (owed * 5000 // BPS)
    assert ledger.accountOf(bank).loss == 500_001
    assert ledger.accountOf(platform).loss == max(500_000 - owed * 5000 // BPS, 0)
    conserve()


def test_a_transfer_that_breaks_the_platform_minimum_names_the_values(ledger, make_loan, bank, platform, chain):
    loan_id = make_loan()  # bank 7,000, platform 3,000 = the policy minimum
    offer_id, _ = _offer(ledger, chain, loan_id, platform, bank, 1, 1_000)
    with ape.reverts(ledger.ShareBelowMinimum, loanId=loan_id, platformShareBps=2999, minBps=3000):
        ledger.acceptOffer(offer_id, sender=bank)
    # a bank-to-bank or platform-to-platform transfer does not lower it
    assert ledger.getTranches(loan_id)[1].shareBps == 3000


def test_a_sole_lender_cannot_make_its_loan_co_lent_without_the_platform_minimum(
    ledger, make_loan, bank, newco, platform, chain, conserve
):
    loan_id = make_loan(tranches=[(bank, 10_000)])
    offer_id, _ = _offer(ledger, chain, loan_id, bank, newco, 2000, 0)
    with ape.reverts(ledger.ShareBelowMinimum, loanId=loan_id, platformShareBps=0, minBps=3000):
        ledger.acceptOffer(offer_id, sender=newco)
    offer_id, _ = _offer(ledger, chain, loan_id, bank, platform, 3000, 0)  # to a platform: allowed
    _accept(ledger, offer_id, platform, loan_id)
    assert [(t.lender, t.shareBps) for t in ledger.getTranches(loan_id)] == [(bank, 7000), (platform, 3000)]
    conserve()


# ------------------------------------------------------------------ what moves, what stays


def test_exposure_moves_on_both_sides_and_the_cap_holds_for_the_buyer(
    ledger, admin, make_loan, bank, platform, third, chain, conserve
):
    loan_id = make_loan(tranches=[(bank, 3333), (platform, 3334), (third, 3333)], principal=100_001)
    before = {w: ledger.accountOf(a).exposure for w, a in (("bank", bank), ("platform", platform), ("third", third))}
    offer_id, _ = _offer(ledger, chain, loan_id, platform, third, 1234, 7)
    _accept(ledger, offer_id, third, loan_id)
    after = {w: ledger.accountOf(a).exposure for w, a in (("bank", bank), ("platform", platform), ("third", third))}
    amounts = {t.lender: t.amount for t in ledger.getTranches(loan_id)}
    p, t, b = platform.address, third.address, bank.address
    # tranche amounts recomputed: floor(P × share / BPS), the lead takes the rest
    assert amounts == {
        p: 100_001 * 2100 // BPS,
        t: 100_001 * 4567 // BPS,
        b: 100_001 - 100_001 * 2100 // BPS - 100_001 * 4567 // BPS,
    }
    assert after["platform"] - before["platform"] == amounts[p] - 100_001 * 3334 // BPS
    assert after["third"] - before["third"] == amounts[t] - 100_001 * 3333 // BPS
    assert after["bank"] - before["bank"] == amounts[b] - (100_001 - 100_001 * 3334 // BPS - 100_001 * 3333 // BPS)
    assert sum(after.values()) == sum(before.values())
    ledger.setPolicy(policy_tuple(maxLenderExposure=after["third"] + 100), sender=admin)
    offer_id, _ = _offer(ledger, chain, loan_id, bank, third, 1000, 0)
    exposure = after["third"] + 100_001 * 5567 // BPS - 100_001 * 4567 // BPS
    with ape.reverts(ledger.ExposureAboveCap, lender=third, exposure=exposure, cap=after["third"] + 100):
        ledger.acceptOffer(offer_id, sender=third)
    conserve()


def test_the_lead_that_sells_everything_keeps_the_leftovers_and_its_reserve_until_closure(
    ledger, make_loan, bank, platform, third, borrower, chain, conserve
):
    """The lead role and the seller's reserve do not move: tranche 0 (share 0) still takes the remainders at
    closure, and the reserve the lead built before the sale is released to it then."""
    loan_id = make_loan(tranches=[(bank, 4001), (platform, 3000), (third, 2999)], principal=99_999, reserveBps=2000)
    loan = ledger.getLoan(loan_id)
    rows = schedule.build_schedule(loan.principal, 1200, PERIOD, 12, 0, start=loan.disbursedAt)
    e = Entitlements.of({"bank": 4001, "platform": 3000, "third": 2999})
    holders = {"bank": bank, "platform": platform, "third": third}
    for k, row in enumerate(rows, start=1):
        chain.pending_timestamp = row.due
        ledger.repay(loan_id, row.payment, sender=borrower)
        if k == 5:
            held = ledger.positionOf(loan_id, bank).reserveHeld
            assert held > 0
            offer_id, _ = _offer(ledger, chain, loan_id, bank, third, 4001, 40_000)
            _accept(ledger, offer_id, third, loan_id)
            e.transfer("bank", "third", 4001, _totals(ledger, loan_id))
            assert ledger.positionOf(loan_id, bank).reserveHeld == held  # stays with the seller
            assert ledger.accountOf(bank).reserve == held
        _check_positions(ledger, loan_id, e, holders, 2000)
        conserve()
    assert ledger.getLoan(loan_id).status == CLOSED
    assert ledger.accountOf(bank).reserve == 0  # released at closure
    final = _positions(ledger, loan_id, holders)
    totals = _totals(ledger, loan_id)
    assert sum(p[0] for p in final.values()) == totals["income"]
    assert sum(p[2] for p in final.values()) == 99_999


def test_recoveries_follow_the_holder_and_reduce_only_the_loss_on_the_share_kept(
    ledger, make_loan, bank, platform, third, servicer, stranger, chain, conserve
):
    """A defaulted loan recovers in part, changes hands, is written off and recovers again; then a holder buys
    more after the write-off: its later recoveries reduce its loss only on the share it held at the write-off."""
    loan_id = make_loan(tranches=[(bank, 4000), (platform, 3000), (third, 3000)], principal=300_007)
    chain.pending_timestamp = chain.pending_timestamp + PERIOD + GRACE + 90 * DAY + 1
    ledger.markDefault(loan_id, sender=servicer)
    e = Entitlements.of({"bank": 4000, "platform": 3000, "third": 3000})
    holders = {"bank": bank, "platform": platform, "third": third}
    ledger.recover(loan_id, 1_001, sender=stranger)
    offer_id, _ = _offer(ledger, chain, loan_id, bank, third, 1500, 10)
    _accept(ledger, offer_id, third, loan_id)
    e.transfer("bank", "third", 1500, _totals(ledger, loan_id))
    _check_positions(ledger, loan_id, e, holders, 0)
    conserve()
    ledger.writeOff(loan_id, sender=servicer)
    loss = ledger.getLoan(loan_id).writtenOff
    assert ledger.accountOf(third).loss == loss * 4500 // BPS  # the loss share follows the shares at write-off
    ledger.recover(loan_id, 2_003, sender=stranger)
    _check_positions(ledger, loan_id, e, holders, 0)
    losses = {w: ledger.accountOf(a).loss for w, a in holders.items()}
    offer_id, _ = _offer(ledger, chain, loan_id, platform, third, 1000, 1)
    _accept(ledger, offer_id, third, loan_id)
    e.transfer("platform", "third", 1000, _totals(ledger, loan_id))
    recovered_before = ledger.getLoan(loan_id).recovered
    ledger.recover(loan_id, 5_000, sender=stranger)
    recovered = recovered_before + 5_000
    _check_positions(ledger, loan_id, e, holders, 0)
    # third holds 5,500 now, 4,500 of it since the write-off: its loss falls by its credit on 4,500 only
    third_cut = recovered * 4500 // BPS - recovered_before * 4500 // BPS
    platform_credit = e.credit("platform", "recovered", recovered) - e.credit("platform", "recovered", recovered_before)
    assert ledger.accountOf(third).loss == max(losses["third"] - third_cut, 0)
    assert ledger.accountOf(platform).loss == max(losses["platform"] - platform_credit, 0)
    bank_cut = recovered * 2500 // BPS - recovered_before * 2500 // BPS
    assert ledger.accountOf(bank).loss == max(losses["bank"] - bank_cut, 0)
    conserve()


def test_a_buyer_already_in_the_loan_grows_its_tranche(ledger, make_loan, bank, platform, chain, conserve):
    loan_id = make_loan(tranches=[(bank, 5000), (platform, 5000)])
    offer_id, _ = _offer(ledger, chain, loan_id, bank, platform, 2000, 5)
    _accept(ledger, offer_id, platform, loan_id)
    assert [(t.lender, t.shareBps, t.funded) for t in ledger.getTranches(loan_id)] == [
        (bank, 3000, True),
        (platform, 7000, True),
    ]
    conserve()


# ------------------------------------------------------------------ offers, delivery versus payment


def test_offer_view_cancel_and_the_records_chain(ledger, make_loan, bank, platform, pauser, chain, conserve):
    loan_id = make_loan()
    offer_id, expiry = _offer(ledger, chain, loan_id, bank, platform, 500, 12_345)
    assert ledger.offerCount() == offer_id == 1
    view = ledger.offerOf(offer_id)
    assert (view.loanId, view.seller, view.buyer, view.shareBps, view.price, view.expiry) == (
        loan_id,
        bank,
        platform,
        500,
        12_345,
        expiry,
    )
    ledger.pause(sender=pauser)
    tx = ledger.cancelOffer(offer_id, sender=bank)  # withdrawing an offer works while paused
    [event] = tx.events.filter(ledger.OfferCancelled)
    assert (event.loanId, event.seller, event.offerId) == (loan_id, bank, offer_id)
    assert ledger.offerOf(offer_id).loanId == 0
    with ape.reverts(ledger.OfferNotOpen, offerId=offer_id):
        ledger.cancelOffer(offer_id, sender=bank)
    ledger.unpause(sender=pauser)
    with ape.reverts(ledger.OfferNotOpen, offerId=offer_id):
        ledger.acceptOffer(offer_id, sender=platform)
    offer_id, _ = _offer(ledger, chain, loan_id, bank, platform, 500, 12_345)
    _accept(ledger, offer_id, platform, loan_id)
    names = [n for n, _ in recompute_audit_chain(ledger, ape.chain.provider.web3)]
    assert names[-6:] == [
        "PositionOffered",
        "LedgerPaused",
        "OfferCancelled",
        "LedgerUnpaused",
        "PositionOffered",
        "PositionTransferred",
    ]
    conserve()


def test_a_price_the_buyer_cannot_pay_moves_nothing(ledger, make_loan, bank, platform, token, chain, conserve):
    loan_id = make_loan()
    tranches = [(t.lender, t.shareBps) for t in ledger.getTranches(loan_id)]
    price = token.balanceOf(platform) + 1
    offer_id, _ = _offer(ledger, chain, loan_id, bank, platform, 500, price)
    with ape.reverts():
        ledger.acceptOffer(offer_id, sender=platform)
    assert [(t.lender, t.shareBps) for t in ledger.getTranches(loan_id)] == tranches
    assert ledger.offerOf(offer_id).loanId == loan_id  # still open
    assert ledger.accountOf(bank).withdrawable == 0
    conserve()


def test_a_fee_on_transfer_token_is_refused_at_acceptance(project, admin, originator, bank, platform, borrower, chain):
    token = admin.deploy(project.FeeOnTransferToken)
    token.setFeeBps(0, sender=admin)  # no fee while the loan is built
    ledger = deploy_ledger(admin, token, policy_tuple())
    ledger.grantRole(ledger.ORIGINATOR_ROLE(), originator, sender=admin)
    ledger.registerInstitution(bank, "Bank", False, sender=admin)
    ledger.registerInstitution(platform, "Platform", True, sender=admin)
    for who in (bank, platform):
        token.mint(who, 10**12, sender=admin)
        token.approve(ledger, 2**256 - 1, sender=who)
    terms = {
        "borrower": borrower.address,
        "borrowerId": b"\x44" * 32,
        "principal": 100_000,
        "annualRateBps": 1000,
        "periods": 3,
        "periodSeconds": PERIOD,
        "method": 0,
        "gracePeriod": 0,
        "penaltyRateBps": 0,
        "prepaymentFeeBps": 0,
        "serviceFeeBps": 0,
        "feeRecipient": ZERO,
        "reserveBps": 0,
        "fundingDeadline": chain.pending_timestamp + DAY,
    }
    ledger.originate(terms_tuple(terms), [(bank, 7000), (platform, 3000)], sender=originator)
    ledger.fund(1, sender=bank)
    ledger.fund(1, sender=platform)
    ledger.disburse(1, sender=originator)
    token.setFeeBps(100, sender=admin)
    offer_id, _ = _offer(ledger, chain, 1, bank, platform, 1000, 10_000)
    with ape.reverts(ledger.UnexpectedTransferAmount, expected=10_000, received=9_900):
        ledger.acceptOffer(offer_id, sender=platform)
    assert ledger.getTranches(1)[0].shareBps == 7000


@pytest.mark.parametrize(
    "case",
    ["self", "zero", "more than held", "unregistered buyer", "expired", "past expiry", "price above limit"],
)
def test_bad_offers_are_refused_with_named_errors(case, ledger, make_loan, bank, platform, outsider, chain):
    loan_id = make_loan()
    now = chain.pending_timestamp
    args = {"buyer": platform, "bps": 1000, "price": 1, "expiry": now + DAY}
    if case == "self":
        args["buyer"] = bank
        expect = (ledger.SelfTransfer, {"account": bank})
    elif case == "zero":
        args["bps"] = 0
        expect = (ledger.ZeroShare, {})
    elif case == "more than held":
        args["bps"] = 7001
        expect = (ledger.ShareNotHeld, {"loanId": loan_id, "holder": bank, "heldBps": 7000, "shareBps": 7001})
    elif case == "unregistered buyer":
        args["buyer"] = outsider
        expect = (ledger.UnknownInstitution, {"account": outsider})
    elif case == "past expiry":
        args["expiry"] = now - 1
        expect = (ledger.DeadlinePassed, {"loanId": loan_id, "deadline": now - 1})
    elif case == "price above limit":
        args["price"] = 2**128
        expect = (ledger.PriceAboveLimit, {"price": 2**128, "limit": 2**128 - 1})
    else:  # an offer accepted after its expiry
        offer_id, expiry = _offer(ledger, chain, loan_id, bank, platform, 1000, 1, ttl=DAY)
        chain.pending_timestamp = expiry + 1
        with ape.reverts(ledger.OfferExpired, offerId=offer_id, expiry=expiry):
            ledger.acceptOffer(offer_id, sender=platform)
        return
    error, fields = expect
    with ape.reverts(error, **fields):
        ledger.offerPosition(loan_id, args["buyer"], args["bps"], args["price"], args["expiry"], sender=bank)


def test_who_may_offer_accept_and_cancel(ledger, make_loan, originate, bank, platform, third, outsider, pauser, chain):
    loan_id = make_loan()
    offer_id, _ = _offer(ledger, chain, loan_id, bank, platform, 1000, 1)
    with ape.reverts(ledger.NotOfferBuyer, offerId=offer_id, caller=third):
        ledger.acceptOffer(offer_id, sender=third)
    with ape.reverts(ledger.NotOfferSeller, offerId=offer_id, caller=platform):
        ledger.cancelOffer(offer_id, sender=platform)
    with ape.reverts(ledger.UnknownInstitution, account=outsider):
        ledger.offerPosition(loan_id, platform, 1000, 1, chain.pending_timestamp + DAY, sender=outsider)
    with ape.reverts(ledger.ShareNotHeld, loanId=loan_id, holder=third, heldBps=0, shareBps=1000):
        ledger.offerPosition(loan_id, platform, 1000, 1, chain.pending_timestamp + DAY, sender=third)
    ledger.pause(sender=pauser)
    with ape.reverts(ledger.EnforcedPause):
        ledger.offerPosition(loan_id, platform, 1000, 1, chain.pending_timestamp + DAY, sender=bank)
    with ape.reverts(ledger.EnforcedPause):
        ledger.acceptOffer(offer_id, sender=platform)
    ledger.unpause(sender=pauser)
    pending = originate()
    with ape.reverts(ledger.LoanNotInStatus, loanId=pending, status=1):
        ledger.offerPosition(pending, platform, 1000, 1, chain.pending_timestamp + DAY, sender=bank)


def test_closed_and_cancelled_loans_cannot_change_hands(
    ledger, make_loan, originate, originator, bank, platform, borrower, chain
):
    loan_id = make_loan(periods=1)
    offer_id, _ = _offer(ledger, chain, loan_id, bank, platform, 1000, 1, ttl=2 * PERIOD)
    loan = ledger.getLoan(loan_id)
    rows = schedule.build_schedule(loan.principal, 1200, PERIOD, 1, 0, start=loan.disbursedAt)
    chain.pending_timestamp = rows[0].due
    ledger.repay(loan_id, rows[0].payment, sender=borrower)
    with ape.reverts(ledger.LoanNotInStatus, loanId=loan_id, status=CLOSED):
        ledger.acceptOffer(offer_id, sender=platform)
    with ape.reverts(ledger.LoanNotInStatus, loanId=loan_id, status=CLOSED):
        ledger.offerPosition(loan_id, platform, 1000, 1, chain.pending_timestamp + DAY, sender=bank)
    cancelled = originate()
    ledger.cancel(cancelled, sender=originator)
    with ape.reverts(ledger.LoanNotInStatus, loanId=cancelled, status=5):
        ledger.offerPosition(cancelled, platform, 1000, 1, chain.pending_timestamp + DAY, sender=bank)


def test_an_offer_does_not_reserve_the_share_the_first_acceptance_wins(
    ledger, make_loan, bank, platform, third, chain, conserve
):
    loan_id = make_loan(tranches=[(bank, 5000), (platform, 3000), (third, 2000)])
    first, _ = _offer(ledger, chain, loan_id, bank, platform, 5000, 1)
    second, _ = _offer(ledger, chain, loan_id, bank, third, 5000, 1)
    _accept(ledger, second, third, loan_id)
    with ape.reverts(ledger.ShareNotHeld, loanId=loan_id, holder=bank, heldBps=0, shareBps=5000):
        ledger.acceptOffer(first, sender=platform)
    conserve()


def test_sixteen_tranches_counting_past_holders_at_most(ledger, admin, accounts, make_loan, bank, platform, chain):
    extra = [accounts.generate_test_account() for _ in range(15)]
    for i, acct in enumerate(extra):
        admin.transfer(acct, 10**18)
        ledger.registerInstitution(acct, f"Extra {i}", False, sender=admin)
    loan_id = make_loan(tranches=[(bank, 4000), (platform, 6000)])
    for acct in extra[:14]:
        offer_id, _ = _offer(ledger, chain, loan_id, platform, acct, 1, 0)
        ledger.acceptOffer(offer_id, sender=acct)
        mark_transferred(ledger, loan_id)
    assert ledger.getLoan(loan_id).trancheCount == 16
    offer_id, _ = _offer(ledger, chain, loan_id, platform, extra[14], 1, 0)
    with ape.reverts(ledger.InvalidTrancheCount, count=17):
        ledger.acceptOffer(offer_id, sender=extra[14])
