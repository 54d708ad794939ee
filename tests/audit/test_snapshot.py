"""The ``auditSnapshot`` words: reading them, splitting them per loan, and comparing them with the replay."""

from __future__ import annotations

import pytest
from audit_synthetic import BANK, PLATFORM, terms

from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks, Status, replay
from pylender.audit.snapshot import (
    LOAN_WORD_NAMES,
    LOAN_WORDS,
    TRANCHE_WORDS,
    compare_snapshot,
    expected_words,
    read_words,
    split_loans,
)
from pylender.errors import AuditError
from pylender.schedule import installment_amount

DAY = 86_400


def _encode(words: list[int]) -> bytes:
    return b"".join(w.to_bytes(32, "big") for w in [32, len(words), *words])


def _books(records: list[Record]) -> AuditBooks:
    books, findings = replay(records)
    assert findings == []
    return books


def test_read_words_takes_an_abi_uint256_array_and_refuses_anything_else() -> None:
    assert read_words(_encode([1, 2**256 - 1, 0])) == [1, 2**256 - 1, 0]
    assert read_words(_encode([])) == []
    with pytest.raises(AuditError, match="not an array"):
        read_words(b"\0" * 32)
    with pytest.raises(AuditError, match="says 3 words, returned 2"):
        read_words(_encode([1, 2, 3])[:-32])
    with pytest.raises(AuditError, match="offset 4096 past"):
        read_words((4096).to_bytes(32, "big") + (0).to_bytes(32, "big"))


def test_the_replay_gives_the_words_the_ledger_must_return(synthetic_records: list[Record]) -> None:
    books = _books(synthetic_records)
    borrower_id = int(terms(1_000_003, 1200, 3, 0, 1000, 500)["borrowerId"], 16)
    a1 = installment_amount(0, 1_000_003, 1200, 30 * DAY, 3)
    assert expected_words(books, books.loans[1]) == [
        *(1, int(Status.CLOSED), borrower_id, 2, 4, a1, 0),  # loanId .. outstandingPrincipal
        *(19_792, 1_979, 0, 0, 1_000_003, 0, 0, 0, 2),  # interest, fee, penalty, prepayment fee .. trancheCount
        *(int(BANK, 16), 7000, 1, 12_469 + 1, 0, 700_002 + 1, 0),  # the lead took both leftover units
        *(int(PLATFORM, 16), 3000, 1, 5_343, 0, 300_000, 0),
    ]
    two = expected_words(books, books.loans[2])
    assert len(two) == LOAN_WORDS + TRANCHE_WORDS
    assert two[1] == int(Status.WRITTEN_OFF) and two[12:15] == [100_000, 500_000 + 7_398 + 1_234, 500_000]


def test_words_laid_end_to_end_split_per_loan_and_a_cut_answer_is_refused(synthetic_records: list[Record]) -> None:
    books = _books(synthetic_records)
    one, two = (expected_words(books, books.loans[i]) for i in (1, 2))
    assert split_loans(one + two) == {1: one, 2: two}
    assert split_loans([]) == {}
    with pytest.raises(AuditError, match="ends inside loan 2's tranches"):
        split_loans(one + two[:-1])
    with pytest.raises(AuditError, match="ends inside a loan"):
        split_loans(one + two[:5])
    with pytest.raises(AuditError, match="loan 1 has 17 tranches"):
        split_loans([*one[:15], 17, *one[16:]])


def test_matching_words_give_no_finding_and_each_difference_is_named(synthetic_records: list[Record]) -> None:
    books = _books(synthetic_records)
    words = {i: expected_words(books, books.loans[i]) for i in (1, 2)}
    assert compare_snapshot(books, words) == []

    forged = {i: list(w) for i, w in words.items()}
    forged[1][LOAN_WORD_NAMES.index("principalPaid")] += 1
    forged[1][LOAN_WORD_NAMES.index("status")] = int(Status.ACTIVE)
    forged[1][LOAN_WORDS + TRANCHE_WORDS + 3] -= 1  # the platform's incomeCredited
    forged[2][LOAN_WORDS + 1] = 9_000  # the bank's share of loan 2
    found = [(f.check, f.subject, f.field, f.expected, f.found) for f in compare_snapshot(books, forged)]
    assert found == [
        ("view", "loan 1", "status", "CLOSED", "ACTIVE"),
        ("view", "loan 1", "principalPaid", "1000003", "1000004"),
        ("view", f"loan 1 position {PLATFORM}", "incomeCredited", "5343", "5342"),
        ("view", "loan 2 tranche 0", "shareBps", "10000", "9000"),
    ]
    # without positions the credit words are not compared; the tranche's lender, share and funded flag are
    found = [(f.subject, f.field) for f in compare_snapshot(books, forged, positions=False)]
    assert found == [("loan 1", "status"), ("loan 1", "principalPaid"), ("loan 2 tranche 0", "shareBps")]


def test_a_loan_missing_or_with_other_tranches_is_a_finding(synthetic_records: list[Record]) -> None:
    books = _books(synthetic_records)
    one = expected_words(books, books.loans[1])
    lender = LOAN_WORDS  # the lead's lender word
    swapped = [*one[:lender], int(PLATFORM, 16), *one[lender + 1 :]]
    findings = compare_snapshot(books, {1: swapped})
    assert [(f.subject, f.field, f.expected, f.found) for f in findings] == [
        ("loan 1 tranche 0", "lender", BANK, PLATFORM),
        ("loan 2", "auditSnapshot", "the loan", "no such loan"),
    ]
    one_tranche = [*one[:15], 1, *one[LOAN_WORDS : LOAN_WORDS + TRANCHE_WORDS]]
    found = [(f.subject, f.field, f.expected, f.found) for f in compare_snapshot(books, {1: one_tranche, 2: []})]
    assert found == [("loan 1", "trancheCount", "2", "1"), ("loan 2", "auditSnapshot", "23 words", "0 words")]
