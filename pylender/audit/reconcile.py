"""Compare the replayed books with the ledger's views: every loan, position, account, credit record, role
and the token balance (reading the views is :mod:`pylender.audit.views`).

:func:`compare_views` plans the reads in rounds (counts and the token; every loan's ``auditSnapshot`` words,
or on a ledger without that view every loan and position; every institution, account and credit record;
then accounts only the chain knows), takes what :mod:`pylender.audit.prefetch` already read, and turns
each difference into a :class:`~pylender.audit.findings.Finding`.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

from web3 import Web3

from pylender.audit.findings import Finding, view_finding
from pylender.audit.replay import AuditBooks, LoanState, Status
from pylender.audit.snapshot import compare_snapshot
from pylender.audit.views import SNAPSHOT, LedgerViews, ViewKey, answers
from pylender.values import DISBURSED_STATUSES, role_name

LOAN_FIELDS = {  # LoanView field -> LoanState attribute (``book.`` ones come from reference.LoanBook)
    "outstandingPrincipal": "outstanding",
    "currentInstallment": "installment",
    "installmentAmount": "installment_amount",
    "interestPaid": "book.interest_paid",
    "feePaid": "book.fee_paid",
    "penaltyPaid": "book.penalty_paid",
    "prepaymentFeePaid": "book.prepayment_fee_paid",
    "principalPaid": "book.principal_paid",
    "recovered": "book.recovered",
    "owedAtDefault": "owed_at_default",
    "writtenOff": "book.written_off",
}
_LOAN_GETTERS = [(key, operator.attrgetter(path)) for key, path in LOAN_FIELDS.items()]  # dotted paths too
POSITION_FIELDS = {  # PositionView field -> reference.Books.position key
    "incomeCredited": "income_credited",
    "reserveHeld": "reserve_held",
    "principalCredited": "principal_credited",
    "recoveredCredited": "recovered_credited",
}
ACCOUNT_FIELDS = ("withdrawable", "reserve", "loss", "exposure")


def _attr(loan: LoanState, path: str) -> int:
    value: Any = loan
    for part in path.split("."):
        value = getattr(value, part)
    return int(value)


def _compare_loan(
    books: AuditBooks,
    loan: LoanState,
    view: Mapping[str, Any],
    positions: Sequence[Mapping[str, Any]] | None,
) -> list[Finding]:
    out: list[Finding] = []
    subject = f"loan {loan.loan_id}"
    if Status(int(view["status"])) != loan.status:
        out.append(view_finding(subject, "status", loan.status.name, Status(int(view["status"])).name))
    for key, getter in _LOAN_GETTERS:
        if int(view[key]) != int(getter(loan)):
            out.append(view_finding(subject, key, _attr(loan, LOAN_FIELDS[key]), view[key]))
    if int(view["fundedCount"]) != loan.funded:
        out.append(view_finding(subject, "fundedCount", loan.funded, view["fundedCount"]))
    if positions is not None:
        for lender, pos in zip(loan.lenders, positions, strict=True):
            expected = books.books.position(loan.loan_id, lender)
            for key, ref_key in POSITION_FIELDS.items():
                if int(pos[key]) != expected[ref_key]:
                    out.append(view_finding(f"{subject} position {lender}", key, expected[ref_key], pos[key]))
    return out


CREDIT_FIELDS = (
    "loansTaken",
    "active",
    "closed",
    "defaulted",
    "onTimeInstallments",
    "lateInstallments",
    "maxDaysLate",
    "totalDaysLate",
    "amountWrittenOff",
)
_DEFAULTED = (Status.DEFAULTED, Status.WRITTEN_OFF, Status.RECOVERED)  # the borrower defaulted


def expected_credit_records(books: AuditBooks) -> dict[str, dict[str, int]]:
    """Each borrower's credit record (``creditRecord`` view) summed from the replayed loans."""
    sums: dict[str, list[int]] = {}
    for loan in books.loans.values():
        borrower = str(loan.terms["borrowerId"])
        rec = sums.get(borrower)
        if rec is None:
            rec = sums[borrower] = [0] * len(CREDIT_FIELDS)
        status = loan.status
        rec[0] += status in DISBURSED_STATUSES
        rec[1] += status == Status.ACTIVE
        rec[2] += status == Status.CLOSED
        rec[3] += status in _DEFAULTED
        rec[4] += loan.on_time
        rec[5] += loan.late
        rec[6] = max(rec[6], loan.max_days_late)
        rec[7] += loan.total_days_late
        rec[8] += loan.book.written_off
    return {borrower: dict(zip(CREDIT_FIELDS, rec, strict=True)) for borrower, rec in sums.items()}


def _compare_roles(views: LedgerViews, books: AuditBooks, cache: Mapping[ViewKey, Any] | None) -> list[Finding]:
    """``hasRole`` for every (role, account) the trail names against the members the records leave."""
    pairs = sorted(books.role_history)
    held = answers(views, [("hasRole", (role, account)) for role, account in pairs], cache) if pairs else []
    return [
        view_finding(f"role {role_name(role)}", account, expected, bool(found))
        for (role, account), found in zip(pairs, held, strict=True)
        if bool(found) != (expected := account in books.roles.get(role, ()))
    ]


