"""Loan pools (docs/ledger-spec.md, "Loan pools"): a pool registered on the ledger buys positions through offers,
two classes subscribe, distributions pass the ledger's credits through the waterfall, losses are written down junior
first and restored senior first, claims follow class-token transfers; every amount is checked against an
independent model (pool_expect.PoolModel) fed only with what the ledger shows."""

from __future__ import annotations

import ape
import pytest
from conftest import UNIT
from ledger_expect import DAY, mark_transferred, recompute_audit_chain
from pool_expect import JUNIOR, SENIOR, PoolModel, container, model_state, observe, state_tuple

from pylender.values import PAY_ALL_DUE

GRACE = 3 * DAY
PRINCIPAL = 10_000 * UNIT


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def people(accounts, admin, token):
    """The arranger and four investors: gas, tokens."""
    out = {}
    for name in ("arranger", "alice", "bob", "carol", "dave"):
        acct = accounts.generate_test_account()
        admin.transfer(acct, 10**18)
        token.mint(acct, 1_000_000 * UNIT, sender=admin)
        out[name] = acct
    return out


@pytest.fixture
def make_pool(ledger, admin, chain, people, token, institutions):
    """Deploys a pool (coupon 6 %, junior at least 20 %, subscriptions for 2 days, purchases for 5), registers it
    and lets every investor approve it; returns (pool, model)."""

    def _make(coupon=600, min_junior=2000, sub_ttl=2 * DAY, purchase_ttl=5 * DAY, register=True):
        now = chain.pending_timestamp
        terms = (coupon, min_junior, now + sub_ttl, now + purchase_ttl)
        pool = people["arranger"].deploy(container("LoanPool"), ledger, people["arranger"], terms, "Pool A")
        if register:
            ledger.registerPool(pool, "Pool A", sender=admin)
        for who in people.values():
            token.approve(pool, 2**256 - 1, sender=who)
        return pool, PoolModel(coupon_bps=coupon, purchase_end=terms[3], accrued_at=terms[2])

    return _make


def classes(pool):
    return container("PoolClassToken").at(pool.senior()), container("PoolClassToken").at(pool.junior())


def _time(chain, tx) -> int:
    return chain.blocks[tx.block_number].timestamp


def sell_to_pool(ledger, chain, pool, people, loan_id, seller, bps, price):
    expiry = chain.pending_timestamp + DAY
    tx = ledger.offerPosition(loan_id, pool, bps, price, expiry, sender=seller)
    [event] = tx.events.filter(ledger.PositionOffered)
    tx = pool.buy(event.offerId, sender=people["arranger"])
    mark_transferred(ledger, loan_id)
    return tx


def distribute(ledger, pool, chain, model, who):
    """Distributes, checks the record and the books against the model fed with the ledger's figures."""
    withdrawn, principal, loss = observe(ledger, pool)
    tx = pool.distribute(sender=who)
    flows = model.distribute(_time(chain, tx), withdrawn, principal, loss)
    [event] = tx.events.filter(pool.Distributed)
    got = (
        event.collected,
        event.interest,
        event.principal,
        event.seniorInterest,
        event.seniorPrincipal,
        event.juniorPrincipal,
        event.juniorResidual,
        event.lossChange,
    )
    assert got == flows.as_tuple()
    return flows


def claim(pool, cls, who) -> int:
    """Claims and returns the amount its record carries (checking the record's investor and class)."""
    [event] = pool.claim(cls, sender=who).events.filter(pool.Claimed)
    assert (event.investor, event.cls) == (who, cls)
    return event.amount


def check_books(pool, model, token, people):
    unclaimed = token.balanceOf(pool) - model.cash
    assert state_tuple(pool) == model_state(model, unclaimed)
    for cls in (SENIOR, JUNIOR):
        for name, acct in people.items():
            assert pool.claimable(cls, acct) == model.claimable(cls, acct.address), (cls, name)


def conservation(pool, token, model, subscribed, prices):
    """Σ claims + the pool's balance == everything collected + subscriptions − prices paid, to the unit."""
    claims = sum(model.claimed.values())
    assert claims + token.balanceOf(pool) == model.collected + subscribed - prices


# ------------------------------------------------------------------ the ledger side


