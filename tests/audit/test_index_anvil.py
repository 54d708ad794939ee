"""A ledger with 10,015 audit records verifies and reconciles; a run interrupted midway resumes from the index.

The ledger is built on the bench's setup path (bench/chain.py, bench/audit_speed.py): 100 two-lender loans,
then 96 rounds of one ``repayBatch`` over all of them, one period apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_anvil import ANVIL, InterruptingProvider
from web3 import Web3

from bench.audit_speed import grow_records
from bench.chain import BenchChain, LoanPlan
from pylender.audit.fetch import FetchConfig
from pylender.audit.index import AuditIndex
from pylender.audit.verify import verify_ledger

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ANVIL.exists(), reason="anvil (npm) not installed")]

LOANS = 100
# deployment (admin grant, first policy) + 3 role grants + 10 institutions + 100 originations + 200 fundings
# + 100 disbursements + 96 x 100 repayments
RECORDS = 10_015
CHUNK = 16  # blocks per eth_getLogs, fixed so that the interruption falls midway


@pytest.fixture(scope="module")
def ledger() -> Iterator[BenchChain]:
    with BenchChain.start() as chain:
        plan = LoanPlan(periods=120, penalty_rate_bps=0, principal=50_000 * 10**6)
        loan_ids = chain.open_loans(LOANS, 2, plan)
        rounds = grow_records(chain, loan_ids, chain.ledger.loan(loan_ids[0]).installment_amount, 10_000, 100)
        assert rounds == 96 and chain.ledger.audit_head().seq == RECORDS
        yield chain


def _verify(chain: BenchChain, provider: InterruptingProvider, index: Path):
    config = FetchConfig(chunk_size=CHUNK, max_chunk=CHUNK)
    return verify_ledger(
        Web3(provider), chain.ledger.address, from_block=chain.deploy_block, index_path=index, fetch_config=config
    )


def test_an_interrupted_verify_of_10k_records_resumes_from_the_index(ledger: BenchChain, tmp_path: Path) -> None:
    url, path = ledger.session.url or "", tmp_path / "audit.sqlite"
    final = ledger.session.w3.eth.block_number
    blocks = final - ledger.deploy_block + 1
    stop_at = blocks // CHUNK // 2 + 1  # the eth_getLogs that dies: about half the range is in the index
    first = InterruptingProvider(url, interrupt_at=stop_at)
    with pytest.raises(KeyboardInterrupt):
        _verify(ledger, first, path)
    with AuditIndex(path, ledger.ledger.address, 31337) as index:
        stored, fetched_block, head = index.records(), index.fetched_block, index.chain_head
    assert fetched_block == ledger.deploy_block + (stop_at - 1) * CHUNK - 1
    assert len(stored) == first.logs_served  # every record fetched before the interruption was committed
    assert 0 < len(stored) < RECORDS and [r.seq for r in stored] == list(range(1, len(stored) + 1))
    assert head == stored[-1].head and max(r.block_number for r in stored) <= fetched_block

    second = InterruptingProvider(url)
    result = _verify(ledger, second, path)

    assert second.queries[0][0] == fetched_block + 1 and second.queries[-1][1] == final
    assert second.logs_served == RECORDS - len(stored)  # only the blocks after the index were read
    assert result.ok, [f.describe() for f in result.findings[:5]]
    assert (result.records, result.last_seq, result.loans_checked) == (RECORDS, RECORDS, LOANS)
    assert result.replayed and result.compared_views and result.final_block == final
    assert result.computed_head == result.onchain_head == ledger.ledger.audit_head().head
    with AuditIndex(path, ledger.ledger.address, 31337) as index:
        assert (index.count(), index.fetched_block) == (RECORDS, final)
