"""The bookkeeping layer :class:`Books`: told what a payment paid per component, it does the cumulative-floor split
to the lenders, the service fee, the reserves, the closure leftovers and reserve release, write-off absorption,
recoveries against loss, exposures, and keeps the ledger's token balance. The audit replay drives it from decoded
events alone."""

from __future__ import annotations

from collections.abc import Sequence

from pylender.errors import BooksError, ConservationBroken
from pylender.reference import participations
from pylender.reference.records import Account, Component, Credit, Journal, LoanBook
from pylender.reference.values import LoanStatus, Tranche, is_zero
from pylender.schedule import tranche_amounts
from pylender.values import BPS

# hot-path aliases (module globals are faster to load than class attributes)
_INCOME, _RESERVE, _PRINCIPAL, _RECOVERY, _LOSS = (
    Component.INCOME,
    Component.RESERVE,
    Component.PRINCIPAL,
    Component.RECOVERY,
    Component.LOSS,
)
_ACTIVE, _WRITTEN_OFF = LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF


class Books:
    """Accounts and per-loan cumulative totals; every token unit the ledger holds is accounted for here."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.loans: dict[int, LoanBook] = {}
        self.held = 0  # token balance of the ledger
        self.journal = Journal()

    # -- institutions and loans

    def register(self, address: str, name: str = "", is_platform: bool = False, *, is_pool: bool = False) -> int:
        """Open an institution's account (a loan pool's with ``is_pool``); returns its index (from 1)."""
        if address in self.accounts:
            raise BooksError(f"institution {address} registered twice")
        index = len(self.accounts) + 1
        self.accounts[address] = Account(index, address, name, is_platform, is_pool=is_pool)
        return index

    def rotate(self, address: str, new_address: str) -> int:
        """The institution at ``address`` moves to ``new_address`` (index, balances, tranches, fee recipient
        role); returns its index."""
        account = self.account(address)
        if new_address in self.accounts:
            raise BooksError(f"institution {new_address} registered twice")
        account.address = new_address
        self.accounts = {(new_address if a == address else a): acc for a, acc in self.accounts.items()}
        for book in self.loans.values():
            book.lenders = [new_address if x == address else x for x in book.lenders]
            if book.fee_recipient == address:
                book.fee_recipient = new_address
        return account.index

    def account(self, address: str) -> Account:
        try:
            return self.accounts[address]
        except KeyError:
            raise BooksError(f"unknown institution {address}") from None

    def loan(self, loan_id: int) -> LoanBook:
        try:
            return self.loans[loan_id]
        except KeyError:
            raise BooksError(f"unknown loan {loan_id}") from None

    def open_loan(
        self,
        loan_id: int,
        principal: int,
        tranches: Sequence[Tranche] | Sequence[tuple[str, int]],
        service_fee_bps: int = 0,
        fee_recipient: str | None = None,
        reserve_bps: int = 0,
    ) -> LoanBook:
        """Record an originated loan. Tranche amounts: floor(P × share / BPS), the lead takes the rest."""
        if loan_id in self.loans:
            raise BooksError(f"loan {loan_id} opened twice")
        pairs = [(t.lender, t.share_bps) if isinstance(t, Tranche) else (t[0], t[1]) for t in tranches]
        shares = [share for _, share in pairs]
        book = LoanBook(
            loan_id=loan_id,
            principal=principal,
            lenders=[lender for lender, _ in pairs],
            shares=shares,
            amounts=tranche_amounts(principal, shares),
            service_fee_bps=service_fee_bps,
            fee_recipient=None if is_zero(fee_recipient) else fee_recipient,
            reserve_bps=reserve_bps,
            funded=[False] * len(pairs),
        )
        self.loans[loan_id] = book
        return book

    def fund(self, loan_id: int, lender: str) -> int:
        """The lender paid in its tranche: tokens in, exposure up. Returns the amount."""
        book = self.loan(loan_id)
        t = book.lenders.index(lender)
        if book.funded[t] or book.status != LoanStatus.ORIGINATED:
            raise BooksError(f"loan {loan_id}: tranche of {lender} cannot be funded now")
        book.funded[t] = True
        amount = book.amounts[t]
        self.account(lender).exposure += amount
        self.held += amount
        if all(book.funded):
            book.status = LoanStatus.FUNDED
        return amount

    def cancel(self, loan_id: int) -> int:
        """Every funded tranche back to its lender's withdrawable; exposures released. Returns the refund."""
        book = self.loan(loan_id)
        refunded = 0
        for t, lender in enumerate(book.lenders):
            if book.funded[t]:
                account = self.account(lender)
                account.withdrawable += book.amounts[t]
                account.exposure -= book.amounts[t]
                refunded += book.amounts[t]
                self._log(Credit(loan_id, lender, Component.REFUND, withdrawable=book.amounts[t]))
        book.status = LoanStatus.CANCELLED
        return refunded

    def disburse(self, loan_id: int) -> int:
        """The principal leaves the ledger for the borrower."""
        book = self.loan(loan_id)
        if book.status != LoanStatus.FUNDED:
            raise BooksError(f"loan {loan_id} disbursed while {book.status.name}")
        book.status = LoanStatus.ACTIVE
        self.held -= book.principal
        return book.principal

    # -- payments

    def apply_payment(
        self,
        loan_id: int,
        *,
        penalty: int = 0,
        interest: int = 0,
        principal: int = 0,
        prepayment_fee: int = 0,
        close: bool = False,
    ) -> int:
        """Book one repayment / prepayment by component; ``close`` when it paid the last principal.

        Returns the service fee it carved out of the interest (the increase of floor(interestPaid × fee / BPS)).
        """
        book = self.loans.get(loan_id) or self.loan(loan_id)
        if book.status != _ACTIVE:
            raise BooksError(f"payment on loan {loan_id} while {book.status.name}")
        self.held += penalty + interest + principal + prepayment_fee
        income_before = book.interest_paid - book.fee_paid + book.penalty_paid + book.prepayment_fee_paid
        principal_before = book.principal_paid
        fee_before = book.fee_paid
        book.interest_paid += interest
        book.fee_paid = book.interest_paid * book.service_fee_bps // BPS
        book.penalty_paid += penalty
        book.prepayment_fee_paid += prepayment_fee
        book.principal_paid += principal
        fee = book.fee_paid - fee_before
        if fee:
            assert book.fee_recipient is not None  # serviceFeeBps > 0 iff a recipient (origination check)
            self.account(book.fee_recipient).withdrawable += fee
            self.journal.flat += (loan_id, book.fee_recipient, Component.FEE, fee, 0, 0)
        self._distribute(book, income_before, principal_before, book.recovered)
        if close:
            book.status = LoanStatus.CLOSED
            self._end(book, loss=0)
        return fee

    def mark_default(self, loan_id: int, owed_at_default: int) -> None:
        """The loan defaulted owing ``owed_at_default``: recoveries may reach it, no more."""
        book = self.loan(loan_id)
        if book.status != LoanStatus.ACTIVE:
            raise BooksError(f"loan {loan_id} defaulted while {book.status.name}")
        book.status = LoanStatus.DEFAULTED
        book.owed_at_default = owed_at_default

    def write_off(self, loan_id: int, loss: int) -> int:
        """Write ``loss`` (the outstanding principal) off. Returns the part absorbed by the lenders' reserves.

        Rule: each lender's share L_i (floor, the lead takes the rest) is absorbed by its reserve balance (this
        loan's provision first, then its general reserve): absorbed_i = min(L_i, reserve_i), recorded loss
        L_i − absorbed_i. The loan has ended, so its provision R_i = floor(c_i × reserveBps / BPS) (capped at the
        reserve balance) is released too: reserve_i −= max(absorbed_i, min(R_i, reserve_i)), withdrawable_i += the
        same. Returns Σ absorbed_i.
        """
        book = self.loan(loan_id)
        if book.status != LoanStatus.DEFAULTED:
            raise BooksError(f"loan {loan_id} written off while {book.status.name}")
        book.status = LoanStatus.WRITTEN_OFF
        book.written_off = loss
        book.absorbed = self._end(book, loss)
        return book.absorbed

    def recover(self, loan_id: int, amount: int) -> None:
        """Book a recovery on a defaulted or written-off loan (split on cumulative ``recovered``). Once the loan is
        written off, every unit credited to a lender reduces its recorded loss (not below 0). When ``recovered``
        reaches ``owed_at_default`` the component is final and its remainder goes to the lead."""
        book = self.loan(loan_id)
        if book.status not in (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF):
            raise BooksError(f"recovery on loan {loan_id} while {book.status.name}")
        if book.recovered + amount > book.owed_at_default:
            raise BooksError(f"loan {loan_id}: recoveries above owedAtDefault {book.owed_at_default}")
        self.held += amount
        book.recovered += amount
        self._distribute(book, book.income, book.principal_paid, book.recovered - amount)
        if book.recovered == book.owed_at_default:
            if book.status == LoanStatus.DEFAULTED:
                # Recovered in full before any write-off: the loan ends as a closure does (remainders to the
                # lead, exposures and the loan's reserves released).
                book.status = LoanStatus.RECOVERED
                self._end(book, 0)
            else:
                self._settle(book, [Component.RECOVERY])

    def transfer(self, loan_id: int, seller: str, buyer: str, share_bps: int, price: int = 0) -> None:
        """``share_bps`` of the loan moves from ``seller`` to ``buyer``, who paid ``price`` in for the seller
        (docs/ledger-spec.md, "Participations"; the checks are the caller's)."""
        book = self.loan(loan_id)
        if book.status not in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF):
            raise BooksError(f"loan {loan_id}: position moved while {book.status.name}")
        if seller not in book.lenders or book.shares[book.lenders.index(seller)] < share_bps or seller == buyer:
            raise BooksError(f"loan {loan_id}: {seller} holds less than {share_bps} bps to sell to {buyer}")
        self.account(buyer)
        participations.transfer(self.accounts, self.journal, book, seller, buyer, share_bps, price)
        self.held += price

    def withdraw(self, address: str) -> int:
        """The institution takes its whole withdrawable balance out. Returns it."""
        account = self.account(address)
        amount = account.withdrawable
        account.withdrawable = 0
        self.held -= amount
        self._log(Credit(None, address, Component.WITHDRAWAL, withdrawable=-amount))
        return amount

    # -- conservation

    def funded_not_disbursed(self) -> int:
        return sum(
            sum(a for a, f in zip(b.amounts, b.funded, strict=True) if f)
            for b in self.loans.values()
            if b.status in (LoanStatus.ORIGINATED, LoanStatus.FUNDED)
        )

    def undistributed(self) -> int:
        return sum(b.undistributed() for b in self.loans.values())

    def accounted(self) -> int:
        """Σ withdrawable + Σ reserve + funded-not-disbursed + undistributed remainders."""
        return (
            sum(a.withdrawable + a.reserve for a in self.accounts.values())
            + self.funded_not_disbursed()
            + self.undistributed()
        )

    def check_conservation(self, token_balance: int | None = None) -> None:
        """Raise ConservationBroken unless the held balance (or ``token_balance``) equals what is accounted for."""
        balance = self.held if token_balance is None else token_balance
        accounted = self.accounted()
        if balance != accounted:
            raise ConservationBroken(f"ledger holds {balance}, the books account for {accounted}")

    def position(self, loan_id: int, lender: str) -> dict[str, int]:
        """A lender's credits in a loan, as ``positionOf``: income, reserve held, principal, recovered."""
        book = self.loan(loan_id)
        income, held, principal, recovered = self.positions(loan_id)[book.lenders.index(lender)]
        return {
            "income_credited": income,
            "reserve_held": held,
            "principal_credited": principal,
            "recovered_credited": recovered,
        }

    def positions(self, loan_id: int) -> list[tuple[int, int, int, int]]:
        """Every tranche's credits, lead first: (income, reserve held, principal, recovered) as ``positionOf``."""
        book = self.loan(loan_id)
        totals = (book.income, book.principal_paid, book.recovered)
        out = []
        for t in range(len(book.shares)):
            income, principal, recovered = participations.credits_of(book, t, *totals)
            if t == 0:
                income += book.remainder(Component.INCOME) if Component.INCOME in book.settled else 0
                principal += book.remainder(Component.PRINCIPAL) if Component.PRINCIPAL in book.settled else 0
                recovered += book.remainder(Component.RECOVERY) if Component.RECOVERY in book.settled else 0
            out.append((income, 0 if book.ended else book.reserve_held(t), principal, recovered))
        return out

    # -- internals

    def _log(self, credit: Credit) -> None:
        self.journal.append(credit)

    def _distribute(self, book: LoanBook, income_before: int, principal_before: int, recovered_before: int) -> None:
        """Credit each lender the increase of its cumulative floor credits (components before → now); the reserve part
        of the income credit goes to ``reserve``. Settled components never change, so the lead's remainders need no
        update here. On a written-off loan every unit credited reduces the lender's recorded loss (not below 0).

        The hot path of a replay: plain ints, unchanged components skipped, zero moves never logged (as ``_credit``),
        the journal order per lender is income, reserve, principal, recovery, loss."""
        income = book.interest_paid - book.fee_paid + book.penalty_paid + book.prepayment_fee_paid
        principal = book.principal_paid
        recovered = book.recovered
        new_income = income != income_before
        new_principal = principal != principal_before
        new_recovered = recovered != recovered_before
        accounts = self.accounts
        if not (new_income or new_principal or new_recovered):
            for lender in book.lenders:
                if lender not in accounts:
                    self.account(lender)  # raises: every lender must have an account
            return
        if book.offsets:  # positions changed hands: credits take the holders' offsets
            before = (income_before, principal_before, recovered_before)
            participations.distribute(accounts, self.journal, book, before, (income, principal, recovered))
            return
        reserve_bps = book.reserve_bps
        written_off = book.status == _WRITTEN_OFF
        loan_id = book.loan_id
        journal = self.journal.flat  # booked flat: no Credit object per move (see Journal)
        for lender, share in zip(book.lenders, book.shares, strict=True):
            account = accounts.get(lender) or self.account(lender)
            credited = 0
            if new_income:
                inc_b = income_before * share // BPS
                inc_a = income * share // BPS
                if inc_a != inc_b:
                    held = inc_a * reserve_bps // BPS - inc_b * reserve_bps // BPS
                    credited = inc_a - inc_b - held
                    if credited:
                        journal += (loan_id, lender, _INCOME, credited, 0, 0)
                    if held:
                        account.reserve += held
                        journal += (loan_id, lender, _RESERVE, 0, held, 0)
            if new_principal:
                moved = principal * share // BPS - principal_before * share // BPS
                if moved:
                    credited += moved
                    journal += (loan_id, lender, _PRINCIPAL, moved, 0, 0)
            if new_recovered:
                moved = recovered * share // BPS - recovered_before * share // BPS
                if moved:
                    credited += moved
                    journal += (loan_id, lender, _RECOVERY, moved, 0, 0)
            if credited:
                account.withdrawable += credited
                if written_off and account.loss:
                    reduced = min(account.loss, credited)
                    account.loss -= reduced
                    journal += (loan_id, lender, _LOSS, 0, 0, -reduced)

    def _credit(
        self, book: LoanBook, lender: str, moves: list[tuple[str, int, int]], reduces_loss: bool | None = None
    ) -> None:
        """Apply (component, withdrawable, reserve) moves to a lender. By default a credit on a written-off loan
        (a recovery) also reduces the lender's recorded loss, not below 0."""
        account = self.account(lender)
        credited = 0
        for component, withdrawable, held in moves:
            if withdrawable or held:
                account.withdrawable += withdrawable
                account.reserve += held
                credited += withdrawable
                self._log(Credit(book.loan_id, lender, component, withdrawable=withdrawable, reserve=held))
        if reduces_loss is None:
            reduces_loss = book.status == LoanStatus.WRITTEN_OFF
        if reduces_loss and credited and account.loss:
            reduced = min(account.loss, credited)
            account.loss -= reduced
            self._log(Credit(book.loan_id, lender, Component.LOSS, loss=-reduced))

    def _settle(self, book: LoanBook, components: list[str]) -> None:
        """The components can no longer grow: their remainders go to the lead's withdrawable."""
        for component in components:
            if component in book.settled:
                continue
            book.settled.add(component)
            leftover = book.remainder(component)
            if leftover:  # only recovered money reduces a loss, not the income / principal remainders
                # ... and only if the lead still holds part of its share at the write-off
                reduces = (
                    component == Component.RECOVERY
                    and book.status == LoanStatus.WRITTEN_OFF
                    and participations.share_kept(book, 0) != 0
                )
                self._credit(book, book.lenders[0], [(Component.LEFTOVER, leftover, 0)], reduces_loss=reduces)

    def _end(self, book: LoanBook, loss: int) -> int:
        """End a loan (Closed: loss 0; WrittenOff: loss = outstanding principal). Returns the total absorbed."""
        loss_shares = [loss * s // BPS for s in book.shares[1:]]
        loss_shares.insert(0, loss - sum(loss_shares))
        absorbed_total = 0
        for t, lender in enumerate(book.lenders):
            account = self.account(lender)
            account.exposure -= book.amounts[t]
            # The loan's provision, capped at the balance: an earlier write-off may have drawn on it.
            held = min(book.reserve_held(t), account.reserve)
            absorbed = min(loss_shares[t], account.reserve) if loss else 0
            absorbed_total += absorbed
            excess = max(held - absorbed, 0)  # provision no longer needed: released to withdrawable
            if absorbed:
                account.reserve -= absorbed
                account.withdrawable += absorbed
                self._log(Credit(book.loan_id, lender, Component.ABSORBED, withdrawable=absorbed, reserve=-absorbed))
            if excess:
                account.reserve -= excess
                account.withdrawable += excess
                self._log(Credit(book.loan_id, lender, Component.RESERVE_RELEASE, withdrawable=excess, reserve=-excess))
            if loss_shares[t] > absorbed:
                account.loss += loss_shares[t] - absorbed
                self._log(Credit(book.loan_id, lender, Component.LOSS, loss=loss_shares[t] - absorbed))
        final = [Component.INCOME, Component.PRINCIPAL]
        if book.status == LoanStatus.CLOSED or book.recovered == book.owed_at_default:
            final.append(Component.RECOVERY)
        self._settle(book, final)
        return absorbed_total
