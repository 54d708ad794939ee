"""Read the ledger's views at one block and compare them with the replayed books.

The comparison needs a few calls per loan and per institution (about 4,000 for 1,000 two-lender
loans). :meth:`LedgerViews.call_many` runs many of them inside a few deployless ``eth_call`` calls of
the AuditLens contract (:mod:`pylender.audit.lens`), a handful as JSON-RPC batches of raw
``eth_call`` requests; calldata is built by hand from the function selector and results are read
with the compiled readers of :mod:`pylender.audit.layout`. The number of round trips depends on the
number of loans and institutions, never on the number of records; a node that refuses the lens gets
plain batches, a provider without batch support one request per call.
"""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from eth_abi import encode as abi_encode
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from pylender.audit.events import canonical_type
from pylender.audit.findings import Finding, view_finding
from pylender.audit.layout import Reader, compile_reader, compile_value, head_size, keccak256
from pylender.audit.lens import GAS_BUDGET, Lens, is_gas_refusal
from pylender.audit.records import from_json, to_json
from pylender.audit.replay import AuditBooks, LoanState, Status
from pylender.audit.snapshot import SNAPSHOT_GAS_PER_LOAN, compare_snapshot, read_words, split_loans
from pylender.audit.transport import RawHttp
from pylender.errors import AuditError
from pylender.values import DISBURSED_STATUSES, role_name

log = logging.getLogger(__name__)

ERC20_BALANCE_ABI = [
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]
BATCH_SIZE = 500
LENS_MIN_CALLS = 32  # below this one batch of plain eth_calls is as quick as a lens call

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


def _encode_arg(param: Mapping[str, Any], value: Any) -> bytes:
    typ = str(param["type"])
    if typ.startswith("uint") and not typ.endswith("]"):
        return int(value).to_bytes(32, "big")
    if typ == "address":
        return bytes.fromhex(str(value)[2:]).rjust(32, b"\0")
    if typ == "bytes32":
        raw = bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)
        return raw.ljust(32, b"\0")
    return abi_encode([canonical_type(param)], [from_json(param, value)])


class ViewFunction:
    """One view: its selector, how to encode its arguments and how to read its result."""

    def __init__(self, entry: Mapping[str, Any]) -> None:
        self.name = str(entry["name"])
        self.inputs = list(entry["inputs"])
        self.outputs = list(entry["outputs"])
        signature = f"{self.name}({','.join(canonical_type(i) for i in self.inputs)})"
        self.selector = keccak256(signature.encode())[:4]
        self._static_args = all(
            not str(i["type"]).endswith("]") and str(i["type"]) != "tuple" and str(i["type"]) not in ("string", "bytes")
            for i in self.inputs
        )
        self._readers: list[tuple[Reader, int]] = []
        offset = 0
        for out in self.outputs:
            self._readers.append((compile_reader(out), offset))
            offset += head_size(out)
        self._single = compile_value(self.outputs[0]) if len(self.outputs) == 1 else None

    def calldata_bytes(self, args: Sequence[Any]) -> bytes:
        if len(args) != len(self.inputs):
            raise AuditError(f"{self.name} takes {len(self.inputs)} arguments, got {len(args)}")
        if self._static_args:
            body = b"".join(_encode_arg(p, v) for p, v in zip(self.inputs, args, strict=True))
        else:
            types = [canonical_type(p) for p in self.inputs]
            body = abi_encode(types, [from_json(p, v) for p, v in zip(self.inputs, args, strict=True)])
        return self.selector + body

    def calldata(self, args: Sequence[Any]) -> str:
        return "0x" + self.calldata_bytes(args).hex()

    def result(self, data: bytes) -> Any:
        """A single output as its JSON value (structs as dicts); several outputs as a tuple of them."""
        if self._single is not None:
            return self._single(data)
        values = [read(data, off, 0) for read, off in self._readers]
        return values[0] if len(values) == 1 else tuple(values)


