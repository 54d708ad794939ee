"""The catalogue of audit events: their ABI, topic0 and the eth-abi types that encode them.

The catalogue is built from the ledger's ABI (``pylender/artifacts/CoLendingLedger.json`` by
default), so the audit tools follow the contract's interface instead of restating it. An event
is an *audit event* when its last input is named ``head`` and is one word (``bytes32`` or ``uint256``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from eth_utils import keccak

from pylender.errors import AuditError, InvalidAbi

LEDGER_ARTIFACT = "CoLendingLedger.json"


def canonical_type(param: Mapping[str, Any]) -> str:
    """The canonical ABI type of one parameter, tuples expanded (``(address,uint16)[]``)."""
    typ = str(param["type"])
    if typ.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){typ[len('tuple') :]}"
    return typ


@dataclass(frozen=True)
class Param:
    """One event input: its name, canonical type, whether it is indexed, and its raw ABI entry."""

    name: str
    type: str
    indexed: bool
    abi: Mapping[str, Any]


@dataclass(frozen=True)
class EventSpec:
    """One audit event: name, inputs in declaration order, signature and topic0."""

    name: str
    inputs: tuple[Param, ...]

    @cached_property
    def signature(self) -> str:
        return f"{self.name}({','.join(p.type for p in self.inputs)})"

    @cached_property
    def topic0(self) -> bytes:
        return keccak(text=self.signature)

    @property
    def args(self) -> tuple[Param, ...]:
        """The inputs hashed into the chain: every input except the trailing ``head``."""
        return self.inputs[:-1]

    @property
    def indexed(self) -> tuple[Param, ...]:
        return tuple(p for p in self.inputs if p.indexed)

    @property
    def unindexed(self) -> tuple[Param, ...]:
        return tuple(p for p in self.inputs if not p.indexed)

    @classmethod
    def from_abi(cls, entry: Mapping[str, Any]) -> EventSpec:
        inputs = tuple(
            Param(name=str(i["name"]), type=canonical_type(i), indexed=bool(i.get("indexed", False)), abi=i)
            for i in entry["inputs"]
        )
        return cls(name=str(entry["name"]), inputs=inputs)


def _is_audit_event(entry: Mapping[str, Any]) -> bool:
    inputs = entry.get("inputs") or []
    return (
        entry.get("type") == "event"
        and not entry.get("anonymous", False)
        and bool(inputs)
        and inputs[-1].get("name") == "head"
        and inputs[-1].get("type") in ("bytes32", "uint256")
    )


class EventCatalog:
    """Every audit event of one ABI, looked up by name or by topic0."""

    def __init__(self, specs: Iterable[EventSpec]) -> None:
        self._by_name: dict[str, EventSpec] = {}
        self._by_topic: dict[bytes, EventSpec] = {}
        for spec in specs:
            self._by_name[spec.name] = spec
            self._by_topic[spec.topic0] = spec
        if not self._by_name:
            raise InvalidAbi("the ABI has no audit event (an event whose last input is `bytes32 head`)")

    @classmethod
    def from_abi(cls, abi: Iterable[Mapping[str, Any]]) -> EventCatalog:
        return cls(EventSpec.from_abi(e) for e in abi if _is_audit_event(e))

    @classmethod
    def from_file(cls, path: str | Path) -> EventCatalog:
        """From a JSON file holding either an ABI list or an artifact object with an ``abi`` key."""
        data = json.loads(Path(path).read_text())
        return cls.from_abi(data["abi"] if isinstance(data, dict) else data)

    @classmethod
    def default(cls) -> EventCatalog:
        """The shipped ledger artifact's audit events."""
        try:
            ref = resources.files("pylender.artifacts").joinpath(LEDGER_ARTIFACT)
            text = ref.read_text()
        except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
            raise AuditError(
                f"no ledger ABI: pylender/artifacts/{LEDGER_ARTIFACT} is missing "
                "(run `python -m tools.artifacts`, or pass an ABI file)"
            ) from exc
        data = json.loads(text)
        return cls.from_abi(data["abi"] if isinstance(data, dict) else data)

    def by_name(self, name: str) -> EventSpec:
        try:
            return self._by_name[name]
        except KeyError:
            raise AuditError(f"unknown audit event {name!r}") from None

    def by_topic(self, topic0: bytes) -> EventSpec | None:
        return self._by_topic.get(bytes(topic0))

    @property
    def topics(self) -> list[bytes]:
        return list(self._by_topic)

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    def abi(self) -> list[dict[str, Any]]:
        """The catalogue as a JSON ABI (embedded in JSON exports)."""
        return [
            {"type": "event", "name": s.name, "anonymous": False, "inputs": [dict(p.abi) for p in s.inputs]}
            for s in self._by_name.values()
        ]
