"""A loan pool through the client on anvil, against the reference model: the bank sells two whole loans to a pool
with 80 % senior and 20 % junior subscriptions; repayments, a late payment and a default with write-off flow
through ``distribute`` into exactly what ``PoolModel`` computes from the ledger's own figures, and every investor
claims exactly its claimable amount, class-token transfers included."""

from __future__ import annotations

from client_helpers import UNIT, co_lending_terms
from eth_account.signers.local import LocalAccount

from pylender.client.ledger import Ledger
from pylender.client.pool import Pool, PoolClass, deploy_pool
from pylender.client.session import Pylender
from pylender.errors import ContractError, NothingToClaim, NothingToDistribute, SubscriptionClosed
from pylender.reference.pool import JUNIOR, SENIOR, PoolModel
from pylender.values import DAY, PoolTerms, Tranche


def _distribute(pool: Pool, model: PoolModel, ledger: Ledger) -> None:
    """Distribute on chain and in the model (fed the ledger's figures at that block); they must agree."""
    withdrawable = ledger.account_of(pool.address).withdrawable
    principal, recovered = ledger.pool_collections_of(pool.address)
    loss = ledger.account_of(pool.address).loss
    receipt = pool.distribute()
    now = int(ledger.w3.eth.get_block(receipt.block_number)["timestamp"])
    expected = model.distribute(withdrawable, principal + recovered, loss, now)
    [event] = pool.events(receipt, "Distributed")
    got = (
        event["collected"],
        event["interest"],
        event["principal"],
        event["seniorInterest"],
        event["seniorPrincipal"],
        event["juniorPrincipal"],
        event["juniorResidual"],
        event["lossChange"],
    )
    assert got == (
        expected.collected,
        expected.interest,
        expected.principal,
        expected.senior_interest,
        expected.senior_principal,
        expected.junior_principal,
        expected.junior_residual,
        expected.loss_change,
    )
    state = pool.state()
    senior, junior = model.classes
    assert (state.senior_balance, state.junior_balance, state.senior_written_down, state.junior_written_down) == (
        senior.balance,
        junior.balance,
        senior.written_down,
        junior.written_down,
    )
    assert (state.senior_interest_owed, state.cash, state.unclaimed) == (
        model.senior_interest_owed,
        model.cash,
        model.unclaimed,
    )


def test_a_pool_over_two_loans_agrees_with_the_reference_model(
    chain: Pylender, ledger: Ledger, accounts: dict[str, LocalAccount]
) -> None:
    bank, borrower = accounts["bank"], accounts["borrower"]
    investors = [chain.account(7), chain.account(8), chain.account(9)]  # senior, senior, junior
    ledger.add_signer(*investors)
    loans = []
    for _ in range(2):
        terms = co_lending_terms(borrower.address, principal=5_000 * UNIT)
        loan_id = ledger.originate(terms, [Tranche(lender=bank.address, share_bps=10_000)])
        ledger.fund_all(loan_id)
        ledger.disburse(loan_id)
        loans.append(loan_id)
    now = ledger.now()
    terms = PoolTerms(
        senior_coupon_bps=600, min_junior_bps=2000, subscription_end=now + DAY, purchase_end=now + 5 * DAY
    )
    pool = deploy_pool(ledger, terms, "Example Pool")
    model = PoolModel(terms)
    for investor, cls, amount in ((0, SENIOR, 5_000), (1, SENIOR, 3_000), (2, JUNIOR, 2_000)):
        ledger.mint(investors[investor], amount * UNIT)
        pool.subscribe(cls, amount * UNIT, investors[investor])
        model.subscribe(investors[investor].address, cls, amount * UNIT, 0)
    ledger.advance(2 * DAY)
    try:
        pool.subscribe(PoolClass.SENIOR, UNIT, investors[0])
        raise AssertionError("a subscription after the window must revert")
    except SubscriptionClosed as exc:
        assert exc.error_args == (terms.subscription_end,)
    for loan_id in loans:
        price = ledger.loan(loan_id).outstanding_principal
        offer_id = ledger.offer_position(loan_id, pool.address, 10_000, price, now + 4 * DAY, by=bank)
        pool.buy(offer_id)
        model.buy(price)
    try:
        pool.distribute()
        raise AssertionError("nothing collected yet")
    except NothingToDistribute:
        pass

    first, second = loans
    # the loans were disbursed a few blocks apart: each month, wait until both installments are due
    start = max(ledger.loan(first).disbursed_at, ledger.loan(second).disbursed_at)
    for month in range(1, 13):
        ledger.advance_to(start + month * 30 * DAY + 1)
        ledger.repay_due(first, by=borrower)
        if month <= 3:
            ledger.repay_due(second, by=borrower)  # then the second loan stops paying
        if month == 4:  # both senior investors' first claims; one gives half its tokens away
            for i in (0, 1):
                assert pool.claim(PoolClass.SENIOR, investors[i]) == model.claim(SENIOR, investors[i].address)
            pool.transfer_class(PoolClass.SENIOR, investors[2].address, 2_500 * UNIT, investors[0])
            model.transfer(SENIOR, investors[0].address, investors[2].address, 2_500 * UNIT)
        if month == 9:  # installment 4 (day 120) unpaid past grace + the policy's 120 days
            ledger.mark_default(second, by=accounts["servicer"])
            ledger.write_off(second, by=accounts["servicer"])
        if month == 11:
            ledger.mint(borrower, 1_000 * UNIT)
            ledger.recover(second, 1_000 * UNIT, by=borrower)
        _distribute(pool, model, ledger)

    state = pool.state()
    # the write-off (3,804.65 of the second loan) was more than junior's 2,000: junior is written down to 0, senior
    # by the rest, and the recovery of 1,000 restored senior first
    assert state.junior_written_down == 2_000 * UNIT and state.junior_balance == 0
    assert state.senior_written_down == state.loss_seen - 2_000 * UNIT
    assert state.senior_interest_owed == 0  # senior had its full coupon
    for i, investor in enumerate(investors):
        for cls in (SENIOR, JUNIOR):
            assert pool.claimable(cls, investor.address) == model.claimable(cls, investor.address), (i, cls)
            if model.claimable(cls, investor.address):
                assert pool.claim(cls, investor) == model.claim(cls, investor.address)
    try:
        pool.claim(PoolClass.JUNIOR, investors[2])
        raise AssertionError("claiming twice must revert")
    except NothingToClaim:
        pass
    # every unit collected was claimed or is still in the pool (its dust), to the unit
    assert model.claimed + ledger.balance_of(pool.address) == model.collected + model.cash
    assert issubclass(NothingToClaim, ContractError)
