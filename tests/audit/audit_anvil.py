"""A throw-away anvil with the ledger deployed from the shipped artifacts, driven with plain web3.

The driver uses anvil's unlocked dev accounts (``eth_sendTransaction``) and sets block timestamps
explicitly, so every amount of the scenario is deterministic.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from pylender.artifacts import link_with_libraries, load
from pylender.values import PAY_ALL_DUE, PolicyParams

ANVIL = Path(__file__).resolve().parents[2] / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
DAY = 86_400
START = 1_900_000_000  # genesis timestamp: fixed so that every penalty is deterministic
POLICY = PolicyParams().to_abi()  # the deploy defaults (6 decimals)
ZERO = "0x" + "00" * 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def anvil() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start anvil on a free port; always stopped (by its own pid) on exit."""
    port = free_port()
    proc = subprocess.Popen(
        [
            str(ANVIL),
            "--port",
            str(port),
            "--silent",
            "--code-size-limit",
            "100000",
            "--timestamp",
            str(START),
            "--chain-id",
            "31337",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        w3 = Web3(HTTPProvider(url))
        for _ in range(200):
            try:
                if w3.eth.block_number >= 0:
                    break
            except Exception:  # not listening yet
                time.sleep(0.05)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class InterruptingProvider(HTTPProvider):
    """An HTTP provider that dies (like Ctrl-C) on its n-th eth_getLogs and records every log query."""

    def __init__(self, url: str, interrupt_at: int | None = None) -> None:
        super().__init__(url)
        self.interrupt_at = interrupt_at
        self.queries: list[tuple[int, int]] = []
        self.logs_served = 0

    def make_request(self, method: Any, params: Any) -> Any:
        if method == "eth_getLogs":
            self.queries.append((int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)))
            if self.interrupt_at is not None and len(self.queries) == self.interrupt_at:
                raise KeyboardInterrupt
        response = super().make_request(method, params)
        if method == "eth_getLogs":
            self.logs_served += len(response.get("result") or [])
        return response


@dataclass
class Chain:
    """The deployed token and ledger, with named dev accounts."""

    w3: Web3
    token: Contract
    ledger: Contract
    admin: str
    bank: str
    platform: str
    borrower: str
    servicer: str
    deploy_block: int
    now: int = START

    def send(self, fn: Any, sender: str) -> Any:
        tx = fn.transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt["status"] == 1, receipt
        return receipt

    def at(self, timestamp: int) -> None:
        """Views now see ``timestamp`` and the next transaction runs at it too (an empty block is mined)."""
        self.w3.provider.make_request("evm_mine", [timestamp])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
        self.now = timestamp

    def terms(self, principal: int, rate: int, periods: int, method: int, fee_bps: int, reserve_bps: int) -> tuple:
        fee_to = self.platform if fee_bps else ZERO
        return (
            self.borrower,
            keccak(text="borrower-1"),
            principal,
            rate,
            periods,
            30 * DAY,
            method,
            3 * DAY,
            1800,
            100,
            fee_bps,
            fee_to,
            reserve_bps,
            START + 400 * DAY,
            bytes(32),
        )


def _deploy(w3: Web3, name: str, sender: str, *args: Any) -> Contract:
    """Deploys ``name`` (its linked libraries first, as pylender does)."""

    def deploy_code(art: Any, code: str, *ctor_args: Any) -> str:
        factory = w3.eth.contract(abi=art.abi, bytecode=code)
        receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(*ctor_args).transact({"from": sender}))
        return str(receipt["contractAddress"])

    art = load(name)
    code, _ = link_with_libraries(name, deploy_code)
    return w3.eth.contract(address=deploy_code(art, code, *args), abi=art.abi)


def deploy(url: str) -> Chain:
    w3 = Web3(HTTPProvider(url))
    admin, bank, platform, borrower, servicer = w3.eth.accounts[:5]
    token = _deploy(w3, "TestStablecoin", admin)
    ledger = _deploy(w3, "CoLendingLedger", admin, token.address, admin, POLICY)
    chain = Chain(w3, token, ledger, admin, bank, platform, borrower, servicer, w3.eth.block_number)
    for role, who in (("ORIGINATOR_ROLE", admin), ("SERVICER_ROLE", servicer), ("PAUSER_ROLE", admin)):
        chain.send(ledger.functions.grantRole(keccak(text=role), who), admin)
    for who in (bank, platform, borrower, servicer):
        chain.send(token.functions.mint(who, 10_000_000 * 10**6), admin)
        chain.send(token.functions.approve(ledger.address, 2**256 - 1), who)
    return chain


def scenario(c: Chain) -> None:
    """Three loans: one closed (with a prepayment), one defaulted, written off and recovered, one cancelled."""
    L = c.ledger.functions
    c.send(L.registerInstitution(c.bank, "Bank", False), c.admin)
    c.send(L.registerInstitution(c.platform, "Platform", True), c.admin)
    c.send(L.setPolicy(POLICY), c.admin)
    # loan 1: bank 70 % (lead) + platform 30 %, 4 equal installments, 10 % fee to the platform, 5 % reserve
    c.send(L.originate(c.terms(1_000_003, 1200, 4, 0, 1000, 500), [(c.bank, 7000), (c.platform, 3000)]), c.admin)
    c.send(L.fund(1), c.bank)
    c.send(L.fund(1), c.platform)
    c.at(START + DAY)
    c.send(L.disburse(1), c.admin)
    disbursed = START + DAY
    c.at(disbursed + 30 * DAY)
    c.send(L.repay(1, PAY_ALL_DUE), c.borrower)
    c.at(disbursed + 45 * DAY)
    c.send(L.prepay(1, 300_000), c.borrower)  # at least installment 2's scheduled principal (248,762)
    c.at(disbursed + 90 * DAY + 5 * DAY)  # installment 3 (prepay completed 2) paid late, after grace: penalty
    c.send(L.repayBatch([1], [PAY_ALL_DUE]), c.servicer)
    c.at(disbursed + 120 * DAY)
    c.send(L.repay(1, PAY_ALL_DUE), c.borrower)
    assert L.getLoan(1).call()[0] == 4  # Closed
    # loan 2: facilitation, bank alone, interest first, 20 % fee; defaults, written off, recovered
    c.send(L.originate(c.terms(500_000, 1800, 3, 2, 2000, 1000), [(c.bank, 10_000)]), c.admin)
    c.send(L.fund(2), c.bank)
    c.at(c.now + DAY)
    c.send(L.disburse(2), c.admin)
    disbursed2 = c.now
    c.at(disbursed2 + 30 * DAY)
    c.send(L.repay(2, PAY_ALL_DUE), c.borrower)
    c.send(L.pause(), c.admin)
    c.send(L.unpause(), c.admin)
    c.at(disbursed2 + 60 * DAY + 3 * DAY + 90 * DAY)
    c.send(L.markDefault(2), c.servicer)
    c.send(L.writeOff(2), c.servicer)
    c.send(L.recover(2, 123_457), c.servicer)
    # loan 3: platform 30 % funded, then cancelled by the originator
    c.send(L.originate(c.terms(300_000, 1000, 2, 1, 0, 0), [(c.bank, 7000), (c.platform, 3000)]), c.admin)
    c.send(L.fund(3), c.platform)
    c.send(L.cancel(3), c.admin)
    c.send(L.withdraw(), c.platform)
