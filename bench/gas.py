"""Gas (deterministic): every ledger operation at 1-10 lenders, against the floor, ERC-20 and push-split references.

Figures are ``gasUsed`` of the whole transaction (21,000 intrinsic and calldata included) for the
ledger and the references alike. Operations are measured in steady state - the second time the
same kind of slot is written (a lender's balance already non-zero), the way a running ledger sees
them; the first repayment of a loan is reported separately as ``repay (first)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from pydantic import BaseModel

from bench.chain import GRACE, MONTH, PAYER, RECIPIENT, SERVICER, BenchChain, LoanPlan, shares_for
from bench.gas_trace import GasBreakdown, trace_breakdown
from bench.pool_gas import POOL_LOANS, measure_pool_gas
from pylender.client.tx import Receipt

log = logging.getLogger(__name__)

OPERATIONS = (
    "originate",
    "fund",
    "disburse",
    "repay (first)",
    "repay",
    "prepay",
    "batch repay 10 (per loan)",
    "batch repay 100 (per loan)",
    "withdraw",
    "offer position",
    "accept offer",
    "repay (after a transfer)",
    "mark default",
    "write off",
    "push-split repay (reference)",
)
SALE_BPS = 1_000  # a participation sale: this share of a loan, for SALE_PRICE
SALE_PRICE = 1_000 * 10**6
PREPAY_PRINCIPAL = 1_000 * 10**6
DEFAULT_AFTER = 90 * 86_400
BREAKDOWN_LENDERS = 2
STORAGE_FLOOR_BATCH = 100  # loans per StorageFloorRepay batch
# rows of the breakdown: (label, operation or reference, transactions it is divided by)
BREAKDOWN_ROWS = (
    ("floor repay (reference)", "floor", 1),
    ("ERC-20 transfer (reference)", "transfer", 1),
    ("storage floor repay (reference)", "storage floor", 1),
    ("repay", "repay", 1),
    ("storage floor batch 100 (per loan, reference)", "storage floor batch", STORAGE_FLOOR_BATCH),
    ("batch repay 100 (per loan)", "batch repay 100 (per loan)", 100),
    ("withdraw", "withdraw", 1),
)


class GasResults(BaseModel):
    """Gas per operation and lender count, the references, and repay gas against the ledger's size."""

    lender_counts: list[int]
    operations: dict[str, dict[int, int]]
    floor_repay: int
    erc20_transfer: int
    storage_floor_repay: int = 0
    """StorageFloorRepay.repay: the storage, audit record and pull a repayment needs, no arithmetic (2 lenders)."""
    storage_floor_batch: int = 0
    """StorageFloorRepay.repayBatch of ``STORAGE_FLOOR_BATCH`` loans, per loan."""
    repay_by_loans: dict[int, int]
    pool: dict[str, int] = {}
    """Gas of the loan pool's operations (bench/pool_gas.py), by POOL_OPERATIONS name."""
    breakdown: dict[str, GasBreakdown] = {}
    """Where the gas goes at ``BREAKDOWN_LENDERS`` lenders (opcode trace), by ``BREAKDOWN_ROWS`` label."""
    notes: list[str]


