"""Differential check: random life cycles on the contract and on the pure-Python reference model
(pylender.reference) must agree on every balance and loan field after every step."""

from __future__ import annotations

import random

import ape
import pytest
from conftest import terms_tuple
from ledger_expect import ACTIVE, DAY, DEFAULTED, WRITTEN_OFF, mark_transferred, snapshot_from_views

from pylender import errors
from pylender import reference as ref


def _compare(ledger, model, loan_id, lenders) -> None:
    for who in lenders:
        a = ledger.accountOf(who)
        m = model.books.account(who.address)
        assert (a.withdrawable, a.reserve, a.loss, a.exposure) == (m.withdrawable, m.reserve, m.loss, m.exposure)
    loan = ledger.getLoan(loan_id)
    ml = model.loans[loan_id]
    book = model.books.loan(loan_id)
    assert (loan.status, loan.currentInstallment, loan.outstandingPrincipal, loan.installmentAmount) == (
        ml.status,
        ml.current,
        ml.outstanding_principal,
        ml.installment_amount,
    )
    assert (loan.interestPaid, loan.principalPaid, loan.penaltyPaid, loan.prepaymentFeePaid, loan.recovered) == (
        book.interest_paid,
        book.principal_paid,
        book.penalty_paid,
        book.prepayment_fee_paid,
        book.recovered,
    )
    assert (loan.penaltyAccrued, loan.owedAtDefault, loan.writtenOff) == (
        ml.penalty_accrued,
        ml.owed_at_default,
        ml.written_off,
    )
    assert list(ledger.auditSnapshot(loan_id, 1)) == snapshot_from_views(ledger, loan_id)  # the audit's one call
    tranches = ledger.getTranches(loan_id)
    assert [(t.lender, t.shareBps) for t in tranches] == list(zip(book.lenders, book.shares, strict=True))
    if loan.status != 1:  # disbursed: every holder's credits, past and present, to the unit
        views = [ledger.positionOf(loan_id, t.lender) for t in tranches]
        got = [(p.incomeCredited, p.reserveHeld, p.principalCredited, p.recoveredCredited) for p in views]
        assert got == model.books.positions(loan_id)


def _both(ledger, model_fn, chain_fn):
    """Run an action on the model and on the chain: both succeed (returns the model's result), or the chain reverts
    with the error the model raised (returns None)."""
    try:
        result = model_fn()
    except errors.ContractError as exc:
        with ape.reverts(getattr(ledger, exc.error_name)):
            chain_fn()
        return None
    chain_fn()
    return result


def _sell(rng, ledger, model, loan_id, lenders, chain) -> None:
    """A random holder offers a random part of its position to another lender at a random price; the buyer accepts
    one second later. The platform minimum may refuse it (both sides must agree)."""
    seller, buyer = rng.sample(lenders, 2)
    book = model.books.loan(loan_id)
    held = book.shares[book.lenders.index(seller.address)] if seller.address in book.lenders else 0
    bps, price = rng.randint(1, max(held, 1)), rng.choice([0, rng.randint(1, 10**6)])
    when = chain.pending_timestamp
    offer_id = _both(
        ledger,
        lambda: model.offer_position(seller.address, loan_id, buyer.address, bps, price, when + DAY, when),
        lambda: ledger.offerPosition(loan_id, buyer, bps, price, when + DAY, sender=seller),
    )
    if offer_id is None:
        return
    chain.pending_timestamp = when + 1
    paid = _both(
        ledger,
        lambda: model.accept_offer(buyer.address, offer_id, when + 1),
        lambda: ledger.acceptOffer(offer_id, sender=buyer),
    )
    if paid is not None:  # the price (maybe 0): the position moved
        mark_transferred(ledger, loan_id)


