"""Fixtures of the reliability and security tests: ONE embedded anvil (pylender.client.node.LocalNode through the
client session) for the whole folder, one deployment with a distinct account per role, and an EVM snapshot
around every test. The run statistics (stateful-machine steps, ...) go to the terminal summary."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reliability_support import World, build_world, summary_lines

from pylender.client.ledger import Ledger
from pylender.client.session import Pylender


@pytest.fixture(scope="session")
def rel_session() -> Iterator[Pylender]:
    """The folder's embedded anvil (stopped at the end of the session)."""
    with Pylender.local(accounts=10) as session:
        yield session


@pytest.fixture(scope="session")
def world(rel_session: Pylender) -> World:
    return build_world(rel_session)


@pytest.fixture()
def fresh(world: World) -> Iterator[World]:
    """The world inside an EVM snapshot that is reverted after the test."""
    snapshot = world.rpc("evm_snapshot")
    try:
        yield world
    finally:
        world.rpc("evm_revert", [snapshot])


@pytest.fixture()
def ledger(fresh: World) -> Ledger:
    return fresh.client()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = summary_lines()
    if lines:
        terminalreporter.write_sep("=", "pylender reliability")
        for line in lines:
            terminalreporter.write_line(line)