def measure_gas(lender_counts: Sequence[int], loan_counts: Sequence[int], tick: Callable[[str], None]) -> GasResults:
    """Measure on a fresh chain (then a second fresh chain for repay gas against the number of loans)."""
    ops: dict[str, dict[int, int]] = {name: {} for name in OPERATIONS}
    with BenchChain.start() as chain:
        refs = _references(chain)
        floor, transfer = refs["floor"].gas_used, refs["transfer"].gas_used
        storage = _storage_floor(chain)
        storage_floor = storage["storage floor"].gas_used
        storage_batch = round(storage["storage floor batch"].gas_used / STORAGE_FLOOR_BATCH)
        tick("references")
        push = chain.deploy_reference("PushSplitBaseline")
        payer = chain.account(PAYER)
        chain.approve_spender(payer, push)
        plan = LoanPlan()
        for k in lender_counts:
            gas, _ = _lifecycle(chain, k, plan)
            for name, value in gas.items():
                ops[name][k] = value
            ops["push-split repay (reference)"][k] = _push_split(chain, push, k)
            tick(f"{k} lender(s)")
    with BenchChain.start() as chain:  # its own chain: the sales' credits must not warm the rows above
        _warm_every_lender(chain)
        for k in lender_counts:
            for name, value in _sale(chain, k, LoanPlan()).items():
                ops[name][k] = value
        tick("participation sales")
    pool = measure_pool_gas(tick)
    breakdown = _breakdown(LoanPlan()) if BREAKDOWN_LENDERS in lender_counts else {}
    tick("where the gas goes")
    with BenchChain.start() as chain:
        by_loans = _repay_by_loans(chain, loan_counts, tick)
    notes = [
        "gasUsed of the whole transaction (intrinsic 21,000 and calldata included), same for every row and reference",
        "steady state: balances written are already non-zero; `repay (first)` is a loan's first installment",
        "fund = all tranches of the loan together; batch rows are gas per loan of one repayBatch transaction",
        "loans: 12,000 tokens, 12 monthly equal installments, 12 % a year, 18 % penalty, 1 % prepayment fee",
        f"sale: {SALE_BPS:,} bps of a loan after its first installment, to an institution new to the loan but "
        "active in the ledger, for "
        f"{SALE_PRICE // 10**6:,} tokens (at 10 lenders every registered lender holds a tranche: the lead buys)",
        f"pool: positions of {POOL_LOANS} loans (5,000 bps each) bought by a pool with 80 % senior and 20 % junior; "
        "each loan pays an installment (repayBatch), then one distribution; claims and the class-token transfer "
        "by a senior investor",
    ]
    return GasResults(
        lender_counts=list(lender_counts),
        operations=ops,
        floor_repay=floor,
        erc20_transfer=transfer,
        storage_floor_repay=storage_floor,
        storage_floor_batch=storage_batch,
        repay_by_loans=by_loans,
        pool=pool,
        breakdown=breakdown,
        notes=notes,
    )


def _breakdown(plan: LoanPlan) -> dict[str, GasBreakdown]:
    """The references and one ``BREAKDOWN_LENDERS`` life cycle again, on a chain of their own that keeps opcode
    traces (anvil holds every step of every transaction in memory: too much for the whole gas section)."""
    with BenchChain.start(trace_steps=True) as chain:
        receipts = _references(chain)
        receipts.update(_storage_floor(chain))
        receipts.update(_lifecycle(chain, BREAKDOWN_LENDERS, plan)[1])
        return {
            label: trace_breakdown(chain.session.w3, receipts[key].tx_hash).divided(per)
            for label, key, per in BREAKDOWN_ROWS
        }


def _references(chain: BenchChain) -> dict[str, Receipt]:
    """FloorRepay.repay and a plain ERC-20 transfer (second call of each: steady state)."""
    lg = chain.ledger
    payer = chain.account(PAYER)
    floor = chain.deploy_reference("FloorRepay")
    chain.approve_spender(payer, floor)
    amount = 1_056_618_803  # the size of an installment of the benchmark loan; any non-zero amount costs the same
    floor_call = _raw_call(lg, floor, "repay(uint256,uint256)", ["uint256", "uint256"], [1, amount])
    lg.send(floor_call, payer)
    floor = lg.send(floor_call, payer)
    transfer = lg.call("transfer", chain.account(RECIPIENT).address, amount, target="token")
    lg.send(transfer, payer)
    return {"floor": floor, "transfer": lg.send(transfer, payer)}