def test_register_pool_records_the_institution_then_the_pool(ledger, admin, make_pool, chain):
    pool, _ = make_pool(register=False)
    tx = ledger.registerPool(pool, "Pool A", sender=admin)
    [registered] = tx.events.filter(ledger.InstitutionRegistered)
    [pool_event] = tx.events.filter(ledger.PoolRegistered)
    assert (registered.index, registered.account, registered.name, registered.isPlatform) == (4, pool, "Pool A", False)
    assert (pool_event.index, pool_event.pool) == (4, pool)
    assert ledger.hasRole(ledger.LENDER_ROLE(), pool)
    names = [name for name, _ in recompute_audit_chain(ledger, chain.provider.web3)]
    assert names[-2:] == ["InstitutionRegistered", "PoolRegistered"]
    assert ledger.poolCollectionsOf(pool) == (0, 0)


def test_only_the_admin_registers_a_pool(ledger, make_pool, stranger):
    pool, _ = make_pool(register=False)
    with ape.reverts(ledger.AccessControlUnauthorizedAccount):
        ledger.registerPool(pool, "Pool A", sender=stranger)


def test_a_pool_cannot_be_a_lender_at_origination(ledger, make_pool, originate, bank):
    pool, _ = make_pool()
    with ape.reverts(ledger.PoolCannotOriginate, pool=pool):
        originate(tranches=[(bank, 7000), (pool, 3000)])


def test_the_ledger_counts_only_a_pools_principal_and_recoveries(
    ledger, make_pool, make_loan, people, chain, bank, borrower, conserve
):
    pool, _ = make_pool()
    pool.subscribe(SENIOR, 8_000 * UNIT, sender=people["alice"])
    pool.subscribe(JUNIOR, 2_000 * UNIT, sender=people["carol"])
    loan_id = make_loan(principal=PRINCIPAL)
    sell_to_pool(ledger, chain, pool, people, loan_id, bank, 7000, 7_000 * UNIT)
    row = ledger.scheduleOf(loan_id)[0]
    chain.pending_timestamp = row.dueDate
    ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)
    position = ledger.positionOf(loan_id, pool)
    assert ledger.poolCollectionsOf(pool) == (position.principalCredited, 0)
    assert ledger.accountOf(pool).withdrawable == position.principalCredited + position.incomeCredited
    assert position.principalCredited == row.principal * 7000 // 10_000
    conserve()


# ------------------------------------------------------------------ acceptance: the waterfall


def test_senior_gets_full_coupon_and_principal_while_junior_absorbs_a_write_off(
    ledger, make_pool, make_loan, people, chain, bank, borrower, servicer, token, conserve
):
    """Four loans of 10,000 (70 % bank, 30 % platform); the pool buys the bank's 70 % of each at par with 24,000
    senior (alice 14,000, bob 10,000) and 6,000 junior (carol): 80/20. Loan 3 pays one installment 30 days late,
    loan 4 stops after six installments and is written off."""
    pool, m = make_pool()
    subs = [(SENIOR, "alice", 14_000), (SENIOR, "bob", 10_000), (JUNIOR, "carol", 6_000)]
    for cls, who, amount in subs:
        pool.subscribe(cls, amount * UNIT, sender=people[who])
        m.subscribe(cls, people[who].address, amount * UNIT)
    loans = [make_loan(principal=PRINCIPAL) for _ in range(4)]
    for loan_id in loans:
        sell_to_pool(ledger, chain, pool, people, loan_id, bank, 7000, 7_000 * UNIT)
        m.buy(7_000 * UNIT)
    assert pool.state().cash == 2_000 * UNIT
    chain.pending_timestamp = chain.pending_timestamp + 6 * DAY
    distribute(ledger, pool, chain, m, people["dave"])  # the unspent 2,000 go back to senior as principal
    assert pool.state().seniorBalance == 22_000 * UNIT
    schedules = {loan_id: ledger.scheduleOf(loan_id) for loan_id in loans}
    loss_share = 0
    for k in range(12):
        due = max(schedules[loan_id][k].dueDate for loan_id in loans)
        chain.pending_timestamp = due
        for loan_id in loans[:2]:
            ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)
        if k != 3:
            ledger.repay(loans[2], PAY_ALL_DUE, sender=borrower)  # at k == 4: installment 4, 30 days late, and 5
        if k < 6:
            ledger.repay(loans[3], PAY_ALL_DUE, sender=borrower)
        if k == 9:
            chain.pending_timestamp = schedules[loans[3]][6].dueDate + GRACE + 90 * DAY + 1
            ledger.markDefault(loans[3], sender=servicer)
            outstanding = ledger.getLoan(loans[3]).outstandingPrincipal
            ledger.writeOff(loans[3], sender=servicer)
            loss_share = outstanding * 7000 // 10_000
            assert ledger.accountOf(pool).loss == loss_share
        conserve()
        distribute(ledger, pool, chain, m, people["dave"])
        check_books(pool, m, token, people)
    state = pool.state()
    # Junior absorbed the whole loss; senior was retired in full, coupon included.
    assert loss_share > 3_000 * UNIT
    assert (state.juniorWrittenDown, state.seniorWrittenDown) == (loss_share, 0)
    assert (state.seniorBalance, state.seniorInterestOwed) == (0, 0)
    # Junior's balance is what principal collections left after senior: the pool's principal credits on the
    # ledger (floors: the lead keeps each loan's remainder) and the 2,000 unspent.
    principal_credits, _ = ledger.poolCollectionsOf(pool)
    assert state.juniorBalance == 30_000 * UNIT - loss_share - principal_credits - 2_000 * UNIT
    assert 0 <= state.juniorBalance < 4
    for cls, who, _ in subs:
        amount = m.claimable(cls, people[who].address)
        assert claim(pool, cls, people[who]) == amount == m.claim(cls, people[who].address)
    senior_paid = sum(v for (cls, _), v in m.claimed.items() if cls == SENIOR)
    coupon = senior_paid - 24_000 * UNIT
    assert coupon > 0
    # The coupon, recomputed from the senior balance between distributions in the model, was paid in full.
    assert m.interest_owed == 0
    junior_paid = m.claimed[(JUNIOR, people["carol"].address)]
    assert junior_paid < 6_000 * UNIT  # junior took the loss
    conservation(pool, token, m, 30_000 * UNIT, 28_000 * UNIT)
    assert token.balanceOf(pool) == pool.state().unclaimed < 10  # only the rounding dust of the per-token floors
    recompute_audit_chain(pool, chain.provider.web3)


