"""What the statement tests share: the shipped 90-day reconciliation scenario run on an embedded anvil (the
``ninety`` fixture in conftest.py), and the contract's own ``accountOf`` at any block, read with plain web3. A
module of its own name, not conftest, so that it imports beside the other test folders' conftest modules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from pylender.artifacts import LEDGER, load
from pylender.client.node import find_anvil
from pylender.client.session import Pylender
from pylender.errors import ToolchainError
from pylender.scenarios.runner import RunResult, run_scenario
from pylender.scenarios.schema import GENESIS_TIMESTAMP, Scenario
from pylender.scenarios.schema import load as load_scenario

ROOT = Path(__file__).resolve().parents[2]
NINETY_DAYS = ROOT / "scenarios" / "reconciliation-90-days.yaml"


def anvil_or_skip() -> None:
    try:
        find_anvil()
    except ToolchainError as exc:
        pytest.skip(f"anvil not installed: {exc}")


@dataclass
class Ninety:
    """The scenario, its run and the chain it ran on (still running)."""

    scenario: Scenario
    result: RunResult
    session: Pylender

    @property
    def w3(self) -> Web3:
        return self.session.w3

    @property
    def ledger(self) -> str:
        return self.result.ledger

    def account_at(self, address: str, block: int) -> tuple[int, int, int, int]:
        """``accountOf(address)`` at ``block``: (withdrawable, reserve, loss, exposure)."""
        return account_at(self.w3, self.ledger, address, block)


def account_at(w3: Web3, ledger: str, address: str, block: int) -> tuple[int, int, int, int]:
    contract = w3.eth.contract(address=Web3.to_checksum_address(ledger), abi=load(LEDGER).abi)
    view: Any = contract.functions.accountOf(address).call(block_identifier=block)
    return (int(view[2]), int(view[3]), int(view[4]), int(view[5]))


def run_ninety() -> Iterator[Ninety]:
    """The 90-day scenario run on a fresh anvil with the scenarios' fixed genesis time (2026-01-01T00:00:00Z)."""
    anvil_or_skip()
    scenario = load_scenario(NINETY_DAYS)
    with Pylender.local(timestamp=GENESIS_TIMESTAMP, accounts=10) as session:
        result = run_scenario(scenario, session)
        yield Ninety(scenario, result, session)
