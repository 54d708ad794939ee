"""Idempotent bulk posting: ``send_many(calls, journal=path)`` writes every signed transaction ahead of its broadcast,
so a rerun of the SAME calls after the node died mid-run posts each repayment exactly once - the mined ones are
recognised, the journaled-but-lost ones are rebroadcast byte for byte (or signed afresh when another transaction took
their nonce), the rest are sent. A journal written for other calls is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability_support import UNIT, book_active_loans, repayments_on_chain

from pylender.client.node import LocalNode
from pylender.client.session import Pylender
from pylender.errors import JournalMismatch, PylenderError

LOANS = 6
PRINCIPAL = 1_200 * UNIT
WINDOW = 3


def _entries(journal: Path) -> list[dict]:
    lines = journal.read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_after", "steal_nonce"),
    [
        (1, False),  # the node dies with two more transactions mined whose receipts the client never saw
        (3, False),  # the node dies as the next window starts: one transaction journaled, never broadcast
        (3, True),  # ... and before the rerun another transaction of the account takes its nonce
    ],
    ids=["mined-unreported", "journaled-unsent", "nonce-taken"],
)
def test_rerun_after_node_death_posts_each_repayment_exactly_once(tmp_path: Path, kill_after: int, steal_nonce: bool):
    state = tmp_path / "anvil-state.json"
    journal = tmp_path / "repay.journal"
    session = Pylender.local(accounts=10, state=state)
    try:
        ledger, ids, due = book_active_loans(session, loans=LOANS, principal=PRINCIPAL, prefix="journal")
        borrower = session.account(5)
        port = session.node.port
        seen: list[int] = []

        def kill(index: int, receipt) -> None:
            seen.append(index)
            if len(seen) == kill_after:
                session.node.stop()  # SIGINT: anvil writes its state file

        calls = [ledger.call("repay", i, due[i]) for i in ids]
        with pytest.raises(PylenderError):
            ledger.send_many(calls, by=borrower, window=WINDOW, on_receipt=kill, journal=journal)
        assert seen == list(range(kill_after))
        written = _entries(journal)
        assert [e["index"] for e in written] == list(range(WINDOW if kill_after < WINDOW else WINDOW + 1))

        session.node = LocalNode(port=port, state=state, accounts=10).start()
        ledger = session.ledger(ledger.deployment)  # a fresh client, as a new process would be
        ledger.add_signer(borrower)
        on_chain_before = sum(repayments_on_chain(ledger).values())
        # the reported ones are on chain; the rest of the first window may or may not have been mined before the kill
        assert kill_after <= on_chain_before <= WINDOW
        if steal_nonce:
            ledger.send_many([ledger.call("approve", ledger.address, 2**256 - 1, target="token")], by=borrower)

        reported: list[int] = []
        receipts = ledger.send_many(
            calls, by=borrower, window=WINDOW, on_receipt=lambda i, r: reported.append(i), journal=journal
        )

        assert sorted(reported) == list(range(LOANS))
        assert len(receipts) == LOANS and all(r.status == 1 for r in receipts)
        assert len({r.tx_hash for r in receipts}) == LOANS
        counts = repayments_on_chain(ledger)
        assert counts == dict.fromkeys(ids, 1), "a repayment was posted twice or not at all"
        assert sum(counts.values()) == len(calls)
        for i in ids:
            loan = ledger.loan(i)
            assert (loan.current_installment, loan.interest_paid_cur, loan.principal_paid_cur) == (2, 0, 0)
        assert ledger.balance_of(borrower) == 10**6 * UNIT + sum(PRINCIPAL + i for i in range(LOANS)) - sum(
            due.values()
        )
        # the journal: one entry per landed transaction, plus the lost one that was signed afresh
        final = _entries(journal)
        by_index: dict[int, list[str]] = {}
        for entry in final:
            by_index.setdefault(entry["index"], []).append(entry["tx_hash"])
        assert [by_index[i][-1] for i in range(LOANS)] == [r.tx_hash for r in receipts]
        if kill_after >= WINDOW:
            lost = written[WINDOW]["tx_hash"]
            if steal_nonce:
                assert by_index[WINDOW] == [lost, receipts[WINDOW].tx_hash] and receipts[WINDOW].tx_hash != lost
            else:
                assert by_index[WINDOW] == [lost] == [receipts[WINDOW].tx_hash]  # rebroadcast, not re-signed
        assert len(final) == LOANS + (1 if steal_nonce else 0)
    finally:
        session.close()


def test_rerun_after_a_complete_run_sends_nothing(fresh, tmp_path: Path):
    ledger = fresh.client()
    admin = fresh.accounts["admin"]
    holder = fresh.accounts["spare"].address
    journal = tmp_path / "mint.journal"
    before = ledger.balance_of(holder)
    calls = [ledger.call("mint", holder, 5 + i, target="token") for i in range(4)]
    first = ledger.send_many(calls, by=admin, window=2, journal=journal)
    nonce = ledger.w3.eth.get_transaction_count(admin.address)
    reported: list[int] = []
    again = ledger.send_many(calls, by=admin, window=2, journal=journal, on_receipt=lambda i, r: reported.append(i))
    assert [r.tx_hash for r in again] == [r.tx_hash for r in first]
    assert sorted(reported) == [0, 1, 2, 3]
    assert ledger.w3.eth.get_transaction_count(admin.address) == nonce
    assert ledger.balance_of(holder) == before + 5 + 6 + 7 + 8
    assert len(_entries(journal)) == 4


def test_a_journal_of_other_calls_is_refused(fresh, tmp_path: Path):
    ledger = fresh.client()
    admin = fresh.accounts["admin"]
    holder = fresh.accounts["spare"].address
    journal = tmp_path / "mint.journal"
    calls = [ledger.call("mint", holder, 5, target="token"), ledger.call("mint", holder, 6, target="token")]
    ledger.send_many(calls, by=admin, journal=journal)
    before = ledger.balance_of(holder)
    nonce = ledger.w3.eth.get_transaction_count(admin.address)
    other_amount = [calls[0], ledger.call("mint", holder, 7, target="token")]
    other_label = [calls[0], ledger.call("approve", holder, 6, target="token")]
    for wrong in (calls[:1], [*calls, calls[0]], other_amount, other_label):
        with pytest.raises(JournalMismatch):
            ledger.send_many(wrong, by=admin, journal=journal)
    with pytest.raises(JournalMismatch):
        ledger.send_many(calls, by=fresh.accounts["spare"], journal=journal)  # another account's journal
    assert ledger.w3.eth.get_transaction_count(admin.address) == nonce
    assert ledger.balance_of(holder) == before