def test_a_loss_beyond_junior_reaches_senior_and_recoveries_restore_senior_first(
    ledger, make_pool, make_loan, people, chain, bank, borrower, servicer, token, conserve
):
    pool, m = make_pool()
    for cls, who, amount in ((SENIOR, "alice", 5_600), (JUNIOR, "carol", 1_400)):
        pool.subscribe(cls, amount * UNIT, sender=people[who])
        m.subscribe(cls, people[who].address, amount * UNIT)
    loan_id = make_loan(principal=PRINCIPAL)
    sell_to_pool(ledger, chain, pool, people, loan_id, bank, 7000, 7_000 * UNIT)
    m.buy(7_000 * UNIT)
    schedule = ledger.scheduleOf(loan_id)
    chain.pending_timestamp = schedule[0].dueDate
    ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)
    chain.pending_timestamp = schedule[1].dueDate + GRACE + 90 * DAY + 1
    ledger.markDefault(loan_id, sender=servicer)
    ledger.writeOff(loan_id, sender=servicer)
    flows = distribute(ledger, pool, chain, m, people["dave"])
    loss = ledger.accountOf(pool).loss
    state = pool.state()
    assert flows.loss_change == loss > 1_400 * UNIT
    assert (state.juniorBalance, state.juniorWrittenDown) == (0, 1_400 * UNIT)
    assert state.seniorWrittenDown == loss - 1_400 * UNIT
    check_books(pool, m, token, people)
    # A recovery smaller than senior's write-down restores senior only.
    ledger.recover(loan_id, 3_000 * UNIT, sender=borrower)
    flows = distribute(ledger, pool, chain, m, people["dave"])
    assert flows.loss_change == -(3_000 * UNIT * 7000 // 10_000)
    state = pool.state()
    assert state.seniorWrittenDown == loss - 1_400 * UNIT - 2_100 * UNIT
    assert state.juniorWrittenDown == 1_400 * UNIT
    check_books(pool, m, token, people)
    # A larger one restores what senior still misses, then junior.
    ledger.recover(loan_id, 6_000 * UNIT, sender=borrower)
    distribute(ledger, pool, chain, m, people["dave"])
    state = pool.state()
    assert state.seniorWrittenDown == 0
    assert state.juniorWrittenDown == 1_400 * UNIT - (4_200 * UNIT - (loss - 3_500 * UNIT))
    check_books(pool, m, token, people)
    conserve()
    for cls, who in ((SENIOR, "alice"), (JUNIOR, "carol")):
        pool.claim(cls, sender=people[who])
        m.claim(cls, people[who].address)
    conservation(pool, token, m, 7_000 * UNIT, 7_000 * UNIT)
    recompute_audit_chain(pool, chain.provider.web3)


def test_a_class_token_transfer_between_distributions_splits_the_claims(
    ledger, make_pool, make_loan, people, chain, bank, borrower, token
):
    pool, m = make_pool()
    senior, _ = classes(pool)
    alice, dave = people["alice"], people["dave"]
    pool.subscribe(SENIOR, 6_000 * UNIT, sender=alice)
    pool.subscribe(JUNIOR, 1_500 * UNIT, sender=people["carol"])
    m.subscribe(SENIOR, alice.address, 6_000 * UNIT)
    m.subscribe(JUNIOR, people["carol"].address, 1_500 * UNIT)
    loan_id = make_loan(principal=PRINCIPAL)
    sell_to_pool(ledger, chain, pool, people, loan_id, bank, 7000, 7_000 * UNIT)
    m.buy(7_000 * UNIT)
    schedule = ledger.scheduleOf(loan_id)
    chain.pending_timestamp = schedule[0].dueDate
    ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)
    first = distribute(ledger, pool, chain, m, dave)
    senior.transfer(dave, 2_500 * UNIT, sender=alice)
    m.transfer(SENIOR, alice.address, dave.address, 2_500 * UNIT)
    chain.pending_timestamp = schedule[1].dueDate
    ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)
    second = distribute(ledger, pool, chain, m, dave)
    # The rule, by hand: per-token amounts of each distribution, alice's 6,000 before and 3,500 after, dave's 2,500.
    supply = 6_000 * UNIT
    acc1 = (first.senior_interest + first.senior_principal) * 10**18 // supply
    acc2 = acc1 + (second.senior_interest + second.senior_principal) * 10**18 // supply
    want_alice = 6_000 * UNIT * acc1 // 10**18 + 3_500 * UNIT * (acc2 - acc1) // 10**18
    want_dave = 2_500 * UNIT * (acc2 - acc1) // 10**18
    assert pool.claimable(SENIOR, alice) == want_alice
    assert pool.claimable(SENIOR, dave) == want_dave
    assert claim(pool, SENIOR, alice) == want_alice
    assert claim(pool, SENIOR, dave) == want_dave
    assert token.balanceOf(dave) == 1_000_000 * UNIT + want_dave
    m.claim(SENIOR, alice.address)
    m.claim(SENIOR, dave.address)
    check_books(pool, m, token, people)