class LedgerViews:
    """The ledger's view functions, called at one fixed block, results keyed by the ABI's names."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        abi: list[dict[str, Any]],
        block: int | str = "latest",
        batch_size: int = BATCH_SIZE,
        lens: bool = True,
    ) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.abi = abi
        self.block = block
        self.batch_size = max(1, batch_size)
        self._outputs = {e["name"]: e["outputs"] for e in abi if e.get("type") == "function"}
        self._functions = {
            str(e["name"]): e
            for e in abi
            if e.get("type") == "function" and e.get("stateMutability") in ("view", "pure")
        }
        self._compiled: dict[str, ViewFunction] = {}
        self._balance_of = ViewFunction(ERC20_BALANCE_ABI[0])
        self.requests = 0  # HTTP round trips made by call_many
        self.lens = Lens(self._send) if lens else None
        self._http = RawHttp.for_provider(w3.provider)

    @functools.cached_property
    def contract(self) -> Contract:
        """The web3 contract (built on first use: about 8 ms for the ledger's ABI, which the audit's hot path
        does not need)."""
        return self.w3.eth.contract(address=self.address, abi=self.abi)

    def call(self, name: str, *args: Any) -> Any:
        """Call a view; a single struct output comes back as a dict keyed by component name."""
        value = getattr(self.contract.functions, name)(*args).call(block_identifier=self.block)
        outputs = self._outputs[name]
        return to_json(outputs[0], value) if len(outputs) == 1 else value

    def function(self, name: str) -> ViewFunction:
        fn = self._compiled.get(name)
        if fn is None:
            if name not in self._functions:
                raise AuditError(f"the ledger ABI has no view {name!r}")
            fn = self._compiled[name] = ViewFunction(self._functions[name])
        return fn

    def _block_param(self) -> str:
        return hex(self.block) if isinstance(self.block, int) else str(self.block)

    def call_many(self, calls: Sequence[tuple[str, Sequence[Any]]], *, to: str | None = None) -> list[Any]:
        """Call many views (``(name, args)``) at ``self.block``; results in order.

        ``to`` sends them to another contract (the name ``balanceOf`` then means ERC-20 ``balanceOf``).
        Values are as :meth:`call` returns for single-output views (structs as dicts, JSON values).
        From ``LENS_MIN_CALLS`` calls on they run inside a few deployless lens calls
        (:mod:`pylender.audit.lens`); fewer, or on a node that refuses the lens, they go out as
        JSON-RPC batches of plain ``eth_call``.
        """
        target = to or self.address
        fns = [self._balance_of if to is not None and name == "balanceOf" else self.function(name) for name, _ in calls]
        block = self._block_param()
        answers = None
        if self.lens is not None and len(calls) >= LENS_MIN_CALLS:
            datas = [fn.calldata_bytes(args) for fn, (_, args) in zip(fns, calls, strict=True)]
            answers = self.lens.run(target, block, [name for name, _ in calls], datas)
        if answers is None:
            return self._call_plain(fns, calls, target, block)
        out = [
            None if data is None else self._read(fn, name, args, data)
            for fn, (name, args), data in zip(fns, calls, answers, strict=True)
        ]
        missing = [i for i, data in enumerate(answers) if data is None]
        if missing:  # views that failed inside the lens (or a chunk too big even alone): the node's own answer
            again = self._call_plain([fns[i] for i in missing], [calls[i] for i in missing], target, block)
            for i, value in zip(missing, again, strict=True):
                out[i] = value
        return out

    @staticmethod
    def _read(fn: ViewFunction, name: str, args: Sequence[Any], data: bytes) -> Any:
        try:
            return fn.result(data)
        except (AuditError, ValueError, IndexError) as exc:
            raise AuditError(f"view {name}{tuple(args)}: unreadable result 0x{data.hex()}: {exc}") from exc

    def _call_plain(
        self, fns: Sequence[ViewFunction], calls: Sequence[tuple[str, Sequence[Any]]], target: str, block: str
    ) -> list[Any]:
        """The calls as JSON-RPC batches of ``eth_call`` (``batch_size`` per request)."""
        requests = [
            ("eth_call", [{"to": target, "data": fn.calldata(args)}, block])
            for fn, (_, args) in zip(fns, calls, strict=True)
        ]
        raw: list[Any] = []
        for i in range(0, len(requests), self.batch_size):
            raw.extend(self._send(requests[i : i + self.batch_size]))
        out: list[Any] = []
        for fn, (name, args), response in zip(fns, calls, raw, strict=True):
            if not isinstance(response, Mapping) or response.get("error") is not None or "result" not in response:
                error = response.get("error") if isinstance(response, Mapping) else response
                raise AuditError(f"view {name}{tuple(args)} failed at block {block}: {error}")
            result = response["result"]
            data = bytes.fromhex(result[2:]) if isinstance(result, str) else bytes(result)
            try:
                out.append(fn.result(data))
            except (AuditError, ValueError, IndexError) as exc:
                raise AuditError(f"view {name}{tuple(args)}: unreadable result {result!r}: {exc}") from exc
        return out

    def has_snapshot(self) -> bool:
        """Whether the ABI has ``auditSnapshot`` (the ledger may still predate it: :meth:`snapshot` says)."""
        return "auditSnapshot" in self._functions

    def snapshot(self, loan_count: int) -> dict[int, list[int]] | None:
        """Every loan's ``auditSnapshot`` words (:mod:`pylender.audit.snapshot`), keyed by loan id, in one
        JSON-RPC batch of calls sized to the gas budget; None when the ledger has no such view (a deployment
        older than the view reverts with no data)."""
        if not self.has_snapshot():
            return None
        fn = self.function("auditSnapshot")
        block = self._block_param()
        per_call = max(1, GAS_BUDGET // SNAPSHOT_GAS_PER_LOAN)
        pending = [(first, min(per_call, loan_count + 1 - first)) for first in range(1, loan_count + 1, per_call)]
        words: dict[int, list[int]] = {}
        while pending:
            requests = [("eth_call", [{"to": self.address, "data": fn.calldata(part)}, block]) for part in pending]
            retry: list[tuple[int, int]] = []
            for (first, count), response in zip(pending, self._send(requests), strict=True):
                result = response.get("result") if isinstance(response, Mapping) else None
                if isinstance(result, str):
                    words[first] = read_words(bytes.fromhex(result[2:]))
                    continue
                error = response.get("error") if isinstance(response, Mapping) else response
                if is_gas_refusal(error) and count > 1:
                    retry += [(first, count // 2), (first + count // 2, count - count // 2)]
                elif _reverted_without_data(error):
                    log.info("the ledger has no auditSnapshot view (%s); reading the single views", str(error)[:200])
                    return None
                else:
                    raise AuditError(f"auditSnapshot({first}, {count}) failed at block {block}: {error}")
            pending = retry
        return split_loans([w for first in sorted(words) for w in words[first]])

    def _post_raw(self, requests: list[tuple[str, list[Any]]]) -> list[Any] | None:
        """One batch over an HTTP provider's transport, JSON built and parsed here (no per-call web3
        encoding); None when the provider is not HTTP or the answer is not a full batch."""
        provider = self.w3.provider
        if self._http is not None:
            post: Any = self._http.post
        elif isinstance(provider, HTTPProvider) and hasattr(provider, "_make_request"):
            post = functools.partial(provider._make_request, "eth_call")  # type: ignore[arg-type]
        else:
            return None
        body = msgspec.json.encode(
            [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(requests)]
        )
        self.requests += 1
        try:
            answer = msgspec.json.decode(post(body))
        except msgspec.DecodeError:
            return None
        if not isinstance(answer, list):
            return None
        by_id = {r.get("id"): r for r in answer if isinstance(r, dict)}
        if len(by_id) != len(requests) or any(i not in by_id for i in range(len(requests))):
            return None
        return [by_id[i] for i in range(len(requests))]

    def _send(self, requests: list[tuple[str, list[Any]]]) -> list[Any]:
        provider = self.w3.provider
        if len(requests) == 1 and self._http is not None:
            self.requests += 1
            return [self._http.call(*requests[0])]
        if len(requests) > 1:
            raw = self._post_raw(requests)
            if raw is not None:
                return raw
        batch = getattr(provider, "make_batch_request", None)
        if batch is not None and len(requests) > 1:
            self.requests += 1
            try:
                responses = batch(requests)
            except NotImplementedError:
                responses = None
            if isinstance(responses, list) and len(responses) == len(requests):
                return responses
            log.info(
                "no usable batch answer (%s); calling the %d views one by one", str(responses)[:200], len(requests)
            )
        out = []
        for method, params in requests:
            self.requests += 1
            out.append(provider.make_request(method, params))  # type: ignore[arg-type]
        return out

    def close(self) -> None:
        """Close the plain-HTTP connections (if any; a later call opens new ones)."""
        if self._http is not None:
            self._http.close()

    def audit_head(self) -> int:
        """The ledger's ``auditHead`` at ``self.block`` (one plain ``eth_call``, no web3 contract machinery)."""
        (value,) = self._call_plain(
            [self.function("auditHead")], [("auditHead", ())], self.address, self._block_param()
        )
        return self.head_value(value)

    def head_value(self, value: Any) -> int:
        """``auditHead()``'s answer (as :meth:`call_many` reads it) as an integer."""
        if isinstance(value, str) and len(value) == 66:
            return int(value, 16)
        if isinstance(value, int):
            return value
        raise AuditError(f"auditHead() at block {self.block} returned {value!r}: is {self.address} the ledger?")

    def token_balance(self) -> int:
        token = self.contract.functions.token().call(block_identifier=self.block)  # type: ignore[arg-type]
        erc20 = self.w3.eth.contract(address=token, abi=ERC20_BALANCE_ABI)
        return int(erc20.functions.balanceOf(self.address).call(block_identifier=self.block))


