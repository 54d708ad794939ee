"""Faults: the node dies in the middle of a bulk run, replies get lost or refused.

* A bulk repayment run (pipelined ``send_many``) loses its node after a few receipts: the client raises, keeps no
  half-recorded state (its nonce cache agrees with the chain once the node is back), and a rerun that skips the
  repayments already on chain (an on-chain check: the loan's current installment) posts every remaining one exactly
  once - never twice. This test checks on chain before rerunning; ``send_many(..., journal=)`` does that for the
  caller (test_journal.py).
* A lost or refused reply to a read is retried transparently; a lost reply to ``eth_sendRawTransaction`` (the
  transaction reached the node) must not be reported as a failure, or the caller would post the payment again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_utils import to_checksum_address
from flaky_proxy import FlakyProxy
from reliability_support import DAY, UNIT, book_active_loans, repayments_on_chain

from pylender.client import accounts
from pylender.client.node import LocalNode
from pylender.client.session import Pylender
from pylender.client.transport import make_web3
from pylender.errors import PylenderError
from pylender.values import PAY_ALL_DUE, LoanTerms, Tranche

LOANS = 6
PRINCIPAL = 1_200 * UNIT
KILL_AFTER = 2  # receipts collected before the node dies (window 2: one more transaction is already sent)


def _restart(session: Pylender, port: int, state: Path) -> None:
    session.node = LocalNode(port=port, state=state, accounts=10).start()


@pytest.mark.slow
def test_node_killed_mid_bulk_then_rerun_posts_each_repayment_exactly_once(tmp_path: Path):
    state = tmp_path / "anvil-state.json"
    session = Pylender.local(accounts=10, state=state)
    try:
        ledger, ids, due = book_active_loans(session, loans=LOANS, principal=PRINCIPAL, prefix="customer")
        borrower = session.account(5)
        port = session.node.port
        landed: list[int] = []

        def kill_after(index: int, receipt) -> None:
            landed.append(index)
            if index + 1 == KILL_AFTER:
                session.node.stop()  # SIGINT: anvil writes its state, as a node that is restarted keeps its chain

        calls = [ledger.call("repay", i, due[i]) for i in ids]
        with pytest.raises(Exception) as info:
            ledger.send_many(calls, by=borrower, window=2, on_receipt=kill_after)
        assert landed == list(range(KILL_AFTER)), f"receipts before the failure: {landed} ({info.value!r})"

        _restart(session, port, state)
        # A fresh client for the rerun, as a new process would be.
        ledger = session.ledger(ledger.deployment)
        ledger.add_signer(borrower)

        # the rerun: skip what the chain already has (installment 1 completed), post the rest
        pending = [i for i in ids if ledger.loan(i).current_installment == 1]
        assert 0 < len(pending) < LOANS, f"the kill should leave the run half done: pending {pending}"
        ledger.send_many([ledger.call("repay", i, due[i]) for i in pending], by=borrower)

        assert repayments_on_chain(ledger) == dict.fromkeys(ids, 1), "a repayment was posted twice or not at all"
        for i in ids:
            loan = ledger.loan(i)
            assert (loan.current_installment, loan.interest_paid_cur, loan.principal_paid_cur) == (2, 0, 0)
        assert ledger.balance_of(borrower) == 10**6 * UNIT + sum(PRINCIPAL + i for i in range(LOANS)) - sum(
            due.values()
        )
    finally:
        session.close()


def test_dead_node_is_reported_as_a_pylender_error(tmp_path: Path):
    session = Pylender.local(accounts=10)
    try:
        ledger = session.deploy()
        session.node.stop()
        with pytest.raises(PylenderError):
            ledger.mint(session.account(1), 1)
    finally:
        session.close()


def test_nonce_cache_agrees_with_the_chain_after_a_node_death(tmp_path: Path):
    state = tmp_path / "anvil-state.json"
    session = Pylender.local(accounts=10, state=state)
    try:
        ledger = session.deploy()
        holder = session.account(1)
        sender = ledger.sender(None)
        port = session.node.port
        mint = ledger.call("mint", holder.address, 1, target="token")
        ledger.send_many([mint])  # the bulk path caches the gas limit: the next send signs without a node call
        session.node.stop()
        with pytest.raises(Exception):  # noqa: B017 - the type is the previous test's subject
            ledger.send_many([mint])
        _restart(session, port, state)
        chain_nonce = session.w3.eth.get_transaction_count(session.signer.address)
        assert sender._nonce in (None, chain_nonce)
    finally:
        session.close()


@pytest.fixture()
def flaky(tmp_path: Path):
    """A ledger reached through a proxy that can lose replies, with a 0.5 s client timeout."""
    with Pylender.local(accounts=10) as session:
        ledger = session.deploy()
        with FlakyProxy(session.url or "") as proxy:
            proxy.stall_seconds = 1.5
            w3 = make_web3(proxy.url, timeout=0.5)
            client = Pylender(w3, accounts.dev_account(0), url=proxy.url, local=True).ledger(ledger.deployment)
            yield client, proxy, ledger


def test_lost_or_refused_read_replies_are_retried(flaky):
    client, proxy, _direct = flaky
    holder = accounts.dev_account(1).address
    proxy.stall["eth_getTransactionReceipt"] = 1
    receipt = client.mint(holder, 5)
    assert receipt.status == 1
    proxy.refuse["eth_call"] = 1
    assert client.balance_of(holder) == 5
    assert proxy.seen["eth_getTransactionReceipt"] >= 2 and proxy.seen["eth_call"] >= 2


def test_lost_reply_to_a_send_is_not_reported_as_a_failure(flaky):
    client, proxy, direct = flaky
    holder = to_checksum_address(accounts.dev_account(1).address)
    proxy.stall["eth_sendRawTransaction"] = 1
    receipt = client.mint(holder, 7)
    assert receipt.status == 1
    assert direct.balance_of(holder) == 7


def test_bulk_gas_limit_fits_costlier_calls_of_the_same_function(fresh):
    ledger = fresh.client()
    a = fresh.accounts
    ids = []
    for i in range(2):
        terms = LoanTerms(
            borrower=a["borrower"].address,
            borrower_id=f"gas-{i}",
            principal=PRINCIPAL,
            annual_rate_bps=1200,
            periods=12,
            period_seconds=30 * DAY,
            penalty_rate_bps=3600,
        )
        tranches = [
            Tranche(lender=a["bank"].address, share_bps=7000),
            Tranche(lender=a["platform"].address, share_bps=3000),
        ]
        loan_id = ledger.originate(terms, tranches, by=a["originator"])
        ledger.fund_all(loan_id)
        ledger.disburse(loan_id, by=a["originator"])
        ids.append(loan_id)
    ledger.advance(30 * DAY)
    ledger.send_many([ledger.call("repay", ids[0], 1)], by=a["borrower"])  # a cheap repayment seeds the cache
    ledger.advance(300 * DAY)  # the other loan: ten installments overdue, penalty on each
    # Everything due when the block executes (the contract's PAY_ALL_DUE): the eleven installments due by day 330
    # and their penalty to that second, exactly; nothing read from a view a block earlier.
    receipts = ledger.send_many([ledger.call("repay", ids[1], PAY_ALL_DUE)], by=a["borrower"])
    assert receipts[0].status == 1
    assert ledger.loan(ids[1]).current_installment == 12
    due = ledger.amount_due(ids[1])
    assert (due.overdue_installments, due.penalty, due.total_due) == (0, 0, 0)


def test_bulk_run_reports_every_landed_transaction_before_raising(fresh):
    ledger = fresh.client()
    holder = fresh.accounts["spare"].address
    before = ledger.balance_of(holder)
    reported: list[int] = []
    calls = [ledger.call("mint", holder, 5, target="token"), ledger.call("repay", 999, 0)]
    with pytest.raises(PylenderError):
        ledger.send_many(calls, by=fresh.accounts["admin"], on_receipt=lambda i, r: reported.append(i))
    landed = (ledger.balance_of(holder) - before) // 5
    assert len(reported) == landed, f"{landed} transaction(s) landed, {len(reported)} reported"
