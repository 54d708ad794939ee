"""Replay the audit records into loans and institution accounts, following docs/ledger-spec.md.

The bookkeeping (cumulative-floor splits, service fee, reserves, closure leftovers, write-off
absorption, recoveries, exposures, the ledger's token balance) is the reference model's
:class:`pylender.reference.Books`, driven from the decoded events alone. This module adds what an
auditor checks on top: each record's own figures against the rules (tranche amounts, fees, A,
outstanding, status, exposure) and the per-loan state the events carry (installment, penalty,
credit-record counters). Every unit credited to an institution is kept as a :class:`Flow`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pylender import reference
from pylender.audit.findings import Finding
from pylender.audit.records import Record
from pylender.errors import BooksError
from pylender.reference.records import CREDIT_WIDTH
from pylender.schedule import EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, installment_amount
from pylender.values import BPS, role_id, role_name

MOVES = (reference.Component.RESERVE_RELEASE, reference.Component.ABSORBED)
LENDER_ROLE = "0x" + role_id("LENDER_ROLE").hex()


def role_hex(role: bytes | str) -> str:
    return "0x" + role.hex() if isinstance(role, bytes) else role.lower()


Status = reference.LoanStatus


@dataclass
class Flow:
    """Units that moved to (positive) or out of (negative) one institution, tagged with the record that did it.

    Components are :class:`pylender.reference.Component` names; ``reserve-release`` and ``absorbed`` move
    units from reserve to withdrawable, ``loss`` is recorded loss (negative) or its reduction (positive).
    """

    seq: int
    block: int
    loan_id: int | None
    account: str
    component: str
    amount: int


@dataclass
class LoanState:
    """What the events say about one loan beyond the split (the split lives in ``reference.LoanBook``)."""

    loan_id: int
    terms: dict[str, Any]
    book: reference.LoanBook
    status: Status = Status.ORIGINATED
    installment_amount: int = 0
    installment: int = 0
    outstanding: int = 0
    owed_at_default: int = 0
    penalty_accrued: int = 0
    on_time: int = 0
    late: int = 0
    max_days_late: int = 0
    total_days_late: int = 0
    last_seq: int = 0

    @property
    def lenders(self) -> list[str]:
        return self.book.lenders

    @property
    def funded(self) -> int:
        return sum(self.book.funded)


@dataclass
class AuditBooks:
    """Everything the replay rebuilt: the reference books plus loan state, flows and the policy."""

    books: reference.Books = field(default_factory=reference.Books)
    loans: dict[int, LoanState] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    roles: dict[str, set[str]] = field(default_factory=dict)
    """Role (0x-hex bytes32) -> its members, from AccessChanged and InstitutionRegistered (LENDER_ROLE)."""
    role_history: set[tuple[str, str]] = field(default_factory=set)
    """Every (role, account) the trail ever names: the ones to check against ``hasRole``."""
    offers: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Open offers (offer id -> the PositionOffered fields); accepted and cancelled ones are removed."""
    offer_count: int = 0
    last_seq: int = 0
    # (seq, block, first, end) of each record's slice of books.journal; Flows are built on demand
    flow_marks: list[tuple[int, int, int, int]] = field(default_factory=list)
    _flows: list[Flow] = field(default_factory=list, repr=False)

    @property
    def flows(self) -> list[Flow]:
        """Every credit of the replay as a :class:`Flow`, in record order (built lazily from the journal)."""
        if len(self._flows) != self._flow_count():
            journal = self.books.journal
            out: list[Flow] = []
            for seq, block, first, end in self.flow_marks:
                for credit in journal[first:end]:
                    if credit.component == reference.Component.LOSS:
                        amount = -credit.loss
                    elif credit.component in MOVES:
                        amount = credit.withdrawable
                    else:
                        amount = credit.withdrawable + credit.reserve
                    out.append(Flow(seq, block, credit.loan_id, credit.account, str(credit.component), amount))
            self._flows = out
        return self._flows

    def _flow_count(self) -> int:
        return sum(end - first for _, _, first, end in self.flow_marks)

    @property
    def accounts(self) -> dict[str, reference.Account]:
        return self.books.accounts

    @property
    def expected_balance(self) -> int:
        """The ledger's token balance implied by the records' token movements."""
        return self.books.held

    @property
    def conserved_balance(self) -> int:
        """Σ withdrawable + Σ reserve + Σ funded-not-disbursed + Σ undistributed leftovers (spec, Conservation)."""
        return self.books.accounted()

    def withdrawn(self, account: str) -> int:
        return -sum(f.amount for f in self.flows if f.account == account and f.component == "withdrawal")