def _round_one(views: LedgerViews, cache: Mapping[ViewKey, Any] | None) -> tuple[int, int, str]:
    loan_count, count, token = answers(views, [("loanCount", ()), ("institutionCount", ()), ("token", ())], cache)
    return int(loan_count), int(count), str(token)


def _round_two_calls(
    loans: Sequence[tuple[int, Sequence[str]]],
    institutions: int,
    accounts: Sequence[str],
    borrowers: Sequence[str],
    positions: bool,
    loan_views: bool = True,
) -> list[ViewKey]:
    """The views of the second round: each loan (and position) unless ``loan_views`` is off (the
    snapshot has them), each institution, account and credit record."""
    calls: list[ViewKey] = [("getLoan", (loan_id,)) for loan_id, _ in loans] if loan_views else []
    if positions and loan_views:
        calls += [("positionOf", (loan_id, lender)) for loan_id, lenders in loans for lender in lenders]
    calls += [("institutionAt", (i,)) for i in range(1, institutions + 1)]
    calls += [("accountOf", (address,)) for address in accounts]
    calls += [("creditRecord", (borrower_id,)) for borrower_id in borrowers]
    return calls


def _snapshot(views: LedgerViews, cache: Mapping[ViewKey, Any] | None, loan_count: int) -> dict[int, list[int]] | None:
    """The ``auditSnapshot`` words: from ``cache`` when it was read there (None: the ledger lacks the view)."""
    if cache is not None and SNAPSHOT in cache:
        found: dict[int, list[int]] | None = cache[SNAPSHOT]
        return found
    return views.snapshot(loan_count)


def compare_views(
    views: LedgerViews,
    books: AuditBooks,
    *,
    positions: bool = True,
    cache: Mapping[ViewKey, Any] | None = None,
) -> list[Finding]:
    """Every difference between the replayed books and the ledger's views and token balance.

    The calls go out in batches (counts and the token; every loan's ``auditSnapshot`` words, or on a ledger
    without that view every loan and position; every institution, account and credit record; then accounts
    only the chain knows), or come from ``cache`` (:mod:`pylender.audit.prefetch`).
    """
    out: list[Finding] = []
    loan_count, count, token = _round_one(views, cache)
    if loan_count != len(books.loans):
        out.append(view_finding("ledger", "loanCount", len(books.loans), loan_count))
    loans = list(books.loans.values())
    credit = expected_credit_records(books)
    known = sorted(books.accounts)
    snapshot = _snapshot(views, cache, loan_count)
    single = snapshot is None  # a ledger without auditSnapshot: getLoan and positionOf per loan
    calls = _round_two_calls(
        [(loan.loan_id, loan.lenders) for loan in loans], count, known, list(credit), positions, single
    )
    got = iter(answers(views, calls, cache))
    loan_views = [next(got) for _ in loans] if single else []
    position_views = [[next(got) for _ in loan.lenders] for loan in loans] if positions and single else None
    onchain = {Web3.to_checksum_address(next(got)) for _ in range(count)}
    account_views = {address: next(got) for address in known}
    credit_views = {borrower_id: next(got) for borrower_id in credit}
    if snapshot is not None:
        out.extend(compare_snapshot(books, snapshot, positions=positions))
    for i, (loan, view) in enumerate(zip(loans, loan_views, strict=True) if single else ()):
        out.extend(_compare_loan(books, loan, view, position_views[i] if position_views is not None else None))
    replayed = {a for a, acct in books.accounts.items() if acct.index}
    if onchain != replayed:
        out.append(view_finding("ledger", "institutions", sorted(replayed), sorted(onchain)))
    extra = sorted(onchain - set(account_views))
    account_views.update(zip(extra, answers(views, [("accountOf", (a,)) for a in extra], cache), strict=True))
    for address in sorted(onchain | set(books.accounts)):
        acct = books.accounts.get(address)
        view = account_views[address]
        for key in ACCOUNT_FIELDS:
            expected = getattr(acct, key) if acct else 0
            if int(view[key]) != expected:
                out.append(view_finding(f"account {address}", key, expected, view[key]))
    for borrower_id, expected_record in credit.items():
        view = credit_views[borrower_id]
        for key, value in expected_record.items():
            if int(view[key]) != value:
                out.append(view_finding(f"borrower {borrower_id}", f"creditRecord.{key}", value, view[key]))
    out.extend(_compare_roles(views, books, cache))
    balance_key: ViewKey = ("balanceOf", (views.address,))
    if cache is not None and balance_key in cache:
        balance = cache[balance_key]
    else:
        (balance,) = views.call_many([balance_key], to=token)
    if int(balance) != books.expected_balance:
        out.append(
            Finding(
                check="balance",
                subject="ledger",
                field="token balance",
                expected=str(books.expected_balance),
                found=str(balance),
                detail="token.balanceOf(ledger) ≠ the token flows the records account for",
            )
        )
    return out