def _storage_floor(chain: BenchChain) -> dict[str, Receipt]:
    """StorageFloorRepay: repay (second call: steady state) and a batch of ``STORAGE_FLOOR_BATCH`` loans (second
    batch), with two lenders whose balances are already non-zero."""
    lg = chain.ledger
    payer = chain.account(PAYER)
    ref = chain.deploy_reference("StorageFloorRepay")
    chain.approve_spender(payer, ref)
    n = STORAGE_FLOOR_BATCH
    setup = "setUp(uint256,uint256,uint16,uint16)"
    lg.send(_raw_call(lg, ref, setup, ["uint256", "uint256", "uint16", "uint16"], [1, n + 1, 1, 2]), payer)
    amount = 1_056_618_803
    single = _raw_call(lg, ref, "repay(uint256,uint256)", ["uint256", "uint256"], [1, amount])
    lg.send(single, payer)
    batch = _raw_call(
        lg, ref, "repayBatch(uint256[],uint256[])", ["uint256[]", "uint256[]"], [list(range(2, n + 2)), [amount] * n]
    )
    lg.send(batch, payer)
    return {"storage floor": lg.send(single, payer), "storage floor batch": lg.send(batch, payer)}


def _raw_call(lg, to: str, signature: str, types: list[str], args: list[object]):  # type: ignore[no-untyped-def]
    from eth_abi import encode
    from eth_utils import keccak

    from pylender.client.tx import Call

    data = "0x" + (keccak(text=signature)[:4] + encode(types, args)).hex()
    return Call(to=to, data=data, label=signature)