def _reverted_without_data(error: Any) -> bool:
    """An ``eth_call`` error that is a revert carrying no data (what a contract without the function gives)."""
    if not isinstance(error, Mapping):
        return False
    data = error.get("data")
    if isinstance(data, Mapping):
        data = data.get("data")
    return "revert" in str(error.get("message", "")).lower() and data in (None, "", "0x")


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
_DEFAULTED = (Status.DEFAULTED, Status.WRITTEN_OFF)


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


ViewKey = tuple[str, tuple[Any, ...]]
SNAPSHOT: ViewKey = ("auditSnapshot", ())  # the cache's key for every loan's snapshot words (or None)


def _compare_roles(views: LedgerViews, books: AuditBooks, cache: Mapping[ViewKey, Any] | None) -> list[Finding]:
    """``hasRole`` for every (role, account) the trail names against the members the records leave."""
    pairs = sorted(books.role_history)
    held = _answers(views, [("hasRole", (role, account)) for role, account in pairs], cache) if pairs else []
    return [
        view_finding(f"role {role_name(role)}", account, expected, bool(found))
        for (role, account), found in zip(pairs, held, strict=True)
        if bool(found) != (expected := account in books.roles.get(role, ()))
    ]


def _answers(views: LedgerViews, calls: Sequence[ViewKey], cache: Mapping[ViewKey, Any] | None) -> list[Any]:
    """The values of ``calls``: from ``cache`` where present, the rest in batches."""
    if not cache:
        return views.call_many(calls)
    missing = [c for c in calls if c not in cache]
    fetched = dict(zip(missing, views.call_many(missing), strict=True)) if missing else {}
    return [cache[c] if c in cache else fetched[c] for c in calls]


