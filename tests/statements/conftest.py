"""Fixtures of the statement tests (their helpers are in statement_chain)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from statement_chain import Ninety, run_ninety


@pytest.fixture(scope="session")
def ninety() -> Iterator[Ninety]:
    """The 90-day scenario run on a fresh anvil with the scenarios' fixed genesis time (2026-01-01T00:00:00Z)."""
    yield from run_ninety()
