"""The client: one deployed CoLendingLedger (and its token) behind typed Python methods.

The README flow (``tests/client/test_client_readme.py`` runs README.md's block, the same as this one)::

    from pylender import LoanTerms, Pylender, Tranche
    with Pylender.local() as pl:                                    # embedded anvil, dev accounts
        ledger = pl.deploy()                                         # test token + ledger
        bank, platform, alice = pl.account(1), pl.account(2), pl.account(5)
        ledger.register_institution(bank, "Bank", is_platform=False)
        ledger.register_institution(platform, "Platform", is_platform=True)
        for who in (bank, platform, alice): ledger.mint(who, ledger.units(100_000))
        terms = LoanTerms(borrower=alice.address, borrower_id="alice", principal=ledger.units(12_000),
                          annual_rate_bps=1200, periods=12, period_seconds=30 * 86_400)
        loan_id = ledger.originate(terms, [Tranche(lender=bank.address, share_bps=7000),
                                           Tranche(lender=platform.address, share_bps=3000)])
        ledger.fund_all(loan_id); ledger.disburse(loan_id); ledger.advance(30 * 86_400)
        ledger.repay_due(loan_id, by=alice)                          # everything due when it executes
        print(ledger.loan(loan_id).current_installment, ledger.account_of(bank).withdrawable)

It prints ``2 745684017``: installment 2 is next, and the bank holds floor(70 %) of the first
installment's interest (118,356,165) plus floor(70 %) of its principal (946,906,718).

Every action takes ``by=`` (an account or an address whose key the client holds); the default
is the deployer/admin. Reverts arrive as named exceptions (:mod:`pylender.errors`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import abi_to_signature, collapse_if_tuple, keccak, to_checksum_address
from web3 import Web3

from pylender import artifacts
from pylender.client.tx import Call, Receipt, TxSender
from pylender.errors import ErrorDecoder, SignerError, TransactionFailed, UnknownLoan
from pylender.schedule import penalty
from pylender.values import (
    DAY,
    PAY_ALL_DUE,
    ROLES,
    UINT256_MAX,
    AccountBalance,
    AmountDue,
    AuditHead,
    CreditRecord,
    Deployment,
    InstallmentView,
    LoanStatus,
    LoanTerms,
    LoanView,
    OfferView,
    PolicyParams,
    Position,
    Tranche,
    TrancheInfo,
    borrower_id,
    role_id,
    validate,
)

log = logging.getLogger(__name__)

#: The largest penalty rate a loan can carry (uint16 bps): bounds the allowance of a PAY_ALL_DUE repayment.
MAX_PENALTY_BPS = 2**16 - 1
DEFAULT_FUNDING_WINDOW = 7 * 86_400

Signer = LocalAccount | str | None

V = TypeVar("V")

_STRUCT_MODELS: dict[str, type] = {
    "getLoan": LoanView,
    "getTranches": TrancheInfo,
    "scheduleOf": InstallmentView,
    "amountDue": AmountDue,
    "positionOf": Position,
    "accountOf": AccountBalance,
    "creditRecord": CreditRecord,
    "policy": PolicyParams,
    "offerOf": OfferView,
}


def _event_topics(abi: list[dict[str, Any]]) -> dict[str, str]:
    events = (item for item in abi if item.get("type") == "event")
    return {item["name"]: "0x" + keccak(text=abi_to_signature(cast(Any, item))).hex() for item in events}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def from_abi(cls: type[V], values: Any) -> V:
    """A view's result (a tuple in the struct's order, or a mapping of its camelCase names) as ``cls``, checked."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if isinstance(values, Mapping):
        return validate(cls, {_snake(k): v for k, v in values.items()})
    values = tuple(values)
    if len(values) != len(names):
        raise ValueError(f"{cls.__name__}: expected {len(names)} fields, got {len(values)}")
    return validate(cls, dict(zip(names, values, strict=True)))


def check_layout(cls: type, components: list[dict[str, Any]]) -> None:
    """Raise if ``cls``'s fields are not the snake_case of the ABI struct's components, in order."""
    expected = [_snake(c["name"]) for c in components]
    actual = [f.name for f in dataclasses.fields(cls)]
    if expected != actual:
        raise TypeError(f"{cls.__name__} fields {actual} do not match the ABI struct {expected}")


