"""Many view calls in one ``eth_call``: the AuditLens contract run as a deployless call.

``contracts/audit/AuditLens.sol`` is never deployed. An ``eth_call`` without ``to`` whose data is
its creation code followed by ``abi.encode(target, bytes[] calls)`` makes the node run its
constructor, which calls ``target`` (``staticcall``) with each calldata and reverts with
``LensAnswer(bytes)``: per call, one word ``failed << 255 | size`` and the return data. (Revert
data, not a return: what a constructor returns is contract code, capped at 24,576 bytes by
EIP-170.) Any JSON-RPC node runs it without state overrides and hands the revert data back in the
error's ``data``, so reconciling 1,000 loans costs a dozen ``eth_call`` requests instead of 4,000.

A lens call is limited by EIP-3860's cap on creation code (49,152 bytes, code and arguments
together) and by the node's ``eth_call`` gas cap (30M on anvil, 50M on geth). Chunks are sized
under both (gas with a wide margin, from the measured cost of the ledger's views) and every chunk of
one request goes out in one JSON-RPC batch. A chunk the node refuses for gas is halved and sent
again; any other answer (a node that does not run creation code in ``eth_call`` or drops revert
data) turns the lens off and the caller falls back to plain calls. A view that fails inside the lens
is flagged and the caller repeats it as a plain call, so its error is the node's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from pylender.audit.layout import WORD, keccak256
from pylender.errors import AuditError

log = logging.getLogger(__name__)

LENS = "AuditLens"
INITCODE_LIMIT = 49_152  # EIP-3860: the most creation code + arguments a node will run
GAS_BUDGET = 10_000_000  # per lens call: a third of the smallest common eth_call gas cap (30M)
# Gas of one view inside the lens, about 1.5x what anvil measures on the ledger (cold slots: getLoan
# 33k, positionOf 25k, creditRecord and accountOf 8k warm); any other view counts as DEFAULT_GAS.
GAS_PER_CALL = {"getLoan": 50_000, "positionOf": 40_000, "creditRecord": 30_000, "accountOf": 30_000}
DEFAULT_GAS = 60_000
FAILED = 1 << 255
SIZE_MASK = FAILED - 1
ANSWER_SELECTOR = keccak256(b"LensAnswer(bytes)")[:4].hex()

Send = Callable[[list[tuple[str, list[Any]]]], list[Any]]


def _word(value: int) -> bytes:
    return value.to_bytes(WORD, "big")


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % WORD)


def creation_code() -> bytes:
    """The lens's creation code from the shipped artifact."""
    from pylender.artifacts import load

    try:
        return bytes.fromhex(load(LENS).bytecode.removeprefix("0x"))
    except Exception as exc:  # ArtifactNotFound carries the fix in its message
        raise AuditError(str(exc)) from exc


def encode_arguments(target: str, calls: Sequence[bytes]) -> bytes:
    """``abi.encode(address target, bytes[] calls)`` by hand (the hot path: no eth-abi)."""
    heads: list[bytes] = []
    tails: list[bytes] = []
    offset = WORD * len(calls)
    for data in calls:
        heads.append(_word(offset))
        item = _word(len(data)) + _padded(data)
        tails.append(item)
        offset += len(item)
    address = bytes.fromhex(target.removeprefix("0x")).rjust(WORD, b"\0")
    return b"".join([address, _word(2 * WORD), _word(len(calls)), *heads, *tails])


def call_size(data: bytes) -> int:
    """Bytes one call adds to the lens arguments: its offset, its length word and its padded data."""
    return 2 * WORD + len(data) + (-len(data) % WORD)


def read_answer(answer: bytes, count: int) -> list[bytes | None]:
    """Each call's return data from the lens answer (None for a call that failed)."""
    out: list[bytes | None] = []
    pos = 0
    for _ in range(count):
        if pos + WORD > len(answer):
            raise AuditError(f"the lens answer ends after {len(out)} of {count} results")
        head = int.from_bytes(answer[pos : pos + WORD], "big")
        size = head & SIZE_MASK
        start, pos = pos + WORD, pos + WORD + size
        if pos > len(answer):
            raise AuditError(f"the lens answer is cut inside result {len(out) + 1} of {count}")
        out.append(None if head & FAILED else answer[start:pos])
    if pos != len(answer):
        raise AuditError(f"the lens answer has {len(answer) - pos} bytes after its {count} results")
    return out