def _round_one(views: LedgerViews, cache: Mapping[ViewKey, Any] | None) -> tuple[int, int, str]:
    loan_count, count, token = _answers(views, [("loanCount", ()), ("institutionCount", ()), ("token", ())], cache)
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
    answers = iter(_answers(views, calls, cache))
    loan_views = [next(answers) for _ in loans] if single else []
    position_views = [[next(answers) for _ in loan.lenders] for loan in loans] if positions and single else None
    onchain = {Web3.to_checksum_address(next(answers)) for _ in range(count)}
    account_views = {address: next(answers) for address in known}
    credit_views = {borrower_id: next(answers) for borrower_id in credit}
    if snapshot is not None:
        out.extend(compare_snapshot(books, snapshot, positions=positions))
    for i, (loan, view) in enumerate(zip(loans, loan_views, strict=True) if single else ()):
        out.extend(_compare_loan(books, loan, view, position_views[i] if position_views is not None else None))
    replayed = {a for a, acct in books.accounts.items() if acct.index}
    if onchain != replayed:
        out.append(view_finding("ledger", "institutions", sorted(replayed), sorted(onchain)))
    extra = sorted(onchain - set(account_views))
    account_views.update(zip(extra, _answers(views, [("accountOf", (a,)) for a in extra], cache), strict=True))
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