@pytest.mark.parametrize("seed", [1, 2, 3, 12, 30, 41, 57, 88])
def test_random_life_cycle_agrees_with_the_reference_model(
    seed, ledger, token, originator, servicer, borrower, stranger, bank, platform, third, new_terms, chain, conserve
):
    rng = random.Random(seed)
    lenders = [bank, platform, third]
    shares = rng.choice([(3333, 3333, 3334), (5000, 2500, 2500), (7000, 2000, 1000)])
    model = ref.ReferenceLedger()
    for who, is_platform in ((bank, False), (platform, True), (third, True)):
        model.register_institution(who.address, who.address, is_platform)
    terms = new_terms(
        principal=rng.randint(50_000, 5_000_000),
        annualRateBps=rng.choice([0, 799, 1200, 2400]),
        periods=rng.randint(2, 8),
        method=rng.randint(0, 2),
        gracePeriod=rng.choice([0, 3 * DAY]),
        penaltyRateBps=rng.choice([0, 1800, 3600]),
        prepaymentFeeBps=rng.choice([0, 150]),
        serviceFeeBps=2000,
        feeRecipient=platform.address,
        reserveBps=rng.choice([0, 500]),
    )
    tranches = list(zip(lenders, shares, strict=True))
    ledger.originate(terms_tuple(terms), [(x, s) for x, s in tranches], sender=originator)
    loan_id = ledger.loanCount()
    now = chain.pending_timestamp
    model_terms = ref.LoanTerms(
        borrower=terms["borrower"],
        borrower_id=terms["borrowerId"],
        principal=terms["principal"],
        annual_rate_bps=terms["annualRateBps"],
        periods=terms["periods"],
        period_seconds=terms["periodSeconds"],
        method=terms["method"],
        grace_period=terms["gracePeriod"],
        penalty_rate_bps=terms["penaltyRateBps"],
        prepayment_fee_bps=terms["prepaymentFeeBps"],
        service_fee_bps=terms["serviceFeeBps"],
        fee_recipient=terms["feeRecipient"],
        reserve_bps=terms["reserveBps"],
        funding_deadline=terms["fundingDeadline"],
    )
    model.originate(model_terms, [ref.Tranche(x.address, s) for x, s in tranches], now)
    for who in lenders:
        tx = ledger.fund(loan_id, sender=who)
        model.fund(loan_id, who.address, tx.timestamp)
    tx = ledger.disburse(loan_id, sender=originator)
    model.disburse(loan_id, tx.timestamp)
    _compare(ledger, model, loan_id, lenders)

    for _ in range(14):
        status = ledger.getLoan(loan_id).status
        if status not in (ACTIVE, DEFAULTED, WRITTEN_OFF):
            break
        chain.pending_timestamp += rng.randint(1, 50) * DAY + rng.randint(0, 86_399)
        if rng.random() < 0.4:  # positions change hands (a written-off or defaulted loan's too)
            _sell(rng, ledger, model, loan_id, lenders, chain)
            _compare(ledger, model, loan_id, lenders)
            conserve()
            chain.pending_timestamp += 1
        when = chain.pending_timestamp
        if status == ACTIVE:
            due = model.amount_due(loan_id, when)
            action = rng.random()
            if action < 0.15:
                try:
                    model.mark_default(loan_id, when)
                except errors.ContractError:
                    continue
                ledger.markDefault(loan_id, sender=servicer)
            elif action < 0.3 and ml_outstanding(model, loan_id) > 1:
                principal = rng.randint(1, ml_outstanding(model, loan_id))
                try:
                    quote = model.prepayment_quote(loan_id, principal, when)
                except errors.ContractError:
                    continue
                ledger.prepay(loan_id, principal, sender=borrower)
                model.prepay(loan_id, principal, when)
                assert quote > principal or terms["annualRateBps"] == 0
            elif due.max_payable != 0:  # (rate 0, interest first: installments owing nothing)
                amount = due.max_payable if rng.random() < 0.6 else rng.randint(1, due.max_payable)
                ledger.repay(loan_id, amount, sender=borrower)
                model.repay(loan_id, amount, when)
        elif status == DEFAULTED and rng.random() < 0.5:
            ledger.writeOff(loan_id, sender=servicer)
            model.write_off(loan_id)
        else:
            room = ml_owed(model, loan_id)
            if room == 0:
                break
            amount = room if rng.random() < 0.3 else rng.randint(1, room)
            ledger.recover(loan_id, amount, sender=stranger)
            model.recover(loan_id, amount)
        _compare(ledger, model, loan_id, lenders)
        conserve()


def ml_outstanding(model, loan_id: int) -> int:
    return model.loans[loan_id].outstanding_principal


def ml_owed(model, loan_id: int) -> int:
    book = model.books.loan(loan_id)
    return book.owed_at_default - book.recovered