class Ledger:
    """Typed access to one deployed ledger and its settlement token."""

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        signer: LocalAccount,
        *,
        keyring: dict[str, LocalAccount] | None = None,
        confirmations: int = 0,
        gas_price: int | None = None,
        local: bool = True,
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.address = deployment.ledger
        self.is_local = local
        ledger_art = artifacts.load(artifacts.LEDGER)
        token_abi = _token_abi()
        self.ledger_abi: list[dict[str, Any]] = ledger_art.abi
        self.token_abi: list[dict[str, Any]] = token_abi
        self.contract = w3.eth.contract(address=to_checksum_address(deployment.ledger), abi=cast(Any, ledger_art.abi))
        self.token = w3.eth.contract(address=to_checksum_address(deployment.token), abi=cast(Any, token_abi))
        self.decoder = ErrorDecoder(ledger_art.abi, token_abi)
        self._check_layouts(ledger_art)
        self._topics = _event_topics(ledger_art.abi)
        self.default_signer = signer
        self.keyring: dict[str, LocalAccount] = {signer.address: signer, **(keyring or {})}
        self._senders: dict[str, TxSender] = {}
        self._confirmations = confirmations
        self._gas_price = gas_price
        self._approved: set[str] = set()
        self._decimals: int | None = deployment.token_decimals
        self._views: dict[tuple[str, str], tuple[bytes, list[str], list[str]]] = {}

    def _check_layouts(self, art: artifacts.Artifact) -> None:
        for fn, model in _STRUCT_MODELS.items():
            outputs = art.function(fn)["outputs"]
            check_layout(model, outputs[0]["components"])

    # -- signing ------------------------------------------------------------------------------------
    def add_signer(self, *accounts: LocalAccount) -> None:
        for account in accounts:
            self.keyring[account.address] = account

    def _account(self, by: Signer) -> LocalAccount:
        if by is None:
            return self.default_signer
        if isinstance(by, str):
            address = to_checksum_address(by)
            if address not in self.keyring:
                raise SignerError(f"no key for {address}: add it with Ledger.add_signer")
            return self.keyring[address]
        self.keyring.setdefault(by.address, by)
        return by

    def sender(self, by: Signer = None) -> TxSender:
        account = self._account(by)
        sender = self._senders.get(account.address)
        if sender is None:
            sender = TxSender(
                self.w3,
                account,
                self.decoder,
                chain_id=self.deployment.chain_id,
                confirmations=self._confirmations,
                gas_price=self._gas_price,
            )
            self._senders[account.address] = sender
        return sender

    def call(self, fn: str, *args: Any, target: str = "ledger") -> Call:
        """An encoded call of a ledger (or token) function, for :meth:`send` / :meth:`send_many`."""
        contract = self.contract if target == "ledger" else self.token
        selector, ins, _ = self._meta(target, fn)
        data = "0x" + (selector + abi_encode(ins, list(args))).hex()
        return Call(to=contract.address, data=data, label=f"{target}.{fn}")

    def _meta(self, target: str, fn: str) -> tuple[bytes, list[str], list[str]]:
        """Selector, input and output types of a function (cached; no overloads in these ABIs)."""
        meta = self._views.get((target, fn))
        if meta is None:
            abi = self.ledger_abi if target == "ledger" else self.token_abi
            item = next(i for i in abi if i.get("type") == "function" and i.get("name") == fn)
            ins = [collapse_if_tuple(p) for p in item["inputs"]]
            outs = [collapse_if_tuple(p) for p in item["outputs"]]
            selector = keccak(text=f"{fn}({','.join(ins)})")[:4]
            meta = self._views[(target, fn)] = (selector, ins, outs)
        return meta

    def send(self, call: Call, by: Signer = None) -> Receipt:
        return self.sender(by).send(call)

    def send_many(
        self,
        calls: Sequence[Call],
        by: Signer = None,
        *,
        window: int = 64,
        on_receipt: Callable[[int, Receipt], None] | None = None,
        journal: str | Path | None = None,
    ) -> list[Receipt]:
        """Pipelined bulk send from one account (see :meth:`TxSender.send_many`).

        With ``journal`` (a file path) the run is idempotent: rerun the same ``calls`` with the same
        journal after a crash and every call lands exactly once.
        """
        return self.sender(by).send_many(calls, window=window, on_receipt=on_receipt, journal=journal)

    def _view(self, fn: str, *args: Any, target: str = "ledger") -> Any:
        """``eth_call`` a view, encoded and decoded with eth-abi directly (web3's contract layer costs ~2 ms)."""
        contract = self.contract if target == "ledger" else self.token
        selector, ins, outs = self._meta(target, fn)
        data = "0x" + (selector + abi_encode(ins, list(args))).hex()
        response = self.w3.provider.make_request("eth_call", [{"to": contract.address, "data": data}, "latest"])  # type: ignore[arg-type]
        if "error" in response:
            err = response["error"]
            payload = err.get("data") if isinstance(err, dict) else None
            if isinstance(payload, str) and payload.startswith("0x"):
                raise self.decoder.decode(payload)
            raise TransactionFailed(f"{fn} failed: {err.get('message', err) if isinstance(err, dict) else err}")
        values = abi_decode(outs, bytes.fromhex(response["result"][2:]))
        return values[0] if len(values) == 1 else values

    def _logs(self, receipt: Receipt, event: str) -> list[dict[str, Any]]:
        topic = self._topics[event]
        return [
            log_
            for log_ in receipt.logs
            if log_["topics"]
            and log_["topics"][0].lower() == topic
            and to_checksum_address(log_["address"]) == self.address
        ]

    # -- token ----------------------------------------------------------------------------------------
    @property
    def decimals(self) -> int:
        if self._decimals is None:
            self._decimals = int(self._view("decimals", target="token"))
        return self._decimals

    def units(self, amount: float | int | str) -> int:
        """Whole tokens to base units (``units("1.5") == 1_500_000`` with 6 decimals)."""
        from decimal import Decimal

        return int(Decimal(str(amount)) * (10**self.decimals))

    def balance_of(self, account: str | LocalAccount) -> int:
        return int(self._view("balanceOf", _addr(account), target="token"))

    def allowance(self, owner: str | LocalAccount) -> int:
        return int(self._view("allowance", _addr(owner), self.address, target="token"))

    def mint(self, to: str | LocalAccount, amount: int, by: Signer = None) -> Receipt:
        """Mint test tokens (local test token only)."""
        return self.send(self.call("mint", _addr(to), amount, target="token"), by)

    def approve(self, by: Signer, amount: int = UINT256_MAX) -> Receipt:
        """Let the ledger pull ``amount`` from ``by`` (unlimited by default)."""
        account = self._account(by)
        receipt = self.send(self.call("approve", self.address, amount, target="token"), account)
        if amount == UINT256_MAX:
            self._approved.add(account.address)
        else:
            self._approved.discard(account.address)
        return receipt

    def _ensure_allowance(self, by: Signer, amount: int) -> None:
        account = self._account(by)
        if account.address in self._approved:
            return
        if self.allowance(account.address) < amount:
            self.approve(account)
        elif self.allowance(account.address) == UINT256_MAX:
            self._approved.add(account.address)

    # -- admin ------------------------------------------------------------------------------------------
    def register_institution(
        self, account: str | LocalAccount, name: str, *, is_platform: bool = False, by: Signer = None
    ) -> int:
        """Register an institution (admin); returns its index (from 1)."""
        if isinstance(account, LocalAccount):
            self.add_signer(account)
        receipt = self.send(self.call("registerInstitution", _addr(account), name, is_platform), by)
        return int(self._logs(receipt, "InstitutionRegistered")[0]["topics"][1], 16)

    def set_policy(self, policy: PolicyParams, by: Signer = None) -> Receipt:
        return self.send(self.call("setPolicy", validate(PolicyParams, policy).to_abi()), by)

    def rotate_institution(
        self, account: str | LocalAccount, new_account: str | LocalAccount, by: Signer = None
    ) -> Receipt:
        """Replace an institution's address (admin; works while paused): index, balances, tranches and LENDER_ROLE
        move to ``new_account``."""
        if isinstance(new_account, LocalAccount):
            self.add_signer(new_account)
        return self.send(self.call("rotateInstitution", _addr(account), _addr(new_account)), by)

    def grant_role(self, role: str, account: str | LocalAccount, by: Signer = None) -> Receipt:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        return self.send(self.call("grantRole", role_id(role), _addr(account)), by)

    def has_role(self, role: str, account: str | LocalAccount) -> bool:
        return bool(self._view("hasRole", role_id(role), _addr(account)))

    def paused(self) -> bool:
        return bool(self._view("paused"))

    def pause(self, by: Signer = None) -> Receipt:
        return self.send(self.call("pause"), by)

    def unpause(self, by: Signer = None) -> Receipt:
        return self.send(self.call("unpause"), by)

    # -- life cycle ---------------------------------------------------------------------------------
    def prepare_origination(self, terms: LoanTerms, tranches: Sequence[Tranche]) -> tuple[LoanTerms, list[Tranche]]:
        """The terms and tranches checked (:func:`pylender.values.validate`: addresses, a borrower label hashed, every
        integer within its Solidity type), and a zero funding deadline set to now + 7 days. The ledger's own rules
        (shares whole, no duplicate lender, the policy) answer when the call is estimated, before anything is
        signed, with the contract's named error."""
        terms = validate(LoanTerms, terms)
        checked = [validate(Tranche, t) for t in tranches]
        if terms.funding_deadline == 0:
            terms = dataclasses.replace(terms, funding_deadline=self.now() + DEFAULT_FUNDING_WINDOW)
        return terms, checked

    def originate(self, terms: LoanTerms, tranches: Sequence[Tranche], by: Signer = None) -> int:
        """Originate a loan (originator); returns the new loan id."""
        terms, checked = self.prepare_origination(terms, tranches)
        receipt = self.send(self.call("originate", terms.to_abi(), [t.to_abi() for t in checked]), by)
        return self.loan_id_from(receipt)

    def loan_id_from(self, receipt: Receipt) -> int:
        logs = self._logs(receipt, "LoanOriginated")
        if not logs:
            raise TransactionFailed(f"no LoanOriginated event in tx {receipt.tx_hash}")
        return int(logs[0]["topics"][1], 16)

    def fund(self, loan_id: int, by: Signer, *, approve: bool = True) -> Receipt:
        """Fund the caller's tranche (pulls exactly its amount)."""
        account = self._account(by)
        if approve:
            amount = next((t.amount for t in self.tranches(loan_id) if t.lender == account.address), 0)
            self._ensure_allowance(account, amount)
        return self.send(self.call("fund", loan_id), account)

    def fund_all(self, loan_id: int) -> list[Receipt]:
        """Fund every unfunded tranche with its lender's key (each lender must be in the keyring)."""
        return [self.fund(loan_id, t.lender) for t in self.tranches(loan_id) if not t.funded]

    def cancel(self, loan_id: int, by: Signer = None) -> Receipt:
        return self.send(self.call("cancel", loan_id), by)

    def disburse(self, loan_id: int, by: Signer = None) -> Receipt:
        return self.send(self.call("disburse", loan_id), by)

    def repay(self, loan_id: int, amount: int, by: Signer = None, *, approve: bool = True) -> Receipt:
        """Repay ``amount`` from ``by`` (penalty, then installments oldest first).

        ``amount=PAY_ALL_DUE`` pays exactly what is due when the transaction executes (see :meth:`repay_due`).
        """
        if amount == PAY_ALL_DUE:
            return self.repay_due(loan_id, by, approve=approve)
        if approve:
            self._ensure_allowance(by, amount)
        return self.send(self.call("repay", loan_id, amount), by)

    def repay_due(self, loan_id: int, by: Signer = None, *, approve: bool = True) -> Receipt:
        """Pay exactly everything due when the transaction executes: the accrued penalty (to that second) and every
        installment already due. Penalty accrues per second, so an amount read from :meth:`amount_due` a block
        earlier may fall short or overshoot; this cannot. The amount paid is in the receipt
        (:meth:`repaid_amounts`). Reverts ``NothingDue`` when nothing is due."""
        if approve:
            # At most what may be paid now (the next installment included) plus a day of penalty on all of it.
            due = self.amount_due(loan_id)
            self._ensure_allowance(by, due.max_payable + penalty(due.max_payable, MAX_PENALTY_BPS, DAY))
        return self.send(self.call("repay", loan_id, PAY_ALL_DUE), by)

    def repay_batch(
        self, loan_ids: Sequence[int], amounts: Sequence[int], by: Signer = None, *, approve: bool = True
    ) -> Receipt:
        """Repay several loans from the servicer with one transfer (all or nothing); an amount of ``PAY_ALL_DUE``
        pays everything due on that loan when the transaction executes."""
        if approve:
            bound = 0
            for loan_id, amount in zip(loan_ids, amounts, strict=True):
                if amount == PAY_ALL_DUE:
                    max_payable = self.amount_due(loan_id).max_payable
                    amount = max_payable + penalty(max_payable, MAX_PENALTY_BPS, DAY)
                bound += amount
            self._ensure_allowance(by, bound)
        return self.send(self.call("repayBatch", list(loan_ids), list(amounts)), by)

    def repaid_amounts(self, receipt: Receipt) -> list[int]:
        """The amount each repayment in ``receipt`` paid (one per ``RepaymentApplied`` record, in order): what a
        ``PAY_ALL_DUE`` repayment resolved to."""
        amounts = []
        for log_ in self._logs(receipt, "RepaymentApplied"):
            data = log_["data"]
            raw = bytes(data) if not isinstance(data, str) else bytes.fromhex(data.removeprefix("0x"))
            amounts.append(int.from_bytes(raw[:32], "big"))  # RepaymentBreakdown.amount, the first data word
        return amounts

    def prepay(self, loan_id: int, principal_amount: int, by: Signer = None, *, approve: bool = True) -> Receipt:
        """Prepay ``principal_amount`` of principal (pays :meth:`prepayment_quote` in full)."""
        if approve:
            self._ensure_allowance(by, self.prepayment_quote(loan_id, principal_amount))
        return self.send(self.call("prepay", loan_id, principal_amount), by)

    def withdraw(self, by: Signer, *, to: str | LocalAccount | None = None) -> int:
        """Withdraw ``by``'s whole withdrawable balance (to ``to`` if given: an institution whose own address cannot
        receive the token, e.g. blacklisted by it); returns the amount."""
        account = self._account(by)
        amount = self.account_of(account.address).withdrawable
        if to is None:
            self.send(self.call("withdraw"), account)
        else:
            self.send(self.call("withdrawTo", _addr(to)), account)
        return amount

    def mark_default(self, loan_id: int, by: Signer = None) -> Receipt:
        return self.send(self.call("markDefault", loan_id), by)

    def write_off(self, loan_id: int, by: Signer = None) -> Receipt:
        return self.send(self.call("writeOff", loan_id), by)

    def recover(self, loan_id: int, amount: int, by: Signer = None, *, approve: bool = True) -> Receipt:
        if approve:
            self._ensure_allowance(by, amount)
        return self.send(self.call("recover", loan_id, amount), by)

    # -- participations (docs/ledger-spec.md, "Participations") ----------------------------------------
    def offer_position(
        self,
        loan_id: int,
        buyer: str | LocalAccount,
        share_bps: int,
        price: int,
        expiry: int,
        by: Signer = None,
    ) -> int:
        """Offer ``share_bps`` of the loan from ``by``'s position to ``buyer`` at ``price`` (token units) until
        ``expiry`` (a timestamp, inclusive); returns the offer id."""
        return self.offer_id_from(
            self.send(self.call("offerPosition", loan_id, _addr(buyer), share_bps, price, expiry), by)
        )

    def offer_id_from(self, receipt: Receipt) -> int:
        """The id of the offer an ``offerPosition`` transaction made."""
        logs = self._logs(receipt, "PositionOffered")
        if not logs:
            raise TransactionFailed(f"no PositionOffered event in tx {receipt.tx_hash}")
        data = logs[0]["data"]
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
        return int.from_bytes(raw[:32], "big")  # offerId, the first unindexed field

    def accept_offer(self, offer_id: int, by: Signer = None, *, approve: bool = True) -> Receipt:
        """Accept offer ``offer_id`` as its buyer: the price moves to the seller and the position to ``by`` in
        one transaction (with ``approve``, the ledger is first allowed to pull the price)."""
        if approve:
            offer = self.offer_of(offer_id)
            if offer is not None and offer.price:
                self._ensure_allowance(by, offer.price)
        return self.send(self.call("acceptOffer", offer_id), by)

    def cancel_offer(self, offer_id: int, by: Signer = None) -> Receipt:
        """Withdraw offer ``offer_id`` (its seller)."""
        return self.send(self.call("cancelOffer", offer_id), by)

    def offer_of(self, offer_id: int) -> OfferView | None:
        """Offer ``offer_id`` while it is open, else None (accepted, cancelled or never made)."""
        offer = from_abi(OfferView, self._view("offerOf", offer_id))
        return None if offer.loan_id == 0 else offer

    def offer_count(self) -> int:
        """The number of offers ever made (ids run from 1)."""
        return int(self._view("offerCount"))

    # -- views ----------------------------------------------------------------------------------------
    def loan(self, loan_id: int) -> LoanView:
        """The loan's full state; :class:`UnknownLoan` if there is none with this id."""
        loan = from_abi(LoanView, self._view("getLoan", loan_id))
        if loan.status == LoanStatus.NONE:
            raise UnknownLoan(loan_id)
        return loan

    def tranches(self, loan_id: int) -> list[TrancheInfo]:
        items = [from_abi(TrancheInfo, t) for t in self._view("getTranches", loan_id)]
        if not items:
            raise UnknownLoan(loan_id)
        return items

    def schedule(self, loan_id: int) -> list[InstallmentView]:
        self.loan(loan_id)
        return [from_abi(InstallmentView, i) for i in self._view("scheduleOf", loan_id)]

    def amount_due(self, loan_id: int) -> AmountDue:
        return from_abi(AmountDue, self._view("amountDue", loan_id))

    def prepayment_quote(self, loan_id: int, principal_amount: int) -> int:
        return int(self._view("prepaymentQuote", loan_id, principal_amount))

    def position(self, loan_id: int, lender: str | LocalAccount) -> Position:
        return from_abi(Position, self._view("positionOf", loan_id, _addr(lender)))

    def account_of(self, account: str | LocalAccount) -> AccountBalance:
        return from_abi(AccountBalance, self._view("accountOf", _addr(account)))

    def credit_record(self, borrower: str | bytes) -> CreditRecord:
        bid = borrower if isinstance(borrower, bytes) else borrower_id(borrower)
        return from_abi(CreditRecord, self._view("creditRecord", bid))

    def loans_of(self, borrower: str | bytes) -> list[int]:
        bid = borrower if isinstance(borrower, bytes) else borrower_id(borrower)
        return [int(i) for i in self._view("loansOf", bid)]

    def policy(self) -> PolicyParams:
        return from_abi(PolicyParams, self._view("policy"))

    def loan_count(self) -> int:
        return int(self._view("loanCount"))

    def institutions(self) -> list[tuple[str, AccountBalance]]:
        """Every registered institution with its account, by index."""
        count = int(self._view("institutionCount"))
        out: list[tuple[str, AccountBalance]] = []
        for index in range(1, count + 1):
            address = to_checksum_address(self._view("institutionAt", index))
            out.append((address, self.account_of(address)))
        return out

    def audit_head(self) -> AuditHead:
        return AuditHead.from_word(bytes(self._view("auditHead")))

    def token_balance_of_ledger(self) -> int:
        return self.balance_of(self.address)

    # -- time (anvil / dev chains) ------------------------------------------------------------------
    def now(self) -> int:
        """The latest block's timestamp."""
        block = self.w3.provider.make_request("eth_getBlockByNumber", ["latest", False])  # type: ignore[arg-type]
        return int(block["result"]["timestamp"], 16)

    def advance(self, seconds: int) -> int:
        """Move chain time forward by ``seconds`` and mine a block; returns the new timestamp."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self.now() + seconds
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [hex(target)])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        return self.now()

    def advance_to(self, timestamp: int) -> int:
        now = self.now()
        return self.advance(timestamp - now) if timestamp > now else now


def _addr(value: str | LocalAccount) -> str:
    return to_checksum_address(value if isinstance(value, str) else value.address)


def _token_abi() -> list[dict[str, Any]]:
    try:
        return artifacts.token_artifact().abi
    except Exception:
        return ERC20_ABI


def _erc20_fn(name: str, inputs: Iterable[tuple[str, str]], outputs: Iterable[str], mutable: bool) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "inputs": [{"name": n, "type": t} for n, t in inputs],
        "outputs": [{"name": "", "type": t} for t in outputs],
        "stateMutability": "nonpayable" if mutable else "view",
    }


ERC20_ABI: list[dict[str, Any]] = [
    _erc20_fn("decimals", [], ["uint8"], False),
    _erc20_fn("symbol", [], ["string"], False),
    _erc20_fn("balanceOf", [("account", "address")], ["uint256"], False),
    _erc20_fn("allowance", [("owner", "address"), ("spender", "address")], ["uint256"], False),
    _erc20_fn("approve", [("spender", "address"), ("value", "uint256")], ["bool"], True),
    _erc20_fn("transfer", [("to", "address"), ("value", "uint256")], ["bool"], True),
]
