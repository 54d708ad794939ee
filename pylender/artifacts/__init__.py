"""Compiled contracts shipped as package data, and the decoding of their custom errors.

``pylender/artifacts/<Name>.json`` (written by ``python -m tools.artifacts``) hold
``abi`` and ``bytecode``; they load through :mod:`importlib.resources`, so the client needs no
compiler. :class:`ErrorDecoder` maps every error selector found in the ABIs to a named exception
class of :mod:`pylender.errors`, built generically from the ABI's ``error`` entries.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from pylender.errors import ArtifactNotFound, ContractError, error_class

log = logging.getLogger(__name__)

ARTIFACTS_PACKAGE = "pylender.artifacts"
ENV_ARTIFACTS = "PYLENDER_ARTIFACTS"
LEDGER = "CoLendingLedger"
TOKEN_CANDIDATES = ("TestStablecoin", "TestToken", "MockERC20", "TestERC20", "MockStablecoin")

PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


@dataclass(frozen=True)
class Artifact:
    """One shipped contract: name, ABI and creation bytecode."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    source: str = ""
    deployed_bytecode: str = field(default="", repr=False)

    def function(self, name: str) -> dict[str, Any]:
        for item in self.abi:
            if item.get("type") == "function" and item.get("name") == name:
                return item
        raise KeyError(f"{self.name} has no function {name}")


def _root() -> Any:
    """The artifacts folder: ``$PYLENDER_ARTIFACTS`` if set, else the package data."""
    override = os.environ.get(ENV_ARTIFACTS)
    if override:
        return Path(override)
    return resources.files(ARTIFACTS_PACKAGE)


def available() -> list[str]:
    """Names of the shipped artifacts."""
    try:
        root = _root()
        return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))
    except (ModuleNotFoundError, FileNotFoundError):
        return []


@cache
def load(name: str) -> Artifact:
    """The artifact ``name``; :class:`ArtifactNotFound` with the fix if it is missing."""
    try:
        text = _root().joinpath(f"{name}.json").read_text()
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise ArtifactNotFound(
            f"no compiled artifact for {name} in pylender/artifacts (have: {', '.join(available()) or 'none'}); "
            "run `python -m tools.artifacts` (make artifacts)"
        ) from exc
    data = json.loads(text)
    return Artifact(
        name=data.get("contractName", name),
        abi=data["abi"],
        bytecode=data["bytecode"],
        source=data.get("source", ""),
        deployed_bytecode=data.get("deployedBytecode", ""),
    )


def token_artifact() -> Artifact:
    """The test stablecoin shipped for local chains (the first candidate name that exists)."""
    names = available()
    for candidate in TOKEN_CANDIDATES:
        if candidate in names:
            return load(candidate)
    for name in names:
        art = load(name)
        fns = {i.get("name") for i in art.abi if i.get("type") == "function"}
        if {"mint", "transfer", "approve", "decimals"} <= fns and name != LEDGER:
            return art
    raise ArtifactNotFound(f"no mintable test token among the artifacts ({', '.join(names) or 'none'})")


# -- error decoding ------------------------------------------------------------------------------


def _canonical_type(param: dict[str, Any]) -> str:
    t = param["type"]
    if t.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param.get("components", []))
        return f"({inner}){t[5:]}"
    return t


def _normalise(value: Any, param: dict[str, Any]) -> Any:
    t = param["type"]
    if t == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if t.endswith("]") and isinstance(value, (list, tuple)):
        inner = {**param, "type": t[: t.rindex("[")]}
        return [_normalise(v, inner) for v in value]
    return value


@dataclass(frozen=True)
class _ErrorSpec:
    name: str
    inputs: tuple[dict[str, Any], ...]

    @property
    def types(self) -> list[str]:
        return [_canonical_type(p) for p in self.inputs]

    @property
    def selector(self) -> bytes:
        return keccak(text=f"{self.name}({','.join(self.types)})")[:4]


_BUILTIN = [
    _ErrorSpec("Error", ({"name": "message", "type": "string"},)),
    _ErrorSpec("Panic", ({"name": "code", "type": "uint256"},)),
]


class ErrorDecoder:
    """Selector -> named exception, from the ``error`` entries of one or more ABIs."""

    def __init__(self, *abis: list[dict[str, Any]]) -> None:
        self._specs: dict[bytes, _ErrorSpec] = {s.selector: s for s in _BUILTIN}
        for abi in abis:
            self.add_abi(abi)

    def add_abi(self, abi: list[dict[str, Any]]) -> None:
        for item in abi:
            if item.get("type") != "error":
                continue
            spec = _ErrorSpec(item["name"], tuple(item.get("inputs", [])))
            self._specs[spec.selector] = spec
            names = tuple(p.get("name") or f"arg{i}" for i, p in enumerate(spec.inputs))
            error_class(spec.name, names)

    @property
    def names(self) -> list[str]:
        return sorted(s.name for s in self._specs.values())

    def decode(self, data: bytes | str | None) -> ContractError:
        """The exception for revert ``data`` (``0x``-hex or bytes); never returns raw hex alone."""
        raw = _to_bytes(data)
        if len(raw) < 4:
            return error_class("Error")(message="reverted without a reason")
        spec = self._specs.get(raw[:4])
        if spec is None:
            unknown = f"unknown custom error 0x{raw[:4].hex()} (not in the ledger or token ABI)"
            return error_class("Error")(message=unknown)
        try:
            values = abi_decode(spec.types, raw[4:])
        except Exception:
            return error_class(spec.name)(undecodable="0x" + raw[4:].hex())
        fields = {
            (p.get("name") or f"arg{i}"): _normalise(v, p)
            for i, (p, v) in enumerate(zip(spec.inputs, values, strict=True))
        }
        if spec.name == "Panic":
            code = int(fields["code"])
            return error_class("Panic")(code=hex(code), reason=PANIC_CODES.get(code, "unknown panic"))
        return error_class(spec.name)(**fields)


def _to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    text = data.strip()
    if text.startswith("0x") or text.startswith("0X"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""
