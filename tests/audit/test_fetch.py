"""Fetching survives providers that refuse wide ranges or big results, timeouts and dropped connections."""

from __future__ import annotations

import pytest
from audit_fake_node import FakeLogNode, fake_web3
from audit_synthetic import LEDGER

from pylender.audit.errors import FetchError
from pylender.audit.events import EventCatalog
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.records import LogDecoder, Record, encode_log

LATEST = 4_999


@pytest.fixture()
def spread(synthetic_records: list[Record]) -> list[Record]:
    """The synthetic records spread over blocks 0..4,999 (every 250 blocks)."""
    return [r.model_copy(update={"block_number": 250 * i, "log_index": 0}) for i, r in enumerate(synthetic_records)]


def _logs(catalog: EventCatalog, records: list[Record]) -> list[dict]:
    other = {**encode_log(catalog, records[0], LEDGER), "address": "0x" + "11" * 20}  # same event, other contract
    return [encode_log(catalog, r, LEDGER) for r in records] + [other]


def _covering(ranges: list[tuple[int, int]], start: int, end: int) -> bool:
    cursor = start
    for a, b in ranges:
        if a != cursor:
            return False
        cursor = b + 1
    return cursor == end + 1


def test_a_provider_refusing_ranges_over_1000_blocks_still_yields_every_log(
    synthetic_catalog: EventCatalog, spread: list[Record]
) -> None:
    node = FakeLogNode(_logs(synthetic_catalog, spread), LATEST, max_range=1_000)
    fetcher = LogFetcher(fake_web3(node), LEDGER, synthetic_catalog.topics, FetchConfig(chunk_size=5_000))
    logs = fetcher.fetch(0, fetcher.final_block())
    assert LogDecoder(synthetic_catalog).decode_all(logs) == spread
    assert node.refused[0] == (0, 4_999) and fetcher.refusals == len(node.refused)
    assert all(b - a + 1 <= 1_000 for a, b in node.served)
    assert _covering(node.served, 0, LATEST)


def test_the_range_grows_back_after_a_run_of_successes(synthetic_catalog: EventCatalog, spread: list[Record]) -> None:
    node = FakeLogNode(_logs(synthetic_catalog, spread), LATEST, max_range=1_000)
    config = FetchConfig(chunk_size=100, grow_after=2)
    fetcher = LogFetcher(fake_web3(node), LEDGER, synthetic_catalog.topics, config)
    fetcher.fetch(0, LATEST)
    sizes = [b - a + 1 for a, b in node.served]
    assert sizes[:4] == [100, 100, 200, 200]
    assert max(sizes) > 500  # grew back towards the provider's limit after refusals
    assert _covering(node.served, 0, LATEST)


def test_a_provider_refusing_big_results_is_asked_for_smaller_ranges(
    synthetic_catalog: EventCatalog, spread: list[Record]
) -> None:
    node = FakeLogNode(_logs(synthetic_catalog, spread), LATEST, max_results=3)
    fetcher = LogFetcher(fake_web3(node), LEDGER, synthetic_catalog.topics, FetchConfig(chunk_size=10_000))
    logs = fetcher.fetch(0, LATEST)
    assert len(logs) == 20 and node.refused
    assert all(n <= 3 for n in (sum(1 for r in spread if a <= r.block_number <= b) for a, b in node.served))


def test_timeouts_and_dropped_connections_are_retried_with_backoff(
    synthetic_catalog: EventCatalog, spread: list[Record]
) -> None:
    node = FakeLogNode(_logs(synthetic_catalog, spread), LATEST, timeouts=2, connection_errors=2)
    sleeps: list[float] = []
    config = FetchConfig(chunk_size=5_000, backoff=0.5)
    fetcher = LogFetcher(fake_web3(node), LEDGER, synthetic_catalog.topics, config, sleep=sleeps.append)
    logs = fetcher.fetch(0, LATEST)
    assert len(logs) == 20
    assert sleeps == [0.5, 1.0, 0.5, 1.0]  # two connection retries, then two timeouts (each halving the range)
    assert node.served[0] == (0, 1_249)


def test_a_node_that_keeps_failing_raises_fetch_error(synthetic_catalog: EventCatalog, spread: list[Record]) -> None:
    node = FakeLogNode(_logs(synthetic_catalog, spread), LATEST, connection_errors=100)
    fetcher = LogFetcher(
        fake_web3(node), LEDGER, synthetic_catalog.topics, FetchConfig(retries=3), sleep=lambda _: None
    )
    with pytest.raises(FetchError, match="after 4 attempts"):
        fetcher.fetch(0, LATEST)


def test_confirmations_hold_back_the_newest_blocks(synthetic_catalog: EventCatalog, spread: list[Record]) -> None:
    node = FakeLogNode(_logs(synthetic_catalog, spread), LATEST)
    fetcher = LogFetcher(fake_web3(node), LEDGER, synthetic_catalog.topics, FetchConfig(confirmations=250))
    final = fetcher.final_block()
    assert final == 4_749
    assert len(fetcher.fetch(0, final)) == 19  # the record at block 4,750 is not final yet
