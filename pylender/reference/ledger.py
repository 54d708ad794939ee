"""The reference simulator :class:`ReferenceLedger`: policy, origination checks, funding, the schedule cursor,
penalty accrual, the payment waterfall, prepayment, default, write-off, recovery, credit records. It decides what
each payment pays and hands that to its :class:`~pylender.reference.splitting.Books`."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

from pylender.errors import (
    AccessControlUnauthorizedAccount,
    AlreadyFunded,
    CancelNotAllowed,
    ContractError,
    DeadlinePassed,
    EnforcedPause,
    ExpectedPause,
    ExposureAboveCap,
    InstallmentAboveLimit,
    InstitutionExists,
    InvalidTrancheCount,
    LengthMismatch,
    LoanNotInStatus,
    LoanRefTaken,
    NotATrancheLender,
    NothingDue,
    NotOfferBuyer,
    NotOfferSeller,
    NotOverdueLongEnough,
    OfferExpired,
    OfferNotOpen,
    Overpayment,
    PrepaymentBelowSchedule,
    PriceAboveLimit,
    SelfTransfer,
    ShareBelowMinimum,
    ShareNotHeld,
    UnknownInstitution,
    ZeroAddress,
    ZeroAmount,
    ZeroShare,
)
from pylender.reference import participations
from pylender.reference.origination import check_policy, check_schedule, check_terms, check_tranches
from pylender.reference.splitting import Books
from pylender.reference.values import (
    ZERO_ADDRESS,
    AmountDue,
    CreditRecord,
    LoanStatus,
    LoanTerms,
    PolicyParams,
    RepaymentBreakdown,
    Tranche,
    is_zero,
)
from pylender.reference.waterfall import (
    Cursor,
    Loan,
    complete,
    first_owing,
    load,
    pay_installments,
    pay_penalty,
    penalty_due,
)
from pylender.schedule import installment_amount, tranche_amounts
from pylender.values import BPS, CURSOR_LIMIT, DISBURSED_STATUSES, MAX_TRANCHES, PAY_ALL_DUE, OfferView, loan_ref


class ReferenceLedger:
    """The whole ledger in exact integers: the oracle the contract tests and the audit compare against."""

    def __init__(self, policy: PolicyParams | None = None) -> None:
        self.policy = policy or PolicyParams()
        self.books = Books()
        self.loans: dict[int, Loan] = {}
        self.loans_of: dict[Any, list[int]] = {}
        self.loan_by_ref: dict[bytes, int] = {}
        self.offers: dict[int, participations.Offer] = {}  # open offers
        self.offer_count = 0
        self.paused = False

    # -- admin

    def register_institution(self, account: str, name: str = "", is_platform: bool = False) -> int:
        self._not_paused()
        if is_zero(account):
            raise ZeroAddress()
        if account in self.books.accounts:
            raise InstitutionExists(account)
        return self.books.register(account, name, is_platform)

    def register_pool(self, pool: str, name: str = "") -> int:
        """Register a loan pool: an institution that holds positions only by buying them (never at origination,
        ``PoolCannotOriginate``) and whose principal and recovery credits the ledger counts."""
        self._not_paused()
        if is_zero(pool):
            raise ZeroAddress()
        if pool in self.books.accounts:
            raise InstitutionExists(pool)
        return self.books.register(pool, name, False, is_pool=True)

    def pool_collections_of(self, pool: str) -> tuple[int, int]:
        """``poolCollectionsOf``: the pool's cumulative principal and recovery credits."""
        account = self.books.accounts.get(pool)
        return (account.pool_principal, account.pool_recovered) if account is not None else (0, 0)

    def set_policy(self, policy: PolicyParams) -> None:
        self._not_paused()
        check_policy(policy)
        self.policy = policy

    def rotate_institution(self, account: str, new_account: str) -> int:
        """Move institution ``account`` (its index, balances, tranches) to ``new_account``; works while paused."""
        if account not in self.books.accounts:
            raise UnknownInstitution(account)
        if is_zero(new_account):
            raise ZeroAddress()
        if new_account in self.books.accounts:
            raise InstitutionExists(new_account)
        for loan in self.loans.values():
            loan.tranches = [Tranche(new_account, t.share_bps) if t.lender == account else t for t in loan.tranches]
            if loan.terms.fee_recipient == account:
                loan.terms = dataclasses.replace(loan.terms, fee_recipient=new_account)
        for offer in self.offers.values():  # the contract's offers name institutions by index
            offer.seller = new_account if offer.seller == account else offer.seller
            offer.buyer = new_account if offer.buyer == account else offer.buyer
        return self.books.rotate(account, new_account)

    def pause(self) -> None:
        if self.paused:
            raise EnforcedPause()
        self.paused = True

    def unpause(self) -> None:
        if not self.paused:
            raise ExpectedPause()
        self.paused = False

    # -- origination, funding, cancellation, disbursement

    def originate(self, terms: LoanTerms, tranches: Sequence[Tranche], now: int) -> int:
        """Validate (in the contract's order) and record a loan; returns its id (from 1)."""
        self._not_paused()
        loan_id = len(self.loans) + 1
        check_terms(loan_id, terms, now, self.policy, self.books.accounts)
        ref = terms.loan_ref if isinstance(terms.loan_ref, bytes) else loan_ref(terms.loan_ref)
        if any(ref) and ref in self.loan_by_ref:
            raise LoanRefTaken(ref, self.loan_by_ref[ref])
        check_tranches(loan_id, tranches, self.policy, self.books.accounts)
        check_schedule(terms, self.policy)
        self.loans[loan_id] = Loan(
            loan_id,
            terms,
            list(tranches),
            default_after=self.policy.default_after,
            public_default_delay=self.policy.public_default_delay,
            disburse_by=terms.funding_deadline + self.policy.disbursement_window,
        )
        self.loans_of.setdefault(terms.borrower_id, []).append(loan_id)
        if any(ref):
            self.loan_by_ref[ref] = loan_id
        self.books.open_loan(
            loan_id, terms.principal, tranches, terms.service_fee_bps, terms.fee_recipient, terms.reserve_bps
        )
        return loan_id

    def fund(self, loan_id: int, lender: str, now: int) -> int:
        """The lender funds its tranche; returns the amount pulled."""
        if lender not in self.books.accounts:
            raise AccessControlUnauthorizedAccount(lender, "LENDER_ROLE")
        self._not_paused()
        loan = self._loan_in(loan_id, LoanStatus.ORIGINATED)
        if now > loan.terms.funding_deadline:
            raise DeadlinePassed(loan_id, loan.terms.funding_deadline)
        book = self.books.loan(loan_id)
        if lender not in book.lenders:
            raise NotATrancheLender(loan_id, lender)
        t = book.lenders.index(lender)
        if book.funded[t]:
            raise AlreadyFunded(loan_id, lender)
        exposure = self.books.accounts[lender].exposure + book.amounts[t]
        if exposure > self.policy.max_lender_exposure:
            raise ExposureAboveCap(lender, exposure, self.policy.max_lender_exposure)
        amount = self.books.fund(loan_id, lender)
        if book.status == LoanStatus.FUNDED:
            loan.status = LoanStatus.FUNDED
        return amount

    def cancel(self, loan_id: int, now: int, *, by_originator: bool = True, caller: str = ZERO_ADDRESS) -> int:
        """Cancel before disbursement; returns the amount refunded to lenders' withdrawable balances."""
        self._not_paused()
        loan = self._loan(loan_id)
        if loan.status not in (LoanStatus.ORIGINATED, LoanStatus.FUNDED):
            raise LoanNotInStatus(loan_id, loan.status)
        # after the funding deadline while unfunded, or after the disbursement deadline while funded: anyone
        expired = now > (loan.terms.funding_deadline if loan.status == LoanStatus.ORIGINATED else loan.disburse_by)
        if not expired and not by_originator:
            raise CancelNotAllowed(loan_id, caller)
        loan.status = LoanStatus.CANCELLED
        return self.books.cancel(loan_id)

    def disburse(self, loan_id: int, now: int) -> int:
        """Send the principal to the borrower; fixes A. Returns A."""
        self._not_paused()
        loan = self._loan_in(loan_id, LoanStatus.FUNDED)
        t = loan.terms
        loan.installment_amount = installment_amount(
            t.method, t.principal, t.annual_rate_bps, t.period_seconds, t.periods
        )
        loan.status = LoanStatus.ACTIVE
        loan.disbursed_at = now
        loan.current = 1
        loan.outstanding = t.principal
        loan.penalty_checkpoint = now
        self.books.disburse(loan_id)
        return loan.installment_amount

    # -- repayment

    def repay(self, loan_id: int, amount: int, now: int) -> RepaymentBreakdown:
        """Penalty first, then installments oldest first (interest, then principal): every installment due and the
        next one not yet due, no more (``Overpayment``). ``PAY_ALL_DUE`` (``2**256 - 1``, the contract's
        ``type(uint256).max``) pays exactly everything due at ``now`` (``NothingDue`` if nothing is). Open while paused,
        like every borrower-funded inflow."""
        return self._repay(loan_id, amount, now)

    def repay_batch(self, loan_ids: Sequence[int], amounts: Sequence[int], now: int) -> list[RepaymentBreakdown]:
        """Several repayments, all or nothing (open while paused)."""
        if len(loan_ids) != len(amounts):
            raise LengthMismatch(len(loan_ids), len(amounts))
        if not loan_ids:
            raise ZeroAmount()
        saved = copy.deepcopy((self.books, self.loans))
        try:
            return [self._repay(i, a, now) for i, a in zip(loan_ids, amounts, strict=True)]
        except ContractError:
            self.books, self.loans = saved
            raise

    def _repay(self, loan_id: int, amount: int, now: int) -> RepaymentBreakdown:
        if amount == 0:
            raise ZeroAmount()
        loan = self._loan_in(loan_id, LoanStatus.ACTIVE)
        c = load(loan, now)
        if amount == PAY_ALL_DUE:  # everything due now: the penalty and every installment already due
            amount -= pay_installments(loan, c, pay_penalty(c, amount), only_due=True, now=now)
            if amount == 0:
                raise NothingDue(loan_id)
            return self._settle(loan, c, amount, now)
        left = pay_installments(loan, c, pay_penalty(c, amount), only_due=False, now=now)
        if left:
            raise Overpayment(loan_id, amount, amount - left)
        return self._settle(loan, c, amount, now)

    def amount_due(self, loan_id: int, now: int) -> AmountDue:
        """What the loan owes at ``now``: penalty, dues of installments already due, and the most ``repay`` takes."""
        loan = self._loan(loan_id)
        if loan.status != LoanStatus.ACTIVE:
            return AmountDue(0, 0, 0, 0, 0, 0, 0)
        c = load(loan, now)
        pen = penalty_due(c)
        _, next_due = first_owing(loan, c)
        overdue, outstanding = 0, c.outstanding
        for k in range(c.k, loan.terms.periods + 1):
            if now <= loan.due_date(k) + loan.terms.grace_period:
                break
            i, p = loan.dues(k, outstanding)
            if i + p > (c.ic + c.pc if k == c.k else 0):  # owing nothing, it is never overdue
                overdue += 1
            outstanding -= p
        pay_installments(loan, c, pen + 2**256, only_due=True, now=now)
        total_due = pen + c.interest_applied + c.principal_applied
        full = load(loan, now)
        pay_installments(loan, full, 2**256, only_due=False, now=now)
        return AmountDue(
            penalty=pen,
            interest=c.interest_applied,
            principal=c.principal_applied,
            total_due=total_due,
            max_payable=pen + full.interest_applied + full.principal_applied,
            overdue_installments=overdue,
            next_due_date=next_due,
        )

    # -- prepayment

    def prepayment_quote(self, loan_id: int, principal_amount: int, now: int) -> int:
        """What ``prepay(loan_id, principal_amount)`` pulls at ``now``."""
        loan = self._loan_in(loan_id, LoanStatus.ACTIVE)
        return self._prepay_sim(loan, principal_amount, now)[1]

    def prepay(self, loan_id: int, principal_amount: int, now: int) -> RepaymentBreakdown:
        """Pay the penalty, everything due, the current installment's interest in full, ``principal_amount`` of
        principal and the prepayment fee; re-amortize what remains over the remaining periods. Open while paused."""
        if principal_amount == 0:
            raise ZeroAmount()
        loan = self._loan_in(loan_id, LoanStatus.ACTIVE)
        c, total, fee, new_a = self._prepay_sim(loan, principal_amount, now)
        loan.installment_amount = new_a
        return self._settle(loan, c, total, now, prepayment_fee=fee)

    def _prepay_sim(self, loan: Loan, principal_amount: int, now: int) -> tuple[Cursor, int, int, int]:
        t = loan.terms
        c = load(loan, now)
        pay_penalty(c, 2**256)
        pay_installments(loan, c, 2**256, only_due=True, now=now)
        available = c.outstanding - c.pc if c.k <= t.periods else 0
        if principal_amount > available:
            raise Overpayment(loan.loan_id, principal_amount, available)
        interest_k, principal_k = loan.dues(c.k, c.outstanding)
        minimum = max(principal_k - c.pc, 0)  # prepaying accelerates: at least the scheduled principal
        if principal_amount < minimum:
            raise PrepaymentBelowSchedule(loan.loan_id, principal_amount, minimum)
        c.interest_applied += interest_k - c.ic  # 当期利息照收: the current installment's interest in full
        c.ic = interest_k
        c.pc += principal_amount
        c.principal_applied += principal_amount
        complete(loan, c, c.pc, now)  # the current installment is complete, its principal being what was paid
        new_a = loan.installment_amount
        if c.outstanding:  # not the last installment (it pays at least its scheduled principal): periods remain
            remaining = t.periods - (c.k - 1)
            new_a = installment_amount(t.method, c.outstanding, t.annual_rate_bps, t.period_seconds, remaining)
        if new_a > CURSOR_LIMIT:
            raise InstallmentAboveLimit(new_a, CURSOR_LIMIT)
        fee = -(-principal_amount * t.prepayment_fee_bps // BPS)
        total = c.penalty_applied + c.interest_applied + c.principal_applied + fee
        return c, total, fee, new_a

    # -- default, write-off, recovery

    def mark_default(self, loan_id: int, now: int, *, by_servicer: bool = True) -> int:
        """Mark an overdue loan defaulted; returns owedAtDefault (principal + unpaid due interest + penalty)."""
        self._not_paused()
        loan = self._loan_in(loan_id, LoanStatus.ACTIVE)
        c = load(loan, now)
        _, due = first_owing(loan, c)  # installments owing nothing are never overdue
        overdue_since = due + loan.terms.grace_period
        defaultable_at = overdue_since + loan.default_after  # the loan's own timing, fixed at origination
        if not by_servicer:
            defaultable_at += loan.public_default_delay
        if now <= overdue_since or now < defaultable_at:
            raise NotOverdueLongEnough(loan_id, overdue_since, defaultable_at)
        pen = penalty_due(c)
        exact = c.penalty_exact
        principal = c.outstanding - c.pc
        pay_installments(loan, c, 2**256, only_due=True, now=now)  # a dry run: the unpaid due interest
        loan.penalty_exact = exact
        loan.penalty_checkpoint = now
        loan.outstanding = principal
        loan.owed_at_default = principal + c.interest_applied + pen
        loan.status = LoanStatus.DEFAULTED
        self.books.mark_default(loan_id, loan.owed_at_default)
        return loan.owed_at_default

    def write_off(self, loan_id: int) -> int:
        """Write a defaulted loan off; returns the loss absorbed by reserves."""
        self._not_paused()
        loan = self._loan_in(loan_id, LoanStatus.DEFAULTED)
        loss = loan.outstanding
        loan.status = LoanStatus.WRITTEN_OFF
        loan.written_off = loss
        loan.outstanding = 0
        return self.books.write_off(loan_id, loss)

    def recover(self, loan_id: int, amount: int) -> int:
        """A recovery on a defaulted or written-off loan; returns cumulative ``recovered``. Open while paused. A
        defaulted loan whose recoveries reach owedAtDefault is Recovered and ends as a closure does."""
        if amount == 0:
            raise ZeroAmount()
        loan = self._loan(loan_id)
        if loan.status not in (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF):
            raise LoanNotInStatus(loan_id, loan.status)
        book = self.books.loan(loan_id)
        if book.recovered + amount > loan.owed_at_default:
            raise Overpayment(loan_id, amount, loan.owed_at_default - book.recovered)
        if loan.status == LoanStatus.DEFAULTED:
            loan.outstanding -= min(amount, loan.outstanding)
        self.books.recover(loan_id, amount)
        if book.status == LoanStatus.RECOVERED:
            loan.status = LoanStatus.RECOVERED
        return book.recovered

    # -- participations (docs/ledger-spec.md, "Participations")

    def offer_position(
        self, seller: str, loan_id: int, buyer: str, share_bps: int, price: int, expiry: int, now: int
    ) -> int:
        """``seller`` offers ``share_bps`` of its position in loan ``loan_id`` to ``buyer`` at ``price`` until
        ``expiry``; returns the offer id (from 1)."""
        self._not_paused()
        if expiry < now:
            raise DeadlinePassed(loan_id, expiry)
        if price >= 2**128:
            raise PriceAboveLimit(price, 2**128 - 1)
        self._check_transfer(loan_id, seller, buyer, share_bps)
        self.offer_count += 1
        self.offers[self.offer_count] = participations.Offer(loan_id, seller, buyer, share_bps, price, expiry)
        return self.offer_count

    def accept_offer(self, caller: str, offer_id: int, now: int) -> int:
        """The buyer ``caller`` accepts offer ``offer_id``: the position moves and the price (returned; the ledger
        pulls it from the buyer) is credited to the seller."""
        self._not_paused()
        offer = self.offers.get(offer_id)
        if offer is None:
            raise OfferNotOpen(offer_id)
        if now > offer.expiry:
            raise OfferExpired(offer_id, offer.expiry)
        if caller != offer.buyer:
            raise NotOfferBuyer(offer_id, caller)
        loan_id, seller, share_bps = offer.loan_id, offer.seller, offer.share_bps
        self._check_transfer(loan_id, seller, caller, share_bps)
        book = self.books.loan(loan_id)
        if caller not in book.lenders and len(book.lenders) == MAX_TRANCHES:
            raise InvalidTrancheCount(MAX_TRANCHES + 1)
        self._check_platform_share(loan_id, seller, caller, share_bps)
        if book.status != LoanStatus.WRITTEN_OFF:
            shares = participations.shares_after(book, seller, caller, share_bps)
            amounts = tranche_amounts(book.principal, shares)
            held = [*book.amounts, 0]  # the buyer's tranche amount before: 0 if it is new to the loan
            t = book.lenders.index(caller) if caller in book.lenders else len(book.lenders)
            exposure = self.books.accounts[caller].exposure + amounts[t] - held[t]
            if exposure > self.policy.max_lender_exposure:
                raise ExposureAboveCap(caller, exposure, self.policy.max_lender_exposure)
        del self.offers[offer_id]
        self.books.transfer(loan_id, seller, caller, share_bps, offer.price)
        loan = self.loans[loan_id]
        loan.tranches = [Tranche(lender, share) for lender, share in zip(book.lenders, book.shares, strict=True)]
        return offer.price

    def cancel_offer(self, caller: str, offer_id: int) -> None:
        """The seller ``caller`` withdraws offer ``offer_id`` (works while paused)."""
        offer = self.offers.get(offer_id)
        if offer is None:
            raise OfferNotOpen(offer_id)
        if caller != offer.seller:
            raise NotOfferSeller(offer_id, caller)
        del self.offers[offer_id]

    def offer_of(self, offer_id: int) -> OfferView | None:
        """Offer ``offer_id`` while it is open, else None (the contract's view is then all zero)."""
        o = self.offers.get(offer_id)
        return None if o is None else OfferView(o.loan_id, o.seller, o.buyer, o.share_bps, o.price, o.expiry)

    def _check_transfer(self, loan_id: int, seller: str, buyer: str, share_bps: int) -> None:
        loan = self._loan(loan_id)
        if loan.status not in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF):
            raise LoanNotInStatus(loan_id, loan.status)
        if share_bps == 0:
            raise ZeroShare()
        if seller not in self.books.accounts:
            raise UnknownInstitution(seller)
        if buyer not in self.books.accounts:
            raise UnknownInstitution(buyer)
        if buyer == seller:
            raise SelfTransfer(seller)
        book = self.books.loan(loan_id)
        held = book.shares[book.lenders.index(seller)] if seller in book.lenders else 0
        if held < share_bps:
            raise ShareNotHeld(loan_id, seller, held, share_bps)

    def _check_platform_share(self, loan_id: int, seller: str, buyer: str, share_bps: int) -> None:
        """The platform minimum, when a platform sells to a non-platform or a one-holder loan becomes co-lent, if
        more than one holder then holds a positive share."""
        accounts = self.books.accounts
        book = self.books.loan(loan_id)
        held = book.shares[book.lenders.index(seller)]
        lowers = accounts[seller].is_platform and not accounts[buyer].is_platform
        if not lowers and not (held == BPS and share_bps < BPS):
            return
        shares = participations.shares_after(book, seller, buyer, share_bps)
        lenders = [*book.lenders, buyer] if buyer not in book.lenders else book.lenders
        holding = [(lender, share) for lender, share in zip(lenders, shares, strict=True) if share]
        platform = sum(share for lender, share in holding if accounts[lender].is_platform)
        if len(holding) > 1 and platform < self.policy.min_platform_share_bps:
            raise ShareBelowMinimum(loan_id, platform, self.policy.min_platform_share_bps)

    # -- institutions' money

    def withdraw(self, account: str, to: str | None = None) -> int:
        """Withdraw ``account``'s whole withdrawable balance (to ``to``: ``withdrawTo``, else to itself)."""
        self._not_paused()
        if to is not None and is_zero(to):
            raise ZeroAddress()
        if account not in self.books.accounts:
            raise UnknownInstitution(account)
        if self.books.accounts[account].withdrawable == 0:
            raise ZeroAmount()
        return self.books.withdraw(account)

    # -- views

    def credit_record(self, borrower_id: Any) -> CreditRecord:
        loans = [self.loans[i] for i in self.loans_of.get(borrower_id, [])]
        taken = [x for x in loans if x.status in DISBURSED_STATUSES]
        return CreditRecord(
            loans_taken=len(taken),
            active=sum(x.status == LoanStatus.ACTIVE for x in loans),
            closed=sum(x.status == LoanStatus.CLOSED for x in loans),
            defaulted=sum(
                x.status in (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF, LoanStatus.RECOVERED) for x in loans
            ),
            on_time_installments=sum(x.on_time for x in loans),
            late_installments=sum(x.late for x in loans),
            max_days_late=max((x.max_days_late for x in loans), default=0),
            total_days_late=sum(x.total_days_late for x in loans),
            amount_written_off=sum(x.written_off for x in loans),
        )

    def check_conservation(self, token_balance: int | None = None) -> None:
        self.books.check_conservation(token_balance)

    # -- internals

    def _not_paused(self) -> None:
        if self.paused:
            raise EnforcedPause()

    def _loan(self, loan_id: int) -> Loan:
        loan = self.loans.get(loan_id)
        if loan is None:
            raise LoanNotInStatus(loan_id, LoanStatus.NONE)
        return loan

    def _loan_in(self, loan_id: int, status: LoanStatus) -> Loan:
        loan = self._loan(loan_id)
        if loan.status != status:
            raise LoanNotInStatus(loan_id, loan.status)
        return loan

    def _settle(self, loan: Loan, c: Cursor, amount: int, now: int, prepayment_fee: int = 0) -> RepaymentBreakdown:
        loan.current = c.k
        loan.outstanding = c.outstanding
        loan.interest_paid_cur = c.ic
        loan.principal_paid_cur = c.pc
        loan.penalty_exact = c.penalty_exact
        loan.penalty_checkpoint = now
        loan.on_time += c.on_time
        loan.late += c.late
        loan.total_days_late += c.days_late
        loan.max_days_late = max(loan.max_days_late, c.max_days_late)
        closed = c.k > loan.terms.periods
        fee = self.books.apply_payment(
            loan.loan_id,
            penalty=c.penalty_applied,
            interest=c.interest_applied,
            principal=c.principal_applied,
            prepayment_fee=prepayment_fee,
            close=closed,
        )
        if closed:
            loan.status = LoanStatus.CLOSED
        return RepaymentBreakdown(
            amount=amount,
            penalty_paid=c.penalty_applied,
            interest_paid=c.interest_applied,
            fee_paid=fee,
            principal_paid=c.principal_applied,
            installment=c.k,
            outstanding=c.outstanding - c.pc,
            status=loan.status,
            on_time_completed=c.on_time,
            late_completed=c.late,
            days_late=c.days_late,
            max_days_late=c.max_days_late,
            penalty_accrued=penalty_due(c),
            prepayment_fee=prepayment_fee,
        )
