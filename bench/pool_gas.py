"""Gas of a loan pool (docs/ledger-spec.md, "Loan pools"): subscribe, buy, a distribution over the positions of
``POOL_LOANS`` loans, claims and a class-token transfer, on a chain of their own.

The pool is driven with raw calls encoded from its shipped ABI (the client's pool wrapper is not needed to
measure it): ``POOL_LOANS`` loans with 2 lenders are opened, the second lender offers its 5,000 bps of each to the
pool at ``POOL_PRICE``, the arranger buys them all, every loan pays one installment (repayBatch), and the pool
distributes once: one ledger withdrawal whatever the number of loans.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from bench.chain import ADMIN, MONTH, PAYER_B, PAYER_C, UNIT, BenchChain, LoanPlan
from pylender import artifacts
from pylender.client.tx import Call
from pylender.values import DAY

POOL_LOANS = 100
POOL_BPS = 5_000  # the second lender's whole share of each 12,000-token loan
POOL_PRICE = 6_000 * UNIT
POOL_COUPON_BPS = 600
POOL_MIN_JUNIOR_BPS = 2_000
SENIOR, JUNIOR = 0, 1
POOL_OPERATIONS = (
    "pool subscribe",
    "pool buy (first)",
    "pool buy",
    f"pool distribute (first, {POOL_LOANS} loans)",
    f"pool distribute ({POOL_LOANS} loans)",
    "pool claim (first)",
    "pool claim",
    "class-token transfer",
)


def _call(to: str, signature: str, types: list[str], *args: Any) -> Call:
    data = keccak(text=signature)[:4] + encode(types, list(args))
    return Call(to=to, data="0x" + data.hex(), label=signature.split("(")[0])


def _deploy_pool(chain: BenchChain, terms: tuple[int, int, int, int]) -> str:
    art = artifacts.load("LoanPool")
    args = encode(
        ["address", "address", "(uint16,uint16,uint40,uint40)", "string"],
        [chain.ledger.address, chain.account(ADMIN).address, terms, "Bench pool"],
    )
    receipt = chain.ledger.sender().deploy(art.bytecode + args.hex(), "LoanPool")
    return to_checksum_address(receipt.contract_address or "")


def measure_pool_gas(tick: Callable[[str], None]) -> dict[str, int]:
    """Gas of each pool operation; the rows without "(first)" are steady state (second calls: the slots they
    write are already non-zero), as the ledger's rows."""
    gas: dict[str, int] = {}
    with BenchChain.start() as chain:
        lg = chain.ledger
        admin, senior_investor, junior_investor = chain.account(ADMIN), chain.account(PAYER_B), chain.account(PAYER_C)
        loans = chain.open_loans(POOL_LOANS, 2, LoanPlan())
        tick(f"pool: {POOL_LOANS} loans opened")
        window = lg.now() + DAY
        pool = _deploy_pool(chain, (POOL_COUPON_BPS, POOL_MIN_JUNIOR_BPS, window, window))
        lg.send(lg.call("registerPool", pool, "Bench pool"), admin)
        for investor in (senior_investor, junior_investor):
            chain.approve_spender(investor, pool)
        total = POOL_PRICE * POOL_LOANS
        junior = total * POOL_MIN_JUNIOR_BPS // 10_000
        subscribe = "subscribe(uint8,uint256)"
        lg.send(_call(pool, subscribe, ["uint8", "uint256"], SENIOR, total - junior - UNIT), senior_investor)
        gas["pool subscribe"] = lg.send(
            _call(pool, subscribe, ["uint8", "uint256"], SENIOR, UNIT), senior_investor
        ).gas_used
        lg.send(_call(pool, subscribe, ["uint8", "uint256"], JUNIOR, junior), junior_investor)
        seller = chain.lenders[1]
        first_offer = int(lg._view("offerCount")) + 1
        offers = [lg.call("offerPosition", loan, pool, POOL_BPS, POOL_PRICE, window) for loan in loans]
        chain.fast_send([(seller, c) for c in offers])
        buys = [_call(pool, "buy(uint256)", ["uint256"], first_offer + i) for i in range(POOL_LOANS)]
        gas["pool buy (first)"] = lg.send(buys[0], admin).gas_used
        gas["pool buy"] = lg.send(buys[1], admin).gas_used
        chain.fast_send([(admin, c) for c in buys[2:]], gas=1_000_000)
        tick(f"pool: {POOL_LOANS} positions bought")
        installment = lg.loan(loans[0]).installment_amount
        distribute = _call(pool, "distribute()", [])
        claim = _call(pool, "claim(uint8)", ["uint8"], SENIOR)
        for month in (1, 2):
            chain.advance(MONTH)
            chain.send_batches(loans, installment, 50)
            receipt = lg.send(distribute, admin)
            if month == 1:  # the first writes the pool's per-class amounts and books from zero
                gas[f"pool distribute (first, {POOL_LOANS} loans)"] = receipt.gas_used
                gas["pool claim (first)"] = lg.send(claim, senior_investor).gas_used
            else:
                gas[f"pool distribute ({POOL_LOANS} loans)"] = receipt.gas_used
                gas["pool claim"] = lg.send(claim, senior_investor).gas_used
        answer = chain.session.w3.eth.call({"to": pool, "data": _call(pool, "senior()", []).data})
        senior_token = to_checksum_address("0x" + bytes(answer)[-20:].hex())
        transfer = _call(
            senior_token, "transfer(address,uint256)", ["address", "uint256"], junior_investor.address, UNIT
        )
        lg.send(transfer, senior_investor)
        gas["class-token transfer"] = lg.send(transfer, senior_investor).gas_used
        tick("pool")
    return gas
