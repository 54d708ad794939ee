"""The ledger's ``auditSnapshot`` view: every loan's reconciled state in a few calls, compared word by word.

``auditSnapshot(firstId, count)`` returns, per loan, the fields of ``getLoan``, ``getTranches`` and
``positionOf`` that the audit trail determines, as one flat ``uint256[]`` (layout in
``contracts/interfaces/ICoLendingLedger.sol``, mirrored by :data:`LOAN_WORD_NAMES` and :data:`TRANCHE_FIELDS`).
One call answers for 166 loans where the single views take three calls per two-lender loan, and the
node reads each loan once instead of once per view: about 4,100 EVM steps per two-lender loan, against
7,050 for ``getLoan`` and two ``positionOf`` (each of those passes the ledger's static self-call).

:func:`expected_words` builds the same words from the replayed books, so reconciling is a comparison
of integers; only a loan whose words differ is taken apart field by field (:func:`compare_snapshot`).
A ledger deployed before the view existed reverts on it and the audit reads the single views instead
(:mod:`pylender.audit.views`, :mod:`pylender.audit.reconcile`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from eth_utils import to_checksum_address

from pylender.audit.findings import Finding, view_finding
from pylender.audit.layout import WORD
from pylender.audit.replay import AuditBooks, LoanState, Status
from pylender.errors import AuditError
from pylender.values import MAX_TRANCHES

LOAN_WORD_NAMES: Final = (  # per loan, in the view's order; every word but loanId is compared
    "loanId",
    "status",
    "borrowerId",
    "fundedCount",
    "currentInstallment",
    "installmentAmount",
    "outstandingPrincipal",
    "interestPaid",
    "feePaid",
    "penaltyPaid",
    "prepaymentFeePaid",
    "principalPaid",
    "recovered",
    "owedAtDefault",
    "writtenOff",
    "trancheCount",
)
TRANCHE_FIELDS: Final = (  # per tranche, lead first
    "lender",
    "shareBps",
    "funded",
    "incomeCredited",
    "reserveHeld",
    "principalCredited",
    "recoveredCredited",
)
LOAN_WORDS: Final = len(LOAN_WORD_NAMES)
TRANCHE_WORDS: Final = len(TRANCHE_FIELDS)
BORROWER_ID: Final = LOAN_WORD_NAMES.index("borrowerId")
TRANCHE_COUNT: Final = LOAN_WORD_NAMES.index("trancheCount")
SNAPSHOT_GAS_PER_LOAN: Final = 60_000
"""Gas budget per loan of one ``auditSnapshot`` call, against lens.GAS_BUDGET (10M): about 1.5 times the ~40,000 gas
anvil estimates per two-lender loan (with the answer's memory), so a call asks for 166 loans. Loans with many
tranches cost more; a call the node refuses for gas is halved and sent again."""


def read_words(data: bytes) -> list[int]:
    """An ABI-encoded ``uint256[]`` return value as integers."""
    if len(data) < 2 * WORD:
        raise AuditError(f"auditSnapshot returned {len(data)} bytes, not an array")
    offset = int.from_bytes(data[:WORD], "big")
    if offset + WORD > len(data):
        raise AuditError(f"auditSnapshot returned an array offset {offset} past its {len(data)} bytes")
    count = int.from_bytes(data[offset : offset + WORD], "big")
    start = offset + WORD
    if start + count * WORD != len(data):
        raise AuditError(f"auditSnapshot says {count} words, returned {(len(data) - start) // WORD}")
    return [int.from_bytes(data[i : i + WORD], "big") for i in range(start, start + count * WORD, WORD)]


def split_loans(words: Sequence[int]) -> dict[int, list[int]]:
    """Each loan's words (keyed by loan id) from one or more ``auditSnapshot`` answers laid end to end."""
    out: dict[int, list[int]] = {}
    pos, size = 0, len(words)
    while pos < size:
        if pos + LOAN_WORDS > size:
            raise AuditError(f"auditSnapshot ends inside a loan ({size - pos} of {LOAN_WORDS} words)")
        tranches = words[pos + TRANCHE_COUNT]
        if tranches > MAX_TRANCHES:
            raise AuditError(f"auditSnapshot says loan {words[pos]} has {tranches} tranches")
        end = pos + LOAN_WORDS + TRANCHE_WORDS * tranches
        if end > size:
            raise AuditError(f"auditSnapshot ends inside loan {words[pos]}'s tranches")
        out[words[pos]] = list(words[pos:end])
        pos = end
    return out


def borrower_hex(words: Sequence[int]) -> str:
    """A loan's borrower id from its snapshot words, as the views spell a ``bytes32`` (``0x`` + 64 hex digits)."""
    return f"0x{words[BORROWER_ID]:064x}"


def expected_words(books: AuditBooks, loan: LoanState) -> list[int]:
    """``auditSnapshot``'s words for ``loan`` as the replayed records say they must be."""
    book = loan.book
    words = [
        loan.loan_id,
        int(loan.status),
        int(str(loan.terms["borrowerId"]), 16),  # a bytes32 as 0x-hex, as every record spells it
        loan.funded,
        loan.installment,
        loan.installment_amount,
        loan.outstanding,
        book.interest_paid,
        book.fee_paid,
        book.penalty_paid,
        book.prepayment_fee_paid,
        book.principal_paid,
        book.recovered,
        loan.owed_at_default,
        book.written_off,
        len(book.lenders),
    ]
    for t, (income, held, principal, recovered) in enumerate(books.books.positions(loan.loan_id)):
        words += [int(book.lenders[t], 16), book.shares[t], int(book.funded[t]), income, held, principal, recovered]
    return words


def _shown(field: str, value: int) -> str:
    if field == "status":
        try:
            return Status(value).name
        except ValueError:
            return str(value)
    if field == "borrowerId":
        return f"0x{value:064x}"
    if field == "lender" and value < 2**160:
        return to_checksum_address(f"0x{value:040x}")
    return str(value)


def _differences(loan: LoanState, expected: Sequence[int], found: Sequence[int], positions: bool) -> list[Finding]:
    """Field by field, for a loan whose words differ."""
    subject = f"loan {loan.loan_id}"
    out: list[Finding] = []
    for i in range(1, LOAN_WORDS):
        name = LOAN_WORD_NAMES[i]
        if expected[i] != found[i]:
            out.append(view_finding(subject, name, _shown(name, expected[i]), _shown(name, found[i])))
    if expected[TRANCHE_COUNT] != found[TRANCHE_COUNT]:
        return out  # the tranches no longer line up; the count finding says why
    for t, lender in enumerate(loan.lenders):
        base = LOAN_WORDS + t * TRANCHE_WORDS
        for j, name in enumerate(TRANCHE_FIELDS):
            if j >= 3 and not positions:
                break
            want, got = expected[base + j], found[base + j]
            if want != got:
                where = f"{subject} position {lender}" if j >= 3 else f"{subject} tranche {t}"
                out.append(view_finding(where, name, _shown(name, want), _shown(name, got)))
    return out


def compare_snapshot(
    books: AuditBooks, snapshot: Mapping[int, Sequence[int]], *, positions: bool = True
) -> list[Finding]:
    """Every difference between the replayed loans and the ledger's ``auditSnapshot`` words.

    ``positions=False`` leaves the four credit words of each tranche out of the comparison (lender, share
    and funded are still compared). A loan the records have and the snapshot lacks is a finding; loans only
    the ledger has show in ``loanCount``.
    """
    out: list[Finding] = []
    for loan in books.loans.values():
        found = snapshot.get(loan.loan_id)
        if found is None:
            out.append(view_finding(f"loan {loan.loan_id}", "auditSnapshot", "the loan", "no such loan"))
            continue
        expected = expected_words(books, loan)
        if len(found) < LOAN_WORDS or len(found) != LOAN_WORDS + TRANCHE_WORDS * found[TRANCHE_COUNT]:
            out.append(
                view_finding(f"loan {loan.loan_id}", "auditSnapshot", f"{len(expected)} words", f"{len(found)} words")
            )
        elif list(found) != expected:
            out.extend(_differences(loan, expected, found, positions))
    return out