# ------------------------------------------------------------------ bad input and access


@pytest.fixture
def bought(ledger, make_pool, make_loan, people, chain, bank):
    """A pool with 8,000 senior and 2,000 junior that bought 70 % of a 10,000 loan at par."""
    pool, _ = make_pool()
    pool.subscribe(SENIOR, 8_000 * UNIT, sender=people["alice"])
    pool.subscribe(JUNIOR, 2_000 * UNIT, sender=people["carol"])
    loan_id = make_loan(principal=PRINCIPAL)
    sell_to_pool(ledger, chain, pool, people, loan_id, bank, 7000, 7_000 * UNIT)
    return pool, loan_id


def test_subscribing_after_the_window_is_refused(make_pool, people, chain):
    pool, _ = make_pool()
    end = pool.terms().subscriptionEnd
    chain.pending_timestamp = end + 1
    with ape.reverts(pool.SubscriptionClosed, end=end):
        pool.subscribe(SENIOR, UNIT, sender=people["alice"])


def test_subscriptions_refuse_an_unknown_class_and_zero(make_pool, people):
    pool, _ = make_pool()
    with ape.reverts(pool.UnknownClass, cls=2):
        pool.subscribe(2, UNIT, sender=people["alice"])
    with ape.reverts(pool.ZeroAmount):
        pool.subscribe(SENIOR, 0, sender=people["alice"])


def test_subscription_mints_class_tokens_one_to_one(make_pool, people, token):
    pool, _ = make_pool()
    senior, junior = classes(pool)
    tx = pool.subscribe(JUNIOR, 123 * UNIT, sender=people["carol"])
    [event] = tx.events.filter(pool.PoolSubscribed)
    assert (event.investor, event.cls, event.amount) == (people["carol"], JUNIOR, 123 * UNIT)
    assert junior.balanceOf(people["carol"]) == 123 * UNIT
    assert (senior.symbol(), junior.symbol(), junior.name(), junior.decimals()) == ("SNR", "JNR", "Pool A Junior", 6)
    assert token.balanceOf(pool) == pool.state().cash == 123 * UNIT


