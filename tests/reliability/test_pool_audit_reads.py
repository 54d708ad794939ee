"""`audit pool` reads the way `audit verify` does: every read (the pool's records, its class tokens' transfers,
the ledger's payments to it, its views, the blocks' times) at one block, ``latest − confirmations``, and through
the retrying readers, chunk by chunk. On the shipped pool scenario: an audit pinned to a block in the middle of
the pool's life verifies there, and an audit through a provider that refuses wide log ranges and drops requests
verifies the same records as one made directly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flaky_proxy import FlakyProxy
from web3 import Web3

from pylender.audit.fetch import FetchConfig
from pylender.audit.pool import verify_pool
from pylender.client.session import Pylender
from pylender.errors import NotAPool
from pylender.scenarios.runner import RunResult, run_scenario
from pylender.scenarios.schema import GENESIS_TIMESTAMP, load

pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "pool-senior-junior.yaml"
SEEDS = 2


@pytest.fixture(scope="module")
def pooled() -> Iterator[tuple[Pylender, RunResult]]:
    with Pylender.local(timestamp=GENESIS_TIMESTAMP, accounts=16) as session:
        yield session, run_scenario(load(SCENARIO), session)


def test_an_audit_pinned_to_a_past_block_reads_everything_there(pooled: tuple[Pylender, RunResult]) -> None:
    session, result = pooled
    pool = result.pools["P"]
    whole = verify_pool(session.w3, pool.address, from_block=result.deployment.block)
    assert whole.ok, whole.describe()
    assert whole.final_block == session.w3.eth.block_number
    distributed = [r for r in whole.records if r.kind == "Distributed"]
    sixth = distributed[5]
    behind = whole.final_block - sixth.block_number
    assert behind > 0
    past = verify_pool(session.w3, pool.address, from_block=result.deployment.block, confirmations=behind)
    # the records, the head, state(), the class transfers and the ledger's Withdrawn records, all at that block
    assert past.ok, past.describe()
    assert past.final_block == sixth.block_number
    assert [r.seq for r in past.records] == [r.seq for r in whole.records if r.block_number <= sixth.block_number]
    collected = sum(int(r.fields["collected"]) for r in distributed[:6])
    assert past.model is not None and past.model.collected == collected == past.withdrawn_by_ledger
    assert past.onchain_head == past.computed_head != whole.computed_head
    assert past.describe()[0].endswith(f", as of block {sixth.block_number}")


def test_an_audit_through_a_provider_that_refuses_and_drops_verifies_the_same_records(
    pooled: tuple[Pylender, RunResult],
) -> None:
    session, result = pooled
    pool = result.pools["P"]
    direct = verify_pool(session.w3, pool.address, from_block=result.deployment.block)
    span = direct.final_block - result.deployment.block if direct.final_block is not None else 0
    for seed in range(SEEDS):
        with FlakyProxy(session.url or "") as proxy:
            proxy.max_log_range, proxy.drop_rate, proxy.seed = max(2, span // 8), 0.05, seed
            proxy.drop_next.update({m: 1 for m in ("eth_chainId", "eth_getCode", "eth_getLogs", "eth_call")})
            w3 = Web3(Web3.HTTPProvider(proxy.url))
            quick = FetchConfig(backoff=0.05, max_backoff=0.5)  # the same retries, shorter waits between them
            audit = verify_pool(w3, pool.address, from_block=result.deployment.block, fetch_config=quick)
            assert audit.ok, (seed, audit.describe())
            assert [r.seq for r in audit.records] == [r.seq for r in direct.records]
            assert audit.withdrawn_by_ledger == direct.withdrawn_by_ledger == pool.collected
            assert proxy.range_refusals > 0 and sum(proxy.dropped.values()) >= 4


def test_an_address_that_is_no_pool_is_named_before_any_log_is_read(pooled: tuple[Pylender, RunResult]) -> None:
    session, result = pooled
    cases = {
        result.lenders["bank_a"].address: "there is no contract code there",
        result.token: "does not answer ledger()",
        result.ledger: "does not answer ledger()",
    }
    for address, why in cases.items():
        with pytest.raises(NotAPool, match=why):
            verify_pool(session.w3, address)
