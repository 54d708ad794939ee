"""The ledger's deployment stays deployable with room to grow (docs/ledger-spec.md, "Build"): every contract it
puts on chain - the ledger and its linked libraries - under 21,000 runtime bytes and 42,000 initcode bytes, well
inside EIP-170 (24,576) and EIP-3860 (49,152); one stateful contract, no extension reached by forwarding stubs."""

from __future__ import annotations

import ape
import pytest

from bench.sizes import INITCODE_LIMIT, RUNTIME_LIMIT, measure_sizes
from pylender import artifacts as contracts

DEPLOYED = [contracts.LEDGER, *contracts.deployment_order(contracts.LEDGER)]


@pytest.mark.parametrize("name", DEPLOYED)
def test_every_runtime_and_initcode_is_within_the_limits(name):
    [size] = [s for s in measure_sizes() if s.name == name]
    assert size.runtime <= RUNTIME_LIMIT, f"{name}: {size.runtime:,} runtime bytes > {RUNTIME_LIMIT:,}"
    assert size.initcode <= INITCODE_LIMIT, f"{name}: {size.initcode:,} initcode bytes > {INITCODE_LIMIT:,}"


def test_the_code_on_chain_is_the_shipped_code_and_within_the_limit(ledger):
    """What the chain holds (libraries linked in) is as long as the artifact's runtime, and under the limit."""
    code = ape.chain.provider.web3.eth.get_code(ledger.address)
    assert len(code) == (len(contracts.load(contracts.LEDGER).deployed_bytecode) - 2) // 2
    assert len(code) <= RUNTIME_LIMIT


def test_the_ledger_is_one_stateful_contract_with_linked_libraries():
    """No extension: the libraries are reached by named, compiler-checked calls, not by forwarding stubs."""
    abi_names = {item.get("name") for item in contracts.load(contracts.LEDGER).abi}
    assert not abi_names & {"EXTENSION", "extensionView", "NotSelfCall"}
    assert "LedgerExtension" not in contracts.available()
    assert sorted(DEPLOYED[1:]) == [
        "Closure",
        "CreditRisk",
        "Funding",
        "Institutions",
        "LoanViews",
        "Origination",
        "Policy",
        "Prepayment",
    ]
