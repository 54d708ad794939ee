"""The compiled contracts, shipped as package data.

``pylender/artifacts/<Name>.json`` (written by ``make artifacts``, from a fresh compile of ``contracts/``) hold
``abi`` and ``bytecode``; they load through :mod:`importlib.resources`, so the client needs no compiler. The
custom errors of these ABIs are the contract error classes of :mod:`pylender.errors`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from pylender.errors import ArtifactNotFound

log = logging.getLogger(__name__)

LEDGER = "CoLendingLedger"
TOKEN_CANDIDATES = ("TestStablecoin", "TestToken", "MockERC20", "TestERC20", "MockStablecoin")


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
