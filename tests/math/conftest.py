"""Fixtures of the schedule-math tests: the ScheduleMath harness compiled with py-solc-x and deployed in process.

Compiled directly (standard JSON, only the two files it needs), not through `ape compile`, so contracts other
engineers are still writing can never break these tests.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("contracts/libraries/ScheduleMath.sol", "contracts/test/ScheduleMathHarness.sol")


def _compile_harness() -> tuple[list, str]:
    import solcx

    oz = REPO / "node_modules" / "@openzeppelin" / "contracts"
    standard_json = {
        "language": "Solidity",
        "sources": {name: {"content": (REPO / name).read_text()} for name in SOURCES},
        "settings": {
            "remappings": [f"@openzeppelin/contracts/={oz}/"],
            "evmVersion": "london",  # the portable build (docs/ledger-spec.md, "Build")
            "optimizer": {"enabled": True, "runs": 200},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    out = solcx.compile_standard(standard_json, solc_version="0.8.28", allow_paths=[str(oz)])
    errors = [e["formattedMessage"] for e in out.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors
    harness = out["contracts"]["contracts/test/ScheduleMathHarness.sol"]["ScheduleMathHarness"]
    return harness["abi"], harness["evm"]["bytecode"]["object"]


class Reverted(Exception):
    """The harness call reverted; ``data`` is the raw revert data (panic or custom error)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data.hex())
        self.data = data


class Harness:
    """Calls the deployed harness through eth-tester directly, which keeps the raw revert data of custom errors
    (web3's eth-tester provider turns them into a message string)."""

    Reverted = Reverted

    def __init__(self, contract: Any, tester: Any) -> None:
        self._contract = contract
        self._tester = tester
        self._caller = tester.get_accounts()[0]

    def call(self, fn_name: str, *args: Any) -> Any:
        from eth_abi import decode
        from eth_tester.exceptions import TransactionFailed

        fn = self._contract.get_function_by_name(fn_name)
        data = self._contract.encode_abi(fn_name, args)
        try:
            raw = self._tester.call({"from": self._caller, "to": self._contract.address, "data": data}, "latest")
        except TransactionFailed as err:
            # eth-tester stores the revert data as the repr of the bytes object.
            reason = err.args[0]
            raise Reverted(reason if isinstance(reason, bytes) else ast.literal_eval(reason)) from err
        types = [output["type"] for output in fn.abi["outputs"]]
        values = decode(types, bytes.fromhex(raw.removeprefix("0x")))
        return values[0] if len(values) == 1 else list(values)


@pytest.fixture(scope="session")
def harness() -> Harness:
    """The deployed ScheduleMathHarness on an in-process eth-tester / py-evm chain."""
    from web3 import EthereumTesterProvider, Web3

    abi, bytecode = _compile_harness()
    provider = EthereumTesterProvider()
    w3 = Web3(provider)
    deployer = w3.eth.accounts[0]
    tx = w3.eth.contract(abi=abi, bytecode=bytecode).constructor().transact({"from": deployer})
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    return Harness(w3.eth.contract(address=address, abi=abi), provider.ethereum_tester)
