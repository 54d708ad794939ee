"""Read the ledger's views at one block (comparing them with the replay is :mod:`pylender.audit.reconcile`).

Reconciling needs a few calls per loan and per institution (about 4,000 for 1,000 two-lender
loans). :meth:`LedgerViews.call_many` runs many of them inside a few deployless ``eth_call`` calls of
the AuditLens contract (:mod:`pylender.audit.lens`), a handful as JSON-RPC batches of raw
``eth_call`` requests; calldata is built by hand from the function selector and results are read
with the compiled readers of :mod:`pylender.audit.layout`. The number of round trips depends on the
number of loans and institutions, never on the number of records; a node that refuses the lens gets
plain batches, a provider without batch support one request per call. Every request goes through
:class:`pylender.audit.rpc.Rpc`: a dropped connection or a busy node is retried with backoff, and an
exhausted retry budget ends in a named :class:`~pylender.errors.RpcExhausted`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from eth_abi import encode as abi_encode
from web3 import Web3
from web3.contract import Contract

from pylender.audit.events import canonical_type
from pylender.audit.layout import Reader, compile_reader, compile_value, head_size, keccak256
from pylender.audit.lens import GAS_BUDGET, Lens, is_gas_refusal
from pylender.audit.records import from_json, to_json
from pylender.audit.rpc import RetryPolicy, Rpc
from pylender.audit.snapshot import SNAPSHOT_GAS_PER_LOAN, read_words, split_loans
from pylender.errors import AuditError

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
        retry: RetryPolicy | None = None,
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
        self.rpc = Rpc(w3, retry)
        self.lens = Lens(self._send) if lens else None

    @property
    def requests(self) -> int:
        """HTTP round trips made so far (retries included)."""
        return self.rpc.requests

    @functools.cached_property
    def contract(self) -> Contract:
        """The web3 contract (built on first use: about 8 ms for the ledger's ABI, which the audit's hot path
        does not need)."""
        return self.w3.eth.contract(address=self.address, abi=self.abi)

    def call(self, name: str, *args: Any) -> Any:
        """Call a view through web3 (the reference :meth:`call_many`'s readers are tested against; retried like
        every read); a single struct output comes back as a dict keyed by component name."""
        function = getattr(self.contract.functions, name)(*args)
        value = self.rpc.retrying(name, lambda: function.call(block_identifier=self.block))
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

    def _send(self, requests: list[tuple[str, list[Any]]]) -> list[Any]:
        """The replies to ``requests`` (one JSON-RPC batch, retried), in their order."""
        return self.rpc.batch(requests)

    def close(self) -> None:
        """Close the plain-HTTP connections (if any; a later call opens new ones)."""
        self.rpc.close()

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
        """The token's ``balanceOf(ledger)`` at ``self.block``."""
        (token,) = self.call_many([("token", ())])
        (balance,) = self.call_many([("balanceOf", (self.address,))], to=str(token))
        return int(balance)


def _reverted_without_data(error: Any) -> bool:
    """An ``eth_call`` error that is a revert carrying no data (what a contract without the function gives)."""
    if not isinstance(error, Mapping):
        return False
    data = error.get("data")
    if isinstance(data, Mapping):
        data = data.get("data")
    return "revert" in str(error.get("message", "")).lower() and data in (None, "", "0x")


ViewKey = tuple[str, tuple[Any, ...]]
SNAPSHOT: ViewKey = ("auditSnapshot", ())  # the cache's key for every loan's snapshot words (or None)


def answers(views: LedgerViews, calls: Sequence[ViewKey], cache: Mapping[ViewKey, Any] | None = None) -> list[Any]:
    """The values of ``calls``: from ``cache`` where present, the rest in batches."""
    if not cache:
        return views.call_many(calls)
    missing = [c for c in calls if c not in cache]
    fetched = dict(zip(missing, views.call_many(missing), strict=True)) if missing else {}
    return [cache[c] if c in cache else fetched[c] for c in calls]
