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
from typing import Any, Literal, TypeVar, cast

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import abi_to_signature, collapse_if_tuple, keccak, to_checksum_address
from web3 import Web3

from pylender import artifacts
from pylender.client.governance import Governance, Signer
from pylender.client.governance import address_of as _addr
from pylender.client.tx import Call, Receipt, TxSender, revert_data
from pylender.client.units import Amount, to_base_units
from pylender.errors import (
    ContractError,
    ErrorDecoder,
    InsufficientFunds,
    NotADevChain,
    NotALedger,
    PylenderError,
    SignerError,
    TransactionFailed,
    UnknownLoan,
    error_class,
)
from pylender.schedule import penalty
from pylender.values import (
    DAY,
    PAY_ALL_DUE,
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
    validate,
)

log = logging.getLogger(__name__)

#: The largest penalty rate a loan can carry (uint16 bps): bounds the allowance of a PAY_ALL_DUE repayment.
MAX_PENALTY_BPS = 2**16 - 1
DEFAULT_FUNDING_WINDOW = 7 * 86_400

Approve = bool | Literal["exact", "unlimited"]
"""How a payment lets the ledger pull its tokens when the allowance does not cover it already: ``"exact"`` (the
default, also ``True``) approves exactly what the call pulls, and resets what is left to 0 after, so the payment
leaves no allowance behind; ``"unlimited"`` approves ``2**256 - 1``, only when the caller asks; ``False`` approves
nothing. An allowance the owner set before that covers the payment is used as it is."""

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