class Replayer:
    """Applies records in seq order, collecting every contradiction as a finding."""

    def __init__(self) -> None:
        self.state = AuditBooks()
        self.findings: list[Finding] = []
        self._rec: Record | None = None
        self._handlers: dict[str, Any] = {}

    # ------------------------------------------------------------ helpers

    @property
    def _books(self) -> reference.Books:
        return self.state.books

    def _finding(self, subject: str, field_: str, expected: Any, found: Any, detail: str = "") -> None:
        seq = self._rec.seq if self._rec else None
        self.findings.append(
            Finding(
                check="replay",
                seq=seq,
                subject=subject,
                field=field_,
                expected=str(expected),
                found=str(found),
                detail=detail,
            )
        )

    def _expect(self, subject: str, field_: str, expected: Any, found: Any, detail: str = "") -> None:
        if expected != found:
            self._finding(subject, field_, expected, found, detail)

    def _loan(self, f: dict[str, Any]) -> LoanState:
        loan = self.state.loans.get(int(f["loanId"]))
        if loan is None:
            raise BooksError(f"unknown loan {f['loanId']}")
        loan.last_seq = self._rec.seq if self._rec else 0
        return loan

    def _status(self, loan: LoanState, *allowed: Status) -> None:
        if loan.status not in allowed:
            kind = self._rec.kind if self._rec else ""
            self._finding(
                f"loan {loan.loan_id}",
                "status",
                "/".join(s.name for s in allowed),
                loan.status.name,
                f"{kind} in a status that does not allow it",
            )

    # ------------------------------------------------------------ driving

    def apply(self, record: Record) -> None:
        """Apply one record; the journal entries it booked become its flows (``flow_marks``).

        The hot path of a replay: the journal's flat list (``Journal.flat``, one object for the books' life)
        is measured directly, six slots per credit."""
        self._rec = record
        state = self.state
        state.last_seq = record.seq
        kind = record.kind
        handler = self._handlers.get(kind)
        if handler is None:
            handler = self._handlers[kind] = getattr(self, f"_on_{kind}", None)
        if handler is None:
            self._finding(kind, "kind", "a known audit event", kind)
            return
        flat = state.books.journal.flat
        start = len(flat)
        try:
            handler(record.fields)
        except BooksError as exc:
            self._finding(kind, "books", "a record the books can apply", str(exc))
        except (KeyError, TypeError, ValueError) as exc:
            self._finding(kind, "fields", "the fields the ledger ABI defines", f"{type(exc).__name__}: {exc}")
        end = len(flat)
        if end > start:
            state.flow_marks.append((record.seq, record.block_number, start // CREDIT_WIDTH, end // CREDIT_WIDTH))

    def apply_all(self, records: Iterable[Record]) -> AuditBooks:
        for record in records:
            self.apply(record)
        return self.state

    # ------------------------------------------------------------ events

    def _on_InstitutionRegistered(self, f: dict[str, Any]) -> None:
        index = self._books.register(f["account"], f["name"], bool(f["isPlatform"]))
        self._expect(f"account {f['account']}", "index", index, int(f["index"]))
        self.state.roles.setdefault(LENDER_ROLE, set()).add(f["account"])
        self.state.role_history.add((LENDER_ROLE, f["account"]))

    def _on_PoolRegistered(self, f: dict[str, Any]) -> None:
        """The institution just registered is a loan pool: the ledger counts its principal and recovery credits."""
        account = self._books.account(f["pool"])
        self._expect(f"account {f['pool']}", "index", account.index, int(f["index"]))
        account.is_pool = True

    def _on_InstitutionRotated(self, f: dict[str, Any]) -> None:
        """An institution's address replaced: index, balances, tranches follow; LENDER_ROLE moves with it."""
        old, new = f["from"], f["to"]
        index = self._books.rotate(old, new)
        self._expect(f"account {old}", "index", index, int(f["index"]))
        members = self.state.roles.setdefault(LENDER_ROLE, set())
        members.discard(old)
        members.add(new)
        self.state.role_history.add((LENDER_ROLE, new))

    def _on_AccessChanged(self, f: dict[str, Any]) -> None:
        role = role_hex(f["role"])
        members = self.state.roles.setdefault(role, set())
        account, granted = f["account"], bool(f["granted"])
        self.state.role_history.add((role, account))
        # the ledger records only grants and revocations that change something
        self._expect(f"role {role_name(role)} of {account}", "held before", not granted, account in members)
        if granted:
            members.add(account)
        else:
            members.discard(account)

    def _on_PolicyUpdated(self, f: dict[str, Any]) -> None:
        self.state.policy = dict(f["policy"])

    def _on_LoanOriginated(self, f: dict[str, Any]) -> None:
        loan_id = int(f["loanId"])
        self._expect(f"loan {loan_id}", "loanId", len(self.state.loans) + 1, loan_id, "loan ids run from 1")
        terms = dict(f["terms"])
        for t in f["tranches"]:
            self._books.account(t["lender"])  # lenders must be registered institutions
        book = self._books.open_loan(
            loan_id,
            int(terms["principal"]),
            [(t["lender"], int(t["shareBps"])) for t in f["tranches"]],
            int(terms["serviceFeeBps"]),
            terms["feeRecipient"],
            int(terms["reserveBps"]),
        )
        self.state.loans[loan_id] = LoanState(loan_id, terms, book, last_seq=self._rec.seq if self._rec else 0)

    def _on_TrancheFunded(self, f: dict[str, Any]) -> None:
        loan = self._loan(f)
        subject = f"loan {loan.loan_id}"
        self._status(loan, Status.ORIGINATED)
        if f["lender"] not in loan.lenders:
            self._finding(subject, "lender", "a tranche lender", f["lender"])
            return
        amount = self._books.fund(loan.loan_id, f["lender"])
        self._expect(subject, f"tranche {f['lender']} amount", amount, int(f["amount"]))
        self._expect(
            f"account {f['lender']}", "exposure", self._books.account(f["lender"]).exposure, int(f["exposure"])
        )
        full = all(loan.book.funded)
        self._expect(subject, "fullyFunded", full, bool(f["fullyFunded"]))
        if full:
            loan.status = Status.FUNDED

    def _on_LoanCancelled(self, f: dict[str, Any]) -> None:
        loan = self._loan(f)
        self._status(loan, Status.ORIGINATED, Status.FUNDED)
        self._expect(f"loan {loan.loan_id}", "refunded", self._books.cancel(loan.loan_id), int(f["refunded"]))
        loan.status = Status.CANCELLED

    def _on_LoanDisbursed(self, f: dict[str, Any]) -> None:
        loan = self._loan(f)
        subject, terms = f"loan {loan.loan_id}", loan.terms
        self._status(loan, Status.FUNDED)
        principal = self._books.disburse(loan.loan_id)
        self._expect(subject, "principal", principal, int(f["principal"]))
        a = installment_amount(
            int(terms["method"]),
            principal,
            int(terms["annualRateBps"]),
            int(terms["periodSeconds"]),
            int(terms["periods"]),
        )
        self._expect(subject, "installmentAmount", a, int(f["installmentAmount"]))
        loan.status, loan.outstanding, loan.installment = Status.ACTIVE, principal, 1
        loan.installment_amount = int(f["installmentAmount"])

    def _pay(self, loan: LoanState, b: dict[str, Any], prepayment_fee: int = 0) -> None:
        """Apply a repayment breakdown (and a prepayment fee) and check the figures the record states.

        The hot path of a replay (one call per repayment): comparisons inline, messages built only
        for a finding.
        """
        if loan.status != Status.ACTIVE:
            self._status(loan, Status.ACTIVE)
        penalty, interest, principal = int(b["penaltyPaid"]), int(b["interestPaid"]), int(b["principalPaid"])
        amount = int(b["amount"])
        if penalty + interest + principal + prepayment_fee != amount:
            self._finding(
                f"loan {loan.loan_id}",
                "amount",
                penalty + interest + principal + prepayment_fee,
                amount,
                "amount ≠ penalty + interest + principal (+ prepayment fee)",
            )
        loan.outstanding -= principal
        outstanding = int(b["outstanding"])
        if loan.outstanding != outstanding:
            self._finding(f"loan {loan.loan_id}", "outstanding", loan.outstanding, outstanding)
        closed = loan.outstanding == 0
        fee = self._books.apply_payment(
            loan.loan_id,
            penalty=penalty,
            interest=interest,
            principal=principal,
            prepayment_fee=prepayment_fee,
            close=closed,
        )
        fee_paid = int(b["feePaid"])
        if fee != fee_paid:
            self._finding(f"loan {loan.loan_id}", "feePaid", fee, fee_paid)
        expected_status = Status.CLOSED if closed else Status.ACTIVE
        found_status = int(b["status"])
        if found_status != expected_status:  # Status() raises ValueError (a "fields" finding) on a bad value
            self._finding(f"loan {loan.loan_id}", "status", expected_status.name, Status(found_status).name)
        loan.status = expected_status
        loan.installment = int(b["installment"])
        loan.penalty_accrued = int(b["penaltyAccrued"])
        loan.on_time += int(b["onTimeCompleted"])
        loan.late += int(b["lateCompleted"])
        loan.total_days_late += int(b["daysLate"])
        days = int(b["maxDaysLate"])
        if days > loan.max_days_late:
            loan.max_days_late = days

    def _on_RepaymentApplied(self, f: dict[str, Any]) -> None:
        self._pay(self._loan(f), f["breakdown"])

    def _on_PrepaymentApplied(self, f: dict[str, Any]) -> None:
        loan = self._loan(f)
        subject, terms = f"loan {loan.loan_id}", loan.terms
        prepaid, fee = int(f["principalPrepaid"]), int(f["prepaymentFee"])
        self._expect(subject, "prepaymentFee", -(-prepaid * int(terms["prepaymentFeeBps"]) // BPS), fee)
        self._pay(loan, f["breakdown"], fee)
        new_a = int(f["installmentAmount"])
        if loan.outstanding:
            remaining = int(terms["periods"]) - loan.installment + 1
            method = int(terms["method"])
            if method == EQUAL_INSTALLMENT:
                expected = installment_amount(
                    method, loan.outstanding, int(terms["annualRateBps"]), int(terms["periodSeconds"]), remaining
                )
            elif method == EQUAL_PRINCIPAL:
                expected = loan.outstanding // remaining
            else:
                expected = loan.installment_amount
            self._expect(subject, "installmentAmount", expected, new_a, f"re-amortized over {remaining} periods")
        loan.installment_amount = new_a

    def _on_Withdrawn(self, f: dict[str, Any]) -> None:
        account = self._books.account(f["account"])
        expected = account.withdrawable
        self._expect(
            f"account {f['account']}",
            "withdrawn amount",
            expected,
            int(f["amount"]),
            "withdraw() pays the whole withdrawable balance",
        )
        self._books.withdraw(f["account"])

    def _on_LoanDefaulted(self, f: dict[str, Any]) -> None:
        loan = self._loan(f)
        subject = f"loan {loan.loan_id}"
        self._status(loan, Status.ACTIVE)
        self._expect(subject, "outstandingPrincipal", loan.outstanding, int(f["outstandingPrincipal"]))
        owed = int(f["outstandingPrincipal"]) + int(f["unpaidInterest"]) + int(f["penaltyAccrued"])
        self._expect(subject, "owedAtDefault", owed, int(f["owedAtDefault"]))
        self._books.mark_default(loan.loan_id, int(f["owedAtDefault"]))
        loan.owed_at_default, loan.penalty_accrued = int(f["owedAtDefault"]), int(f["penaltyAccrued"])
        loan.status = Status.DEFAULTED

    def _on_LoanWrittenOff(self, f: dict[str, Any]) -> None:
        loan = self._loan(f)
        subject = f"loan {loan.loan_id}"
        self._status(loan, Status.DEFAULTED)
        self._expect(subject, "loss", loan.outstanding, int(f["loss"]), "the loss is the outstanding principal")
        absorbed = self._books.write_off(loan.loan_id, loan.outstanding)
        self._expect(subject, "absorbed", absorbed, int(f["absorbed"]))
        loan.outstanding = 0  # the principal is written off: nothing is owed as principal any more
        loan.status = Status.WRITTEN_OFF

    def _on_RecoveryApplied(self, f: dict[str, Any]) -> None:
        loan = self._loan(f)
        subject = f"loan {loan.loan_id}"
        self._status(loan, Status.DEFAULTED, Status.WRITTEN_OFF)
        amount = int(f["amount"])
        self._books.recover(loan.loan_id, amount)  # BooksError beyond owedAtDefault
        self._expect(subject, "recovered", loan.book.recovered, int(f["recovered"]))
        if loan.status == Status.DEFAULTED:
            loan.outstanding -= min(amount, loan.outstanding)
        self._expect(subject, "outstandingPrincipal", loan.outstanding, int(f["outstandingPrincipal"]))
        if loan.book.status == Status.RECOVERED:  # recovered in full before a write-off: the loan has ended
            loan.status = Status.RECOVERED
        self._expect(subject, "status", int(loan.status), int(f["status"]))

    def _on_PositionOffered(self, f: dict[str, Any]) -> None:
        loan = self._loan(f)
        self._status(loan, Status.ACTIVE, Status.DEFAULTED, Status.WRITTEN_OFF)
        offer_id = int(f["offerId"])
        self._expect(f"loan {loan.loan_id}", "offerId", self.state.offer_count + 1, offer_id, "offer ids run from 1")
        self.state.offer_count = max(self.state.offer_count, offer_id)
        self._holds(loan, f["seller"], int(f["shareBps"]))
        self._books.account(f["buyer"])  # the buyer must be a registered institution
        self.state.offers[offer_id] = dict(f)

    def _on_OfferCancelled(self, f: dict[str, Any]) -> None:
        offer = self._open_offer(f)
        if offer is not None:
            self._expect(f"offer {f['offerId']}", "seller", offer["seller"], f["seller"], "only the seller cancels")

    def _on_PositionTransferred(self, f: dict[str, Any]) -> None:
        """The offer's position moves (offsets keep every credit where it stands) and its price, paid in by the
        buyer, is credited to the seller."""
        loan = self._loan(f)
        self._status(loan, Status.ACTIVE, Status.DEFAULTED, Status.WRITTEN_OFF)
        offer = self._open_offer(f)
        share, price = int(f["shareBps"]), int(f["price"])
        if offer is not None:
            for name, value in (("seller", f["seller"]), ("buyer", f["buyer"]), ("shareBps", share), ("price", price)):
                self._expect(f"offer {f['offerId']}", name, offer[name], value, "an acceptance settles its offer")
        self._books.transfer(loan.loan_id, f["seller"], f["buyer"], share, price)

    def _open_offer(self, f: dict[str, Any]) -> dict[str, Any] | None:
        offer = self.state.offers.pop(int(f["offerId"]), None)
        if offer is None:
            self._finding(f"offer {f['offerId']}", "open", "an open offer", "no open offer with this id")
        elif int(offer["loanId"]) != int(f["loanId"]):
            self._finding(f"offer {f['offerId']}", "loanId", offer["loanId"], f["loanId"])
        return offer

    def _holds(self, loan: LoanState, seller: str, share: int) -> None:
        book = loan.book
        held = book.shares[book.lenders.index(seller)] if seller in book.lenders else 0
        if held < share:
            subject = f"loan {loan.loan_id} position {seller}"
            self._finding(subject, "shareBps held", f"at least {share}", held, "a holder sells at most what it holds")

    def _on_LedgerPaused(self, f: dict[str, Any]) -> None:
        self.state.paused = True

    def _on_LedgerUnpaused(self, f: dict[str, Any]) -> None:
        self.state.paused = False


def replay(records: Iterable[Record]) -> tuple[AuditBooks, list[Finding]]:
    """Replay ``records`` (in seq order); returns the books and every contradiction found."""
    r = Replayer()
    r.apply_all(records)
    return r.state, r.findings