def _lifecycle(chain: BenchChain, k: int, plan: LoanPlan) -> tuple[dict[str, int], dict[str, Receipt]]:
    """One loan through origination to withdrawal, a second to write-off, and 100 loans for batches: gas per
    operation, and the receipts of repay, withdraw and the batch of 100 (for the breakdown)."""
    lg = chain.ledger
    payer = chain.account(PAYER)
    servicer = chain.account(SERVICER)
    loan_id, gas = chain.open_loan_measured(k, plan)
    amount = lg.loan(loan_id).installment_amount
    chain.advance(MONTH)
    gas["repay (first)"] = lg.send(lg.call("repay", loan_id, amount), payer).gas_used
    chain.advance(MONTH)
    kept = {"repay": lg.send(lg.call("repay", loan_id, amount), payer)}
    gas["repay"] = kept["repay"].gas_used
    chain.advance(MONTH // 2)
    quote = lg.prepayment_quote(loan_id, PREPAY_PRINCIPAL)
    if quote <= 0:
        raise RuntimeError(f"no prepayment quote for loan {loan_id}")
    gas["prepay"] = lg.send(lg.call("prepay", loan_id, PREPAY_PRINCIPAL), payer).gas_used
    kept["withdraw"] = lg.send(lg.call("withdraw"), chain.lenders[0])
    gas["withdraw"] = kept["withdraw"].gas_used

    # batches: 100 loans, installment 1 as warm-up (fast path), installment 2 measured, then 10 loans' installment 3
    ids = chain.open_loans(100, k, plan)
    chain.advance(MONTH)
    chain.fast_send([(servicer, lg.call("repayBatch", ids, [amount] * len(ids)))], gas=30_000_000)
    chain.advance(MONTH)
    kept["batch repay 100 (per loan)"] = lg.send(lg.call("repayBatch", ids, [amount] * len(ids)), servicer)
    gas["batch repay 100 (per loan)"] = round(kept["batch repay 100 (per loan)"].gas_used / len(ids))
    chain.advance(MONTH)
    batch10 = lg.send(lg.call("repayBatch", ids[:10], [amount] * 10), servicer).gas_used
    gas["batch repay 10 (per loan)"] = round(batch10 / 10)

    # default and write-off on a fresh loan whose first installment is never paid
    (bad,) = chain.open_loans(1, k, plan)
    chain.advance(MONTH + GRACE + DEFAULT_AFTER + 1)
    gas["mark default"] = lg.send(lg.call("markDefault", bad), servicer).gas_used
    gas["write off"] = lg.send(lg.call("writeOff", bad), servicer).gas_used
    return gas, kept


def _warm_every_lender(chain: BenchChain) -> None:
    """Steady state for the sales: one loan funded by every registered lender and repaid once, so that each
    lender's exposure and account word are already non-zero (a buyer that is an active institution)."""
    lg = chain.ledger
    (loan_id,) = chain.open_loans(1, len(chain.lenders), LoanPlan())
    chain.advance(MONTH)
    lg.send(lg.call("repay", loan_id, lg.loan(loan_id).installment_amount), chain.account(PAYER))


def _sale(chain: BenchChain, k: int, plan: LoanPlan) -> dict[str, int]:
    """A participation sale mid-life: on a fresh loan whose first installment is paid, a holder (the second
    lender; the lead alone at 1 lender) offers ``SALE_BPS`` to an institution new to the loan (the lead when every
    registered lender holds a tranche), which accepts and pays ``SALE_PRICE``; then the loan's second repayment,
    split with the holders' offsets (compare with ``repay``)."""
    lg = chain.ledger
    payer = chain.account(PAYER)
    (loan_id,) = chain.open_loans(1, k, plan)
    amount = lg.loan(loan_id).installment_amount
    chain.advance(MONTH)
    lg.send(lg.call("repay", loan_id, amount), payer)
    seller = chain.lenders[1 if k > 1 else 0]
    buyer = chain.lenders[k] if k < len(chain.lenders) else chain.lenders[0]
    offer = lg.send(lg.call("offerPosition", loan_id, buyer.address, SALE_BPS, SALE_PRICE, lg.now() + MONTH), seller)
    accept = lg.send(lg.call("acceptOffer", lg.offer_id_from(offer)), buyer)
    chain.advance(MONTH)
    repay = lg.send(lg.call("repay", loan_id, amount), payer)
    return {
        "offer position": offer.gas_used,
        "accept offer": accept.gas_used,
        "repay (after a transfer)": repay.gas_used,
    }


def _push_split(chain: BenchChain, push: str, k: int) -> int:
    """PushSplitBaseline.repay with ``k`` lenders (second repayment: every lender already holds tokens)."""
    lg = chain.ledger
    payer = chain.account(PAYER)
    lenders = [a.address for a in chain.lenders[:k]]
    setup = _raw_call(
        lg,
        push,
        "setShares(uint256,address[],uint16[])",
        ["uint256", "address[]", "uint16[]"],
        [k, lenders, shares_for(k)],
    )
    lg.send(setup, payer)
    repay = _raw_call(lg, push, "repay(uint256,uint256)", ["uint256", "uint256"], [k, 1_056_618_803])
    lg.send(repay, payer)
    return lg.send(repay, payer).gas_used


def _repay_by_loans(chain: BenchChain, loan_counts: Sequence[int], tick: Callable[[str], None]) -> dict[int, int]:
    """Repay gas (2 lenders, installment 2) of a fresh loan when the ledger holds exactly N loans."""
    lg = chain.ledger
    payer = chain.account(PAYER)
    plan = LoanPlan()
    out: dict[int, int] = {}
    for n in sorted(loan_counts):
        fillers = n - lg.loan_count() - 1
        if fillers < 0:
            raise ValueError(f"loan counts must grow: {loan_counts}")
        step = 2_000
        for start in range(0, fillers, step):
            chain.open_loans(min(step, fillers - start), 1, plan)
        loan_id, _ = chain.open_loan_measured(2, plan)
        if lg.loan_count() != n:
            raise RuntimeError(f"expected {n} loans in the ledger, found {lg.loan_count()}")
        amount = lg.loan(loan_id).installment_amount
        chain.advance(MONTH)
        lg.send(lg.call("repay", loan_id, amount), payer)
        chain.advance(MONTH)
        out[n] = lg.send(lg.call("repay", loan_id, amount), payer).gas_used
        tick(f"repay with {n} loans")
    return out
