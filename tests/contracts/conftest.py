"""Fixtures of the ledger contract tests: roles, token, ledger, registered institutions, a loan factory and the
conservation check (docs/ledger-spec.md, "Conservation") that every test runs after every action.

Run with ``ape test tests/contracts`` (py-evm in process). Deployments are session-scoped; ape isolates each test
with a chain snapshot, so every test starts from the same registered ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ape.contracts import ContractContainer
from ethpm_types import ContractType
from ledger_expect import DAY, PERIOD, check_conservation, policy_tuple

from pylender import artifacts

UNIT = 10**6  # TestStablecoin has 6 decimals
ZERO = "0x0000000000000000000000000000000000000000"
BORROWER_ID = b"\x11" * 32


@pytest.fixture(scope="session")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def originator(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def servicer(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def pauser(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def bank(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def platform(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def borrower(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def stranger(accounts):
    return accounts[7]


@pytest.fixture(scope="session")
def third(accounts):
    """A third lender (a platform institution) for three-tranche loans."""
    return accounts[8]


@pytest.fixture(scope="session")
def outsider(accounts):
    """An account that is never registered."""
    return accounts[9]


@pytest.fixture(scope="session")
def token(project, admin):
    return admin.deploy(project.TestStablecoin)


def _container(art: artifacts.Artifact, code: str) -> ContractContainer:
    return ContractContainer(
        ContractType.model_validate(
            {"contractName": art.name, "abi": art.abi, "deploymentBytecode": {"bytecode": code}}
        )
    )


def deploy_ledger(deployer, token, policy: tuple, admin=None):
    """The ledger as pylender deploys it: its linked libraries first, their addresses spliced into its bytecode.
    ``admin`` defaults to the deployer."""
    code, _ = artifacts.link_with_libraries(
        artifacts.LEDGER, lambda art, lib_code: deployer.deploy(_container(art, lib_code)).address
    )
    admin = deployer if admin is None else admin
    return deployer.deploy(_container(artifacts.load(artifacts.LEDGER), code), token, admin, policy)


@pytest.fixture(scope="session")
def ledger(project, admin, token, originator, servicer, pauser):
    contract = deploy_ledger(admin, token, policy_tuple())
    contract.grantRole(contract.ORIGINATOR_ROLE(), originator, sender=admin)
    contract.grantRole(contract.SERVICER_ROLE(), servicer, sender=admin)
    contract.grantRole(contract.PAUSER_ROLE(), pauser, sender=admin)
    return contract


@pytest.fixture(scope="session")
def institutions(ledger, token, admin, bank, platform, third, borrower, servicer, stranger):
    """bank (index 1, not a platform), platform (2), third (3, platform); everyone funded and approved."""
    ledger.registerInstitution(bank, "Bank", False, sender=admin)
    ledger.registerInstitution(platform, "Platform", True, sender=admin)
    ledger.registerInstitution(third, "Third", True, sender=admin)
    for who in (bank, platform, third, borrower, servicer, stranger):
        token.mint(who, 100_000_000 * UNIT, sender=admin)
        token.approve(ledger, 2**256 - 1, sender=who)
    return {"bank": bank, "platform": platform, "third": third}


@pytest.fixture(scope="session")
def conserve(ledger, token, institutions) -> Callable[[], None]:
    """Asserts the conservation equation exactly."""

    def _check() -> None:
        check_conservation(ledger, token)

    return _check


def make_terms(default_borrower, **overrides: Any) -> dict[str, Any]:
    """LoanTerms as a dict with test defaults (12 monthly equal installments at 12 %, grace 3 days)."""
    terms = {
        "borrower": default_borrower.address,
        "borrowerId": BORROWER_ID,
        "principal": 1_000_000,
        "annualRateBps": 1200,
        "periods": 12,
        "periodSeconds": PERIOD,
        "method": 0,
        "gracePeriod": 3 * DAY,
        "penaltyRateBps": 1800,
        "prepaymentFeeBps": 0,
        "serviceFeeBps": 0,
        "feeRecipient": ZERO,
        "reserveBps": 0,
        "fundingDeadline": 0,  # filled in from the chain
    }
    terms.update(overrides)
    return terms


def terms_tuple(terms: dict[str, Any]) -> tuple:
    keys = (
        "borrower",
        "borrowerId",
        "principal",
        "annualRateBps",
        "periods",
        "periodSeconds",
        "method",
        "gracePeriod",
        "penaltyRateBps",
        "prepaymentFeeBps",
        "serviceFeeBps",
        "feeRecipient",
        "reserveBps",
        "fundingDeadline",
        "loanRef",
    )
    return tuple(terms.get(k, b"\x00" * 32) if k == "loanRef" else terms[k] for k in keys)


@pytest.fixture
def new_terms(chain, borrower) -> Callable[..., dict[str, Any]]:
    def _new(**overrides: Any) -> dict[str, Any]:
        overrides.setdefault("fundingDeadline", chain.pending_timestamp + 7 * DAY)
        return make_terms(borrower, **overrides)

    return _new


@pytest.fixture
def originate(ledger, originator, new_terms, bank, platform) -> Callable[..., int]:
    """Originates a loan (default: 70/30 bank/platform) and returns its id."""

    def _originate(tranches=None, sender=None, **overrides: Any) -> int:
        tranches = tranches if tranches is not None else [(bank, 7000), (platform, 3000)]
        terms = new_terms(**overrides)
        ledger.originate(
            terms_tuple(terms),
            [(a.address if hasattr(a, "address") else a, s) for a, s in tranches],
            sender=sender or originator,
        )
        return ledger.loanCount()

    return _originate


@pytest.fixture
def make_loan(ledger, originator, originate, conserve, accounts) -> Callable[..., int]:
    """Originates, funds every tranche and (by default) disburses a loan; returns its id."""

    def _make(tranches=None, disburse: bool = True, **overrides: Any) -> int:
        loan_id = originate(tranches=tranches, **overrides)
        for tranche in ledger.getTranches(loan_id):
            ledger.fund(loan_id, sender=accounts[tranche.lender])
            conserve()
        if disburse:
            ledger.disburse(loan_id, sender=originator)
            conserve()
        return loan_id

    return _make
