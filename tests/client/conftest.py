"""Fixtures of the client tests: one embedded anvil for the session, a fresh ledger per module,
and an EVM snapshot around every test so tests never see each other's transactions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from client_helpers import UNIT
from eth_account.signers.local import LocalAccount

from pylender.client.ledger import Ledger
from pylender.client.session import Pylender
from pylender.values import Deployment


@pytest.fixture(scope="session")
def chain() -> Iterator[Pylender]:
    """The session's embedded anvil (stopped at the end of the session)."""
    with Pylender.local(accounts=10) as session:
        yield session


@pytest.fixture(scope="session")
def rpc_url(chain: Pylender) -> str:
    assert chain.url is not None
    return chain.url


@pytest.fixture(scope="session")
def accounts(chain: Pylender) -> dict[str, LocalAccount]:
    names = ("admin", "bank", "platform", "servicer", "outsider", "borrower", "borrower2")
    return {name: chain.account(i) for i, name in enumerate(names)}


@pytest.fixture(scope="session")
def deployment(chain: Pylender, accounts: dict[str, LocalAccount]) -> Deployment:
    """Token + ledger with the bank and the platform registered and funded, the borrowers holding tokens."""
    ledger = chain.deploy(servicer=accounts["servicer"].address)
    ledger.register_institution(accounts["bank"], "Bank of Example", is_platform=False)
    ledger.register_institution(accounts["platform"], "Example Platform", is_platform=True)
    for name in ("bank", "platform", "servicer", "borrower"):
        ledger.mint(accounts[name], 1_000_000 * UNIT)
    return ledger.deployment


@pytest.fixture()
def ledger(chain: Pylender, deployment: Deployment) -> Iterator[Ledger]:
    """A fresh client (new nonce and allowance caches) inside an EVM snapshot reverted afterwards."""
    snapshot = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield chain.ledger(deployment)
    finally:
        chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
