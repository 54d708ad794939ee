"""``auditSnapshot``: the audit's one-call view of many loans must say exactly what getLoan, getTranches and
positionOf say, loan by loan, in every status (ICoLendingLedger, docs/ledger-spec.md "Audit trail")."""

from __future__ import annotations

from conftest import BORROWER_ID
from ledger_expect import (
    ACTIVE,
    CANCELLED,
    CLOSED,
    DAY,
    DEFAULTED,
    FUNDED,
    ORIGINATED,
    PERIOD,
    WRITTEN_OFF,
    floor_share,
    snapshot_from_views,
)

from pylender import schedule

LOAN_WORDS, TRANCHE_WORDS = 16, 7
THIRDS = (3334, 3333, 3333)


def _loans(ledger, make_loan, originate, originator, borrower, servicer, stranger, bank, platform, third, chain):
    """One loan in each status (ids by status name); the three-lender ones split in thirds, so every floor leaves
    a remainder."""
    three = [(bank, THIRDS[0]), (platform, THIRDS[1]), (third, THIRDS[2])]
    ids = {"originated": originate()}
    ledger.fund(ids["originated"], sender=bank)  # the bank's tranche only
    ids["funded"] = make_loan(disburse=False)
    ids["cancelled"] = make_loan(disburse=False)
    ledger.cancel(ids["cancelled"], sender=originator)
    ids["active"] = make_loan(
        tranches=three, principal=1_000_001, serviceFeeBps=1000, feeRecipient=platform.address, reserveBps=500
    )
    ids["closed"] = make_loan(
        tranches=three,
        principal=1_000_001,
        periods=2,
        serviceFeeBps=1000,
        feeRecipient=platform.address,
        reserveBps=500,
    )
    ids["defaulted"] = make_loan(tranches=three, principal=1_000_001, periods=3, reserveBps=500)
    ids["written_off"] = make_loan(principal=1_000_001, periods=3)
    start = ledger.getLoan(ids["active"]).disbursedAt
    rows = schedule.build_schedule(1_000_001, 1200, PERIOD, 12, 0, start=start)
    chain.pending_timestamp = rows[0].due
    ledger.repay(ids["active"], rows[0].payment + 12_345, sender=borrower)
    # Each installment paid on its due date, by the schedule's amount: views run at the latest block's time, and
    # when both loans were disbursed in the same second, that time is already the closed loan's first due date.
    for row in schedule.build_schedule(1_000_001, 1200, PERIOD, 2, 0, start=ledger.getLoan(ids["closed"]).disbursedAt):
        chain.pending_timestamp = max(row.due, chain.pending_timestamp + 1)
        ledger.repay(ids["closed"], row.payment, sender=borrower)
    chain.pending_timestamp += 200 * DAY  # every remaining loan is far past defaultAfter
    for name in ("defaulted", "written_off"):
        ledger.markDefault(ids[name], sender=servicer)
    ledger.recover(ids["defaulted"], 100_001, sender=stranger)
    ledger.writeOff(ids["written_off"], sender=servicer)
    return ids


def test_snapshot_says_what_the_single_views_say_in_every_status(
    ledger, make_loan, originate, originator, borrower, servicer, stranger, bank, platform, third, chain, conserve
):
    ids = _loans(ledger, make_loan, originate, originator, borrower, servicer, stranger, bank, platform, third, chain)
    statuses = {name: ledger.getLoan(loan_id).status for name, loan_id in ids.items()}
    assert statuses == {
        "originated": ORIGINATED,
        "funded": FUNDED,
        "cancelled": CANCELLED,
        "active": ACTIVE,
        "closed": CLOSED,
        "defaulted": DEFAULTED,
        "written_off": WRITTEN_OFF,
    }
    first, last = min(ids.values()), ledger.loanCount()
    expected = [word for loan_id in range(first, last + 1) for word in snapshot_from_views(ledger, loan_id)]
    assert list(ledger.auditSnapshot(first, last - first + 1)) == expected
    for loan_id in ids.values():  # and each loan alone
        assert list(ledger.auditSnapshot(loan_id, 1)) == snapshot_from_views(ledger, loan_id)
    conserve()


def test_snapshot_words_of_a_partly_funded_and_a_closed_loan(
    ledger, make_loan, originate, originator, borrower, servicer, stranger, bank, platform, third, chain
):
    ids = _loans(ledger, make_loan, originate, originator, borrower, servicer, stranger, bank, platform, third, chain)
    words = list(ledger.auditSnapshot(ids["originated"], 1))
    assert len(words) == LOAN_WORDS + 2 * TRANCHE_WORDS
    assert words[:4] == [ids["originated"], ORIGINATED, int.from_bytes(BORROWER_ID, "big"), 1]
    assert words[4:LOAN_WORDS] == [0] * 11 + [2]  # nothing paid yet; two tranches
    bank_words, platform_words = words[LOAN_WORDS:][:TRANCHE_WORDS], words[LOAN_WORDS + TRANCHE_WORDS :]
    assert bank_words == [int(bank.address, 16), 7000, 1, 0, 0, 0, 0]
    assert platform_words == [int(platform.address, 16), 3000, 0, 0, 0, 0, 0]

    closed = list(ledger.auditSnapshot(ids["closed"], 1))
    loan = ledger.getLoan(ids["closed"])
    income = loan.interestPaid - loan.feePaid + loan.penaltyPaid + loan.prepaymentFeePaid
    tranches = [closed[LOAN_WORDS + t * TRANCHE_WORDS :][:TRANCHE_WORDS] for t in range(3)]
    others_income = sum(floor_share(income, share) for share in THIRDS[1:])
    others_principal = sum(floor_share(1_000_001, share) for share in THIRDS[1:])
    # the lead takes the remainders once the loan has closed; no reserve is held after it
    assert tranches[0][3:] == [income - others_income, 0, 1_000_001 - others_principal, 0]
    assert tranches[1][3:] == [floor_share(income, THIRDS[1]), 0, floor_share(1_000_001, THIRDS[1]), 0]
    assert closed[1] == CLOSED and closed[6] == 0 and closed[11] == 1_000_001  # status, outstanding, principalPaid


def test_snapshot_range_edges(ledger, make_loan):
    first = make_loan()
    second = make_loan(principal=2_000_000)
    last = ledger.loanCount()
    assert last == second == first + 1
    assert list(ledger.auditSnapshot(0, 5)) == []
    assert list(ledger.auditSnapshot(last + 1, 5)) == []
    assert list(ledger.auditSnapshot(first, 0)) == []
    both = snapshot_from_views(ledger, first) + snapshot_from_views(ledger, second)
    assert list(ledger.auditSnapshot(first, 2**256 - 1)) == both  # clipped at the last loan, no overflow
    assert list(ledger.auditSnapshot(second, 1)) == both[LOAN_WORDS + 2 * TRANCHE_WORDS :]