def test_only_the_arranger_buys(bought, ledger, chain, people, bank, make_loan):
    pool, _ = bought
    loan_id = make_loan(principal=PRINCIPAL)
    tx = ledger.offerPosition(loan_id, pool, 1000, UNIT, chain.pending_timestamp + DAY, sender=bank)
    [event] = tx.events.filter(ledger.PositionOffered)
    with ape.reverts(pool.NotArranger, caller=people["alice"]):
        pool.buy(event.offerId, sender=people["alice"])


def test_buying_is_refused_after_the_window_and_beyond_the_cash(bought, ledger, chain, people, bank, make_loan):
    pool, _ = bought
    loan_id = make_loan(principal=PRINCIPAL)
    tx = ledger.offerPosition(loan_id, pool, 3000, 3_001 * UNIT, chain.pending_timestamp + 30 * DAY, sender=bank)
    [event] = tx.events.filter(ledger.PositionOffered)
    with ape.reverts(pool.InsufficientCash, price=3_001 * UNIT, cash=3_000 * UNIT):
        pool.buy(event.offerId, sender=people["arranger"])
    end = pool.terms().purchaseEnd
    chain.pending_timestamp = end + 1
    with ape.reverts(pool.PurchaseClosed, end=end):
        pool.buy(event.offerId, sender=people["arranger"])


def test_the_first_purchase_needs_the_junior_minimum(make_pool, make_loan, people, ledger, chain, bank):
    pool, _ = make_pool()
    pool.subscribe(SENIOR, 8_100 * UNIT, sender=people["alice"])
    pool.subscribe(JUNIOR, 1_900 * UNIT, sender=people["carol"])
    loan_id = make_loan(principal=PRINCIPAL)
    tx = ledger.offerPosition(loan_id, pool, 7000, 7_000 * UNIT, chain.pending_timestamp + DAY, sender=bank)
    [event] = tx.events.filter(ledger.PositionOffered)
    with ape.reverts(pool.JuniorBelowMinimum, juniorBps=1900, minBps=2000):
        pool.buy(event.offerId, sender=people["arranger"])


def test_a_purchase_records_the_position_and_pays_exactly_the_price(bought, ledger, token, people):
    pool, loan_id = bought
    assert ledger.positionOf(loan_id, pool).shareBps == 7000
    assert pool.state().cash == 3_000 * UNIT == token.balanceOf(pool)
    assert token.allowance(pool, ledger) == 0


def test_distributing_with_nothing_collected_is_refused(bought, people):
    pool, _ = bought
    with ape.reverts(pool.NothingToDistribute):
        pool.distribute(sender=people["dave"])


def test_claiming_twice_is_refused(bought, ledger, chain, people, borrower):
    pool, loan_id = bought
    chain.pending_timestamp = ledger.scheduleOf(loan_id)[0].dueDate
    ledger.repay(loan_id, PAY_ALL_DUE, sender=borrower)
    pool.distribute(sender=people["dave"])
    pool.claim(SENIOR, sender=people["alice"])
    with ape.reverts(pool.NothingToClaim):
        pool.claim(SENIOR, sender=people["alice"])
    with ape.reverts(pool.NothingToClaim):
        pool.claim(SENIOR, sender=people["dave"])
    with ape.reverts(pool.UnknownClass, cls=7):
        pool.claim(7, sender=people["alice"])


def test_only_the_class_tokens_report_transfers_and_only_the_pool_mints(bought, people):
    pool, _ = bought
    senior, _ = classes(pool)
    with ape.reverts(pool.NotClassToken, caller=people["dave"]):
        pool.onClassTransfer(people["alice"], people["dave"], sender=people["dave"])
    with ape.reverts(senior.NotPool, caller=people["dave"]):
        senior.mint(people["dave"], UNIT, sender=people["dave"])


def test_the_terms_and_addresses_are_readable(make_pool, ledger, token, people, chain):
    pool, m = make_pool()
    assert pool.terms() == (600, 2000, m.accrued_at, m.purchase_end)
    assert (pool.ledger(), pool.token(), pool.arranger()) == (ledger.address, token.address, people["arranger"])
    assert pool.auditHead() == b"\x00" * 32
    assert pool.state().accruedAt == m.accrued_at