def lens_answer(error: Any) -> bytes | None:
    """The ``LensAnswer`` payload carried by an ``eth_call`` error's revert data (None if it is another error)."""
    data = error.get("data") if isinstance(error, dict) else None
    if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x..."}}
        data = data.get("data")
    if not isinstance(data, str) or data[2:10].lower() != ANSWER_SELECTOR:
        return None
    raw = bytes.fromhex(data[2:])
    if len(raw) < 4 + 2 * WORD:
        raise AuditError(f"the lens answer is cut short ({len(raw)} bytes)")
    length = int.from_bytes(raw[4 + WORD : 4 + 2 * WORD], "big")
    if len(raw) < 4 + 2 * WORD + length:
        raise AuditError(f"the lens answer says {length} bytes, carries {len(raw) - 4 - 2 * WORD}")
    return raw[4 + 2 * WORD : 4 + 2 * WORD + length]


def is_gas_refusal(error: Any) -> bool:
    """Whether an ``eth_call`` error is the node refusing it for gas."""
    text = str(error.get("message", "") if isinstance(error, dict) else error).lower()
    return "gas" in text


class Lens:
    """Runs batches of view calls through AuditLens; turns itself off on a node that refuses it."""

    def __init__(self, send: Send, gas_budget: int = GAS_BUDGET) -> None:
        self.send = send
        self.gas_budget = gas_budget
        self.enabled = True
        self.calls = 0  # lens eth_calls made
        self._code: bytes | None = None

    def _creation(self) -> bytes:
        if self._code is None:
            self._code = creation_code()
        return self._code

    def plan(self, names: Sequence[str], datas: Sequence[bytes]) -> list[tuple[int, int]]:
        """Consecutive ``[start, end)`` chunks under the gas budget and the creation-code limit."""
        room = INITCODE_LIMIT - len(self._creation()) - 3 * WORD
        chunks: list[tuple[int, int]] = []
        start, gas, size = 0, 0, 0
        for i, (name, data) in enumerate(zip(names, datas, strict=True)):
            cost, grow = GAS_PER_CALL.get(name, DEFAULT_GAS), call_size(data)
            if i > start and (gas + cost > self.gas_budget or size + grow > room):
                chunks.append((start, i))
                start, gas, size = i, 0, 0
            gas, size = gas + cost, size + grow
        if start < len(datas):
            chunks.append((start, len(datas)))
        return chunks

    def run(self, target: str, block: str, names: Sequence[str], datas: Sequence[bytes]) -> list[bytes | None] | None:
        """The return data of every call (None where a view failed or the lens could not run it);
        None for all when the node refuses the lens."""
        if not self.enabled:
            return None
        code = self._creation()
        out: list[bytes | None] = [None] * len(datas)
        pending = self.plan(names, datas)
        while pending:
            requests = [
                ("eth_call", [{"data": "0x" + (code + encode_arguments(target, datas[s:e])).hex()}, block])
                for s, e in pending
            ]
            self.calls += len(requests)
            retry: list[tuple[int, int]] = []
            for (s, e), response in zip(pending, self.send(requests), strict=True):
                error = response.get("error") if isinstance(response, dict) else response
                answer = lens_answer(error)
                if answer is not None:
                    out[s:e] = read_answer(answer, e - s)
                elif is_gas_refusal(error) and e - s > 1:
                    spent = sum(GAS_PER_CALL.get(n, DEFAULT_GAS) for n in names[s:e])
                    self.gas_budget = max(1, min(self.gas_budget, spent // 2))
                    mid = (s + e) // 2
                    retry += [(s, mid), (mid, e)]
                elif not is_gas_refusal(error):
                    log.info("the node refuses the lens call (%s); reading views with plain calls", str(error)[:200])
                    self.enabled = False
                    return None
            pending = retry
        return out
