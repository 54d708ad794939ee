"""The compiled contracts, shipped as package data.

``pylender/artifacts/<Name>.json`` (written by ``make artifacts``, from a fresh compile of ``contracts/``) hold
``abi`` and ``bytecode``; they load through :mod:`importlib.resources`, so the client needs no compiler. The
custom errors of these ABIs are the contract error classes of :mod:`pylender.errors`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from eth_utils import to_checksum_address

from pylender.errors import ArtifactNotFound

log = logging.getLogger(__name__)

LEDGER = "CoLendingLedger"
POOL = "LoanPool"  # a loan pool (one per pool; not linked)
POOL_CLASS_TOKEN = "PoolClassToken"  # its senior and junior class tokens
TOKEN_CANDIDATES = ("TestStablecoin", "TestToken", "MockERC20", "TestERC20", "MockStablecoin")


@dataclass(frozen=True)
class Artifact:
    """One shipped contract: name, ABI and creation bytecode."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    source: str = ""
    deployed_bytecode: str = field(default="", repr=False)
    #: ``{source unit: {library name: [{"start", "length"}, ...]}}``: where linked library addresses go.
    link_references: dict[str, dict[str, list[dict[str, int]]]] = field(default_factory=dict, repr=False)

    @property
    def libraries(self) -> list[str]:
        """The names of the linked libraries this contract's bytecode calls."""
        return sorted({name for names in self.link_references.values() for name in names})

    def function(self, name: str) -> dict[str, Any]:
        for item in self.abi:
            if item.get("type") == "function" and item.get("name") == name:
                return item
        raise KeyError(f"{self.name} has no function {name}")


def _root() -> Any:
    """This package's folder (as :mod:`importlib.resources` reads it: also inside a zip)."""
    return resources.files(__name__)


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
            "rebuild them with `make artifacts` in a checkout of the repository"
        ) from exc
    data = json.loads(text)
    return Artifact(
        name=data.get("contractName", name),
        abi=data["abi"],
        bytecode=data["bytecode"],
        source=data.get("source", ""),
        deployed_bytecode=data.get("deployedBytecode", ""),
        link_references=data.get("linkReferences", {}),
    )


# -- linking ----------------------------------------------------------------------------------------


def deployment_order(name: str) -> list[str]:
    """The linked libraries that contract ``name`` needs, each after the libraries it needs itself."""
    order: list[str] = []

    def visit(current: str, path: tuple[str, ...]) -> None:
        for lib in load(current).libraries:
            if lib in path:
                raise ArtifactNotFound(f"library link cycle: {' -> '.join((*path, lib))}")
            if lib not in order:
                visit(lib, (*path, lib))
                order.append(lib)

    visit(name, (name,))
    return order


def link_with_libraries(name: str, deploy: Callable[[Artifact, str], str]) -> tuple[str, dict[str, str]]:
    """Deploys the libraries that contract ``name`` links, in order, and links ``name``'s creation bytecode.

    ``deploy(artifact, creation_code)`` deploys one library and returns its address (a web3 sender, an ape account,
    anything). Returns ``name``'s linked creation bytecode (constructor arguments still to append) and the library
    addresses by name.
    """
    addresses: dict[str, str] = {}
    for lib in deployment_order(name):
        art = load(lib)
        addresses[lib] = to_checksum_address(deploy(art, link(art, addresses)))
    return link(load(name), addresses), addresses


def link(art: Artifact, addresses: dict[str, str]) -> str:
    """``art``'s creation bytecode with every linked library's address in place (``addresses``: name -> address).

    Raises :class:`ArtifactNotFound` naming the libraries that have no address.
    """
    code = art.bytecode[2:] if art.bytecode.startswith("0x") else art.bytecode
    missing = [lib for lib in art.libraries if lib not in addresses]
    if missing:
        raise ArtifactNotFound(f"{art.name} links {', '.join(missing)}: deploy them first (no address given)")
    chars = list(code)
    for names in art.link_references.values():
        for lib, refs in names.items():
            address = addresses[lib].lower().removeprefix("0x")
            if len(address) != 40:
                raise ArtifactNotFound(f"bad address for library {lib}: {addresses[lib]!r}")
            for ref in refs:
                start = ref["start"] * 2
                chars[start : start + ref["length"] * 2] = address
    return "0x" + "".join(chars)


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
