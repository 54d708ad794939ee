"""Fetching survives providers that refuse wide ranges or big results, timeouts and dropped connections."""

from __future__ import annotations

import threading
import time

import pytest
from audit_fake_node import FakeLogNode, fake_web3
from audit_synthetic import LEDGER

from pylender.audit.events import EventCatalog
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.records import LogDecoder, Record, encode_log
from pylender.errors import FetchError

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


def test_chunks_fetched_ahead_come_in_order_and_cover_the_range(
    synthetic_catalog: EventCatalog, spread: list[Record]
) -> None:
    node = FakeLogNode(_logs(synthetic_catalog, spread), LATEST, max_range=1_000)
    fetcher = LogFetcher(fake_web3(node), LEDGER, synthetic_catalog.topics, FetchConfig(chunk_size=400))
    chunks = list(fetcher.iter_chunks_ahead(0, LATEST))
    assert [(c.start, c.end) for c in chunks] == node.served
    assert _covering(node.served, 0, LATEST)
    assert LogDecoder(synthetic_catalog).decode_all([log for c in chunks for log in c.logs]) == spread


def test_an_interrupt_in_the_fetch_thread_reaches_the_caller_after_the_chunks_before_it(
    synthetic_catalog: EventCatalog, spread: list[Record]
) -> None:
    node = FakeLogNode(_logs(synthetic_catalog, spread), LATEST, interrupt_after=3)
    fetcher = LogFetcher(fake_web3(node), LEDGER, synthetic_catalog.topics, FetchConfig(chunk_size=500))
    taken = []
    with pytest.raises(KeyboardInterrupt):
        for chunk in fetcher.iter_chunks_ahead(0, LATEST):
            taken.append((chunk.start, chunk.end))
    assert taken == node.served == [(0, 499), (500, 999), (1_000, 1_499)]


def test_a_fetch_error_in_the_thread_is_raised_in_the_caller(
    synthetic_catalog: EventCatalog, spread: list[Record]
) -> None:
    node = FakeLogNode(_logs(synthetic_catalog, spread), LATEST, connection_errors=100)
    fetcher = LogFetcher(
        fake_web3(node), LEDGER, synthetic_catalog.topics, FetchConfig(retries=2), sleep=lambda _: None
    )
    with pytest.raises(FetchError, match="after 3 attempts"):
        list(fetcher.iter_chunks_ahead(0, LATEST))
    assert node.served == []


def test_a_caller_that_stops_early_stops_the_fetch_thread(
    synthetic_catalog: EventCatalog, spread: list[Record]
) -> None:
    node = FakeLogNode(_logs(synthetic_catalog, spread), LATEST)
    fetcher = LogFetcher(fake_web3(node), LEDGER, synthetic_catalog.topics, FetchConfig(chunk_size=10, max_chunk=10))
    chunks = fetcher.iter_chunks_ahead(0, LATEST, ahead=1)
    first = next(chunks)
    chunks.close()
    deadline = time.monotonic() + 5
    while any(t.name == "audit-fetch" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (first.start, first.end) == (0, 9)
    assert not any(t.name == "audit-fetch" for t in threading.enumerate())
    assert len(node.served) <= 3  # the chunk taken, one queued, one in flight: not the 500 of the range


def test_target_logs_splits_the_range_and_narrows_after_a_big_reply(
    synthetic_catalog: EventCatalog, synthetic_records: list[Record]
) -> None:
    burst = [r.model_copy(update={"block_number": i, "log_index": 0}) for i, r in enumerate(synthetic_records)]
    node = FakeLogNode(_logs(synthetic_catalog, burst), LATEST)
    fetcher = LogFetcher(fake_web3(node), LEDGER, synthetic_catalog.topics, FetchConfig(target_logs=2))
    logs = fetcher.fetch(0, LATEST)
    assert LogDecoder(synthetic_catalog).decode_all(logs) == burst
    # a 32nd of the range (157 blocks) holds all 20 logs: then 157 x 2 / 20 = 15 blocks, widened 2x per small reply
    assert node.served[:4] == [(0, 156), (157, 171), (172, 201), (202, 261)]
    # up to an 8th of the range (625 blocks) once replies are small
    assert [b - a + 1 for a, b in node.served][4:9] == [120, 240, 480, 625, 625]
    assert _covering(node.served, 0, LATEST)