class Ledger(Governance):
    """Typed access to one deployed ledger and its settlement token (roles, policy and pause: :class:`Governance`)."""

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
        self.ledger_abi: list[dict[str, Any]] = list(ledger_art.abi)  # the artifact's is shared: never mutate it
        self.token_abi: list[dict[str, Any]] = token_abi
        self.contract = w3.eth.contract(address=to_checksum_address(deployment.ledger), abi=cast(Any, ledger_art.abi))
        self.token = w3.eth.contract(address=to_checksum_address(deployment.token), abi=cast(Any, token_abi))
        # the loan pools' errors too: a pool's calls go through this client (pylender.client.pool)
        pools = [
            artifacts.load(name).abi
            for name in (artifacts.POOL, artifacts.POOL_CLASS_TOKEN)
            if name in artifacts.available()
        ]
        self.decoder = ErrorDecoder(ledger_art.abi, token_abi, *pools)
        self._check_layouts(ledger_art)
        self._topics = _event_topics(ledger_art.abi)
        self.default_signer = signer
        self.keyring: dict[str, LocalAccount] = {signer.address: signer, **(keyring or {})}
        self._senders: dict[str, TxSender] = {}
        self._confirmations = confirmations
        self._gas_price = gas_price
        self._approved: set[str] = set()
        # call targets: name -> (address, ABI); a pool client adds its pool (add_target)
        self._targets: dict[str, tuple[str, list[dict[str, Any]]]] = {
            "ledger": (self.contract.address, self.ledger_abi),
            "token": (self.token.address, self.token_abi),
        }
        self._decimals: int | None = deployment.token_decimals
        self._views: dict[tuple[str, str], tuple[bytes, list[str], list[str]]] = {}
        self._role_ids: dict[str, bytes] = {}
        self.on_sent: Callable[[str, Receipt], None] | None = None
        """Called with the call's label (``ledger.repay``, ``token.approve``) and the receipt of every transaction
        :meth:`send` lands: the command line prints each one's hash, block and gas."""

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
                on_sent=self._notify,
            )
            self._senders[account.address] = sender
        return sender

    def _notify(self, call: Call, receipt: Receipt) -> None:
        if self.on_sent is not None:
            self.on_sent(call.label, receipt)

    def call(self, fn: str, *args: Any, target: str = "ledger") -> Call:
        """An encoded call of a ledger (or token, or added target's) function, for :meth:`send` / :meth:`send_many`."""
        selector, ins, _ = self._meta(target, fn)
        data = "0x" + (selector + abi_encode(ins, list(args))).hex()
        return Call(to=self._targets[target][0], data=data, label=f"{target.split(':')[0]}.{fn}")

    def add_target(self, name: str, address: str, abi: Sequence[Mapping[str, Any]]) -> None:
        """Let :meth:`call` and views reach another contract (``name``, e.g. ``pool:0x…``: its label is the part
        before the colon) and decode its errors."""
        self._targets[name] = (to_checksum_address(address), list(abi))  # type: ignore[arg-type]
        self.decoder.add_abi(abi)

    def _meta(self, target: str, fn: str) -> tuple[bytes, list[str], list[str]]:
        """Selector, input and output types of a function (cached; no overloads in these ABIs)."""
        meta = self._views.get((target, fn))
        if meta is None:
            abi = self._targets[target][1]
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
        selector, ins, outs = self._meta(target, fn)
        data = "0x" + (selector + abi_encode(ins, list(args))).hex()
        to = self._targets[target][0]
        response = self.w3.provider.make_request("eth_call", [{"to": to, "data": data}, "latest"])  # type: ignore[arg-type]
        if "error" in response:
            err = response["error"]
            payload = revert_data(err)
            if payload is not None:
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

    def units(self, amount: Amount) -> int:
        """Tokens to base units (``units("1.5") == 1_500_000`` with 6 decimals), exactly: a negative amount, or
        one with more decimals than the token (``units("1.2345678")``), raises :class:`InvalidAmount`
        (:func:`pylender.client.units.to_base_units`, the parser the command line uses too)."""
        return to_base_units(amount, self.decimals)

    def balance_of(self, account: str | LocalAccount) -> int:
        return int(self._view("balanceOf", _addr(account), target="token"))

    def allowance(self, owner: str | LocalAccount, spender: str | None = None) -> int:
        """What ``spender`` (default: the ledger) may pull from ``owner``."""
        return int(self._view("allowance", _addr(owner), spender or self.address, target="token"))

    def mint(self, to: str | LocalAccount, amount: int, by: Signer = None) -> Receipt:
        """Mint test tokens (local test token only)."""
        return self.send(self.call("mint", _addr(to), amount, target="token"), by)

    def approve(self, by: Signer, amount: int = UINT256_MAX, *, spender: str | None = None) -> Receipt:
        """Set the allowance the ledger (or ``spender``) may pull from ``by`` to ``amount`` (an explicit call; with
        no amount, unlimited). The payments approve for themselves, exactly, unless told otherwise
        (:data:`Approve`)."""
        account = self._account(by)
        receipt = self.send(self.call("approve", spender or self.address, amount, target="token"), account)
        if spender not in (None, self.address):
            return receipt  # the cache below is the ledger's
        if amount == UINT256_MAX:
            self._approved.add(account.address)
        else:
            self._approved.discard(account.address)
        return receipt

    def _pay(
        self,
        call: Call,
        by: Signer,
        amount: int,
        approve: Approve,
        *,
        bound: bool = False,
        spender: str | None = None,
    ) -> Receipt:
        """Send ``call``, a payment that pulls ``amount`` (or at most ``amount``: a ``bound``) from ``by`` into the
        ledger (or ``spender``: a pool's subscriptions).

        An allowance that already covers the payment - one the owner set: unlimited, or more than this - is used as
        it is, neither raised nor revoked. Otherwise, ``"exact"``: the allowance is set to ``amount``, and whatever
        the payment leaves of it is reset to 0 right after - nothing after an exact amount, which the payment pulls
        in full; the unused part of a bound (a payment of everything due, whose amount the contract fixes when it
        executes); all of it when the payment failed. A non-zero allowance is set to 0 before it is changed, which
        tokens like USDT insist on. ``"unlimited"``: approve ``2**256 - 1``. ``False``: leave the allowance alone.

        Before approving anything the payment is estimated: a payment the ledger refuses for its own reasons
        (``Overpayment``, ``NothingDue``, a paused ledger, a missing role) raises that error with no transaction
        sent; only the token's complaint about the allowance, which the approval answers, lets it go on. A payer
        whose balance is short of an exact amount gets the token's ``ERC20InsufficientBalance`` the same way.
        """
        mode = _approval_mode(approve)
        account = self._account(by)
        spender = spender or self.address
        cached = spender == self.address and account.address in self._approved
        if mode is None or cached:  # not asked, or unlimited as this client set it
            return self.send(call, account)
        current = self.allowance(account.address, spender)
        if current == UINT256_MAX and spender == self.address:
            self._approved.add(account.address)
        if current >= amount:
            return self.send(call, account)
        self._preflight(call, account)
        balance = self.balance_of(account.address)
        if not bound and balance < amount:
            raise error_class("ERC20InsufficientBalance")(account.address, balance, amount)
        if current != 0:
            self.approve(account, 0, spender=spender)
        if mode == "unlimited":
            self.approve(account, UINT256_MAX, spender=spender)
            return self.send(call, account)
        self.approve(account, amount, spender=spender)
        try:
            receipt = self.send(call, account)
        except BaseException as exc:
            try:
                self._reset_allowance(account, spender)
            except Exception as reset_error:  # the payment's own error matters more; say what is left
                exc.add_note(f"the allowance of {account.address} could not be reset to 0: {reset_error}")
            raise
        self._reset_allowance(account, spender)
        return receipt

    def _preflight(self, call: Call, account: LocalAccount) -> None:
        """Estimate ``call``; raise the ledger's own refusal, let a token's refusal (no allowance yet) pass."""
        try:
            self.sender(account).estimate(call)
        except TransactionFailed:
            return  # a refusal the node did not say the reason of: the approval and the send will tell
        except ContractError as exc:
            if isinstance(exc, InsufficientFunds) or exc.error_name in ("Error", "Panic") or exc.field_names is None:
                return  # the token's (allowance, balance, a reason string): the approval and the send decide
            raise

    def _reset_allowance(self, account: LocalAccount, spender: str | None = None) -> None:
        if self.allowance(account.address, spender) != 0:
            self.approve(account, 0, spender=spender)

    # -- institutions (roles, policy and pause: Governance) --------------------------------------------------
    def register_institution(
        self, account: str | LocalAccount, name: str, *, is_platform: bool = False, by: Signer = None
    ) -> int:
        """Register an institution (admin); returns its index (from 1)."""
        if isinstance(account, LocalAccount):
            self.add_signer(account)
        receipt = self.send(self.call("registerInstitution", _addr(account), name, is_platform), by)
        return int(self._logs(receipt, "InstitutionRegistered")[0]["topics"][1], 16)

    def register_pool(self, pool: str, name: str, by: Signer = None) -> int:
        """Register a loan pool (admin): an institution that holds positions only by buying them; returns its
        index (:func:`pylender.client.pool.deploy_pool` deploys a pool and registers it)."""
        receipt = self.send(self.call("registerPool", _addr(pool), name), by)
        return int(self._logs(receipt, "InstitutionRegistered")[0]["topics"][1], 16)

    def pool_collections_of(self, pool: str) -> tuple[int, int]:
        """A pool's cumulative principal and recovery credits at the ledger (``poolCollectionsOf``)."""
        principal, recovered = self._view("poolCollectionsOf", _addr(pool))
        return int(principal), int(recovered)

    def rotate_institution(
        self, account: str | LocalAccount, new_account: str | LocalAccount, by: Signer = None
    ) -> Receipt:
        """Replace an institution's address (admin; works while paused): index, balances, tranches and LENDER_ROLE
        move to ``new_account``."""
        if isinstance(new_account, LocalAccount):
            self.add_signer(new_account)
        return self.send(self.call("rotateInstitution", _addr(account), _addr(new_account)), by)

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

    def fund(self, loan_id: int, by: Signer, *, approve: Approve = "exact") -> Receipt:
        """Fund the caller's tranche (pulls exactly its amount; approved exactly unless ``approve`` says otherwise)."""
        account = self._account(by)
        amount = next((t.amount for t in self.tranches(loan_id) if t.lender == account.address), 0)
        return self._pay(self.call("fund", loan_id), account, amount, approve if amount else False)

    def fund_all(self, loan_id: int, *, approve: Approve = "exact") -> list[Receipt]:
        """Fund every unfunded tranche with its lender's key (each lender must be in the keyring)."""
        return [self.fund(loan_id, t.lender, approve=approve) for t in self.tranches(loan_id) if not t.funded]

    def cancel(self, loan_id: int, by: Signer = None) -> Receipt:
        return self.send(self.call("cancel", loan_id), by)

    def disburse(self, loan_id: int, by: Signer = None) -> Receipt:
        return self.send(self.call("disburse", loan_id), by)

    def repay(self, loan_id: int, amount: int, by: Signer = None, *, approve: Approve = "exact") -> Receipt:
        """Repay ``amount`` from ``by`` (penalty, then installments oldest first). The ledger is approved for exactly
        ``amount`` first, which the payment uses up: the allowance is 0 afterwards (:data:`Approve`).

        ``amount=PAY_ALL_DUE`` pays exactly what is due when the transaction executes (see :meth:`repay_due`).
        """
        if amount == PAY_ALL_DUE:
            return self.repay_due(loan_id, by, approve=approve)
        return self._pay(self.call("repay", loan_id, amount), by, amount, approve)

    def repay_due(self, loan_id: int, by: Signer = None, *, approve: Approve = "exact") -> Receipt:
        """Pay exactly everything due when the transaction executes: the accrued penalty (to that second) and every
        installment already due. Penalty accrues per second, so an amount read from :meth:`amount_due` a block
        earlier may fall short or overshoot; this cannot. The amount paid is in the receipt
        (:meth:`repaid_amounts`). Reverts ``NothingDue`` when nothing is due.

        The amount is fixed only when the payment executes, so an exact approval is a bound - what may be paid now
        plus a day of penalty at the highest rate a loan can carry - and what the payment leaves of it is reset
        to 0 right after: the allowance is 0 once this returns (or raises)."""
        return self._pay(self.call("repay", loan_id, PAY_ALL_DUE), by, self._due_bound(loan_id), approve, bound=True)

    def _due_bound(self, loan_id: int) -> int:
        """At most what a ``PAY_ALL_DUE`` payment can pull within a day: what may be paid now (the next installment
        included) plus a day of penalty on all of it at the highest rate."""
        max_payable = self.amount_due(loan_id).max_payable
        return max_payable + penalty(max_payable, MAX_PENALTY_BPS, DAY)

    def repay_batch(
        self, loan_ids: Sequence[int], amounts: Sequence[int], by: Signer = None, *, approve: Approve = "exact"
    ) -> Receipt:
        """Repay several loans from the servicer with one transfer (all or nothing); an amount of ``PAY_ALL_DUE``
        pays everything due on that loan when the transaction executes. Approved for exactly the sum (a bound when
        an amount is ``PAY_ALL_DUE``, whose unused part is reset to 0 after the batch)."""
        if len(loan_ids) != len(amounts):
            raise ValueError(f"{len(loan_ids)} loans but {len(amounts)} amounts")
        due = [self._due_bound(i) if a == PAY_ALL_DUE else a for i, a in zip(loan_ids, amounts, strict=True)]
        return self._pay(
            self.call("repayBatch", list(loan_ids), list(amounts)), by, sum(due), approve, bound=PAY_ALL_DUE in amounts
        )

    def repaid_amounts(self, receipt: Receipt) -> list[int]:
        """The amount each repayment in ``receipt`` paid (one per ``RepaymentApplied`` record, in order): what a
        ``PAY_ALL_DUE`` repayment resolved to."""
        amounts = []
        for log_ in self._logs(receipt, "RepaymentApplied"):
            data = log_["data"]
            raw = bytes(data) if not isinstance(data, str) else bytes.fromhex(data.removeprefix("0x"))
            amounts.append(int.from_bytes(raw[:32], "big"))  # RepaymentBreakdown.amount, the first data word
        return amounts

    def prepay(self, loan_id: int, principal_amount: int, by: Signer = None, *, approve: Approve = "exact") -> Receipt:
        """Prepay ``principal_amount`` of principal (pays :meth:`prepayment_quote` in full).

        The exact approval is the quote the views give; the quote can move before the payment executes (penalty
        accrues per second, a due date can pass), and the estimate before sending then reports an allowance
        short of it: the quote is read and approved again, once."""
        for attempt in (1, 2):
            quote = self.prepayment_quote(loan_id, principal_amount)
            try:
                return self._pay(self.call("prepay", loan_id, principal_amount), by, quote, approve)
            except InsufficientFunds as exc:
                if attempt == 2 or _approval_mode(approve) != "exact" or exc.error_name != "ERC20InsufficientAllowance":
                    raise
                log.info("prepayment quote moved from %d; approving it again", quote)
        raise AssertionError("unreachable")  # pragma: no cover

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

    def recover(self, loan_id: int, amount: int, by: Signer = None, *, approve: Approve = "exact") -> Receipt:
        """Pay ``amount`` recovered on a defaulted or written-off loan (approved exactly, like :meth:`repay`)."""
        return self._pay(self.call("recover", loan_id, amount), by, amount, approve)

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

    def accept_offer(self, offer_id: int, by: Signer = None, *, approve: Approve = "exact") -> Receipt:
        """Accept offer ``offer_id`` as its buyer: the price moves to the seller and the position to ``by`` in
        one transaction. The ledger is approved for exactly the price first, which the acceptance uses up
        (:data:`Approve`); an offer already closed raises ``OfferNotOpen`` from the ledger."""
        call = self.call("acceptOffer", offer_id)
        offer = self.offer_of(offer_id)
        if offer is None or offer.price == 0:
            return self.send(call, by)
        return self._pay(call, by, offer.price, approve)

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

    def loan_summaries(self, first: int = 1, count: int | None = None) -> list[dict[str, Any]]:
        """Loans ``first`` .. ``first + count - 1`` (default: all) in a few calls, from the ``auditSnapshot`` view:
        each one's id, status, outstanding principal, principal paid, written off and its tranches' lenders and
        shares (the snapshot's layout: docs/ledger-spec.md, "Loan views")."""
        last = self.loan_count() if count is None else min(self.loan_count(), first + count - 1)
        out: list[dict[str, Any]] = []
        while first <= last:
            words = [int(w) for w in self._view("auditSnapshot", first, min(SNAPSHOT_PAGE, last - first + 1))]
            i = 0
            while i < len(words):
                n = words[i + 15]
                tranches = [words[i + 16 + 7 * t : i + 16 + 7 * t + 2] for t in range(n)]
                out.append(
                    {
                        "loan_id": words[i],
                        "status": LoanStatus(words[i + 1]),
                        "outstanding_principal": words[i + 6],
                        "principal_paid": words[i + 11],
                        "written_off": words[i + 14],
                        "tranches": [(to_checksum_address(f"0x{lender:040x}"), share) for lender, share in tranches],
                    }
                )
                i += 16 + 7 * n
            first = out[-1]["loan_id"] + 1 if out else last + 1
        return out

    def ensure_ledger(self) -> None:
        """Raise :class:`NotALedger` unless the deployment's address holds a contract that answers as a pylender
        ledger (its audit head, loan count and token), so a stale or mistaken deployment file fails by name instead
        of with a revert without a reason."""
        where = f"no pylender ledger at {self.address} on chain {self.deployment.chain_id}"
        if not self.w3.eth.get_code(to_checksum_address(self.address)):
            raise NotALedger(f"{where}: the address holds no code")
        try:
            self.audit_head()
            self.loan_count()
            token = to_checksum_address(self._view("token"))
        except (PylenderError, ValueError, TypeError) as exc:
            raise NotALedger(f"{where}: the contract there does not answer as one ({exc})") from None
        if token != self.deployment.token:
            expected = self.deployment.token
            raise NotALedger(f"{where}: the ledger there settles in {token}, the deployment says {expected}")

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
        """Move chain time forward by ``seconds`` and mine a block; returns the new timestamp (local chains only)."""
        if not self.is_local:
            raise NotADevChain(f"chain {self.deployment.chain_id} is not a local dev chain: its time cannot be moved")
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self.now() + seconds
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [hex(target)])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        return self.now()

    def advance_to(self, timestamp: int) -> int:
        now = self.now()
        return self.advance(timestamp - now) if timestamp > now else now


SNAPSHOT_PAGE = 160
"""Loans per ``auditSnapshot`` call: about what one ``eth_call`` returns within a node's default limits."""


def _approval_mode(approve: Approve) -> Literal["exact", "unlimited"] | None:
    if approve is True or approve == "exact":
        return "exact"
    if approve is False or approve is None:
        return None
    if approve == "unlimited":
        return "unlimited"
    raise ValueError(f"approve must be 'exact', 'unlimited', True or False, got {approve!r}")


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
