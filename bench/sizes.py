"""Code sizes of every contract a deployment puts on chain: the ledger and its linked libraries, and a loan pool
with its class tokens (one pool per arranger's pool; the pool creates its two class tokens).

EIP-170 caps a runtime at 24,576 bytes and EIP-3860 an initcode (creation code and constructor arguments) at
49,152. The goals keep every contract below 21,000 and 42,000 bytes, so that the ledger can grow by its next
features without becoming undeployable.
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import collapse_if_tuple
from pydantic import BaseModel

from pylender import artifacts as contracts

RUNTIME_LIMIT = 21_000
INITCODE_LIMIT = 42_000
EIP170 = 24_576
EIP3860 = 49_152


class CodeSize(BaseModel):
    """One deployed contract: runtime bytes (its code on chain) and initcode bytes (creation code + arguments)."""

    name: str
    runtime: int
    initcode: int


def _constructor_args_size(art: contracts.Artifact) -> int:
    ctor = next((item for item in art.abi if item.get("type") == "constructor"), None)
    if ctor is None:
        return 0
    types = [collapse_if_tuple(p) for p in ctor.get("inputs", [])]
    return len(encode(types, [_zero(t) for t in types]))


def _zero(abi_type: str) -> object:
    if abi_type.startswith("("):
        return tuple(_zero(t) for t in _split(abi_type[1:-1]))
    if abi_type == "string":
        return ""
    return "0x" + "00" * 20 if abi_type == "address" else 0


def _split(inner: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    return [*parts, inner[start:]] if inner else parts


def measure_sizes() -> list[CodeSize]:
    """The ledger and each library it links, from the shipped artifacts (link placeholders are 20 bytes, like
    the addresses that replace them)."""
    sizes = []
    pool = [n for n in (contracts.POOL, contracts.POOL_CLASS_TOKEN) if n in contracts.available()]
    for name in [contracts.LEDGER, *contracts.deployment_order(contracts.LEDGER), *pool]:
        art = contracts.load(name)
        runtime = (len(art.deployed_bytecode) - 2) // 2
        initcode = (len(art.bytecode) - 2) // 2 + _constructor_args_size(art)
        sizes.append(CodeSize(name=name, runtime=runtime, initcode=initcode))
    return sizes
