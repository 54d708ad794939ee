"""Read a ledger's audit trail from a node: the ledger's ABI, and its records fetched, decoded and chain-checked
range by range (into the SQLite index when one is kept, rolled back past a reorganisation).

:mod:`pylender.audit.verify` proves what it reads, :mod:`pylender.audit.provenance` writes it out as an export and
:mod:`pylender.audit.follow` keeps reading as new blocks arrive.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from web3 import Web3

from pylender.audit.chain import ChainChecker
from pylender.audit.events import EventCatalog
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.findings import Finding
from pylender.audit.index import AuditIndex
from pylender.audit.records import LogDecoder, Record
from pylender.audit.rpc import Rpc
from pylender.errors import AuditError, InvalidAbi

log = logging.getLogger(__name__)

PIPELINE_LOGS = 2_000  # logs per eth_getLogs by default: small enough that decoding starts early


def load_ledger_abi(abi_path: str | Path | None = None) -> list[dict[str, Any]]:
    """The ledger's full ABI: from ``abi_path`` (ABI list or artifact), else the shipped artifact."""
    if abi_path is not None:
        try:
            data = json.loads(Path(abi_path).read_text())
            abi = data["abi"] if isinstance(data, dict) else data
            if not isinstance(abi, list) or not all(isinstance(e, dict) for e in abi):
                raise TypeError("not a list of ABI entries")
            return list(abi)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidAbi(f"{abi_path} is not a ledger ABI or artifact: {type(exc).__name__}: {exc}") from exc
    from pylender.artifacts import LEDGER, load

    try:
        return list(load(LEDGER).abi)
    except Exception as exc:  # ArtifactNotFound carries the fix in its message
        raise AuditError(str(exc)) from exc


def chunk_block_hashes(logs: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """The hash of each block that holds one of ``logs`` (as the node reported it with the log)."""
    out: dict[int, str] = {}
    for entry in logs:
        number, block_hash = entry.get("blockNumber"), entry.get("blockHash")
        if number is not None and isinstance(block_hash, str):
            out[int(number, 16) if isinstance(number, str) else int(number)] = block_hash
    return out


def chain_hashes(rpc: Rpc) -> Callable[[Sequence[int]], dict[int, str | None]]:
    """What :meth:`AuditIndex.common_ancestor` asks: the chain's hash of each block number (None if absent)."""

    def ask(numbers: Sequence[int]) -> dict[int, str | None]:
        found = rpc.blocks(list(numbers))
        return {n: (str(found[n]["hash"]) if n in found else None) for n in numbers}

    return ask


def reorganised(index: AuditIndex, rpc: Rpc, *, quiet: bool = False) -> list[Record]:
    """Roll the index back to the newest block the chain still agrees with (a reorganisation deeper than the
    confirmations it was read with); the records forgotten, in chain order (none when nothing changed).
    Logged as a warning unless ``quiet`` (the caller reports it)."""
    ancestor = index.common_ancestor(chain_hashes(rpc))
    if ancestor is None or ancestor >= index.fetched_block:
        return []
    removed = index.rollback(ancestor)
    (log.info if quiet else log.warning)(
        "the chain no longer has the blocks the index read after block %d: %d record(s) forgotten, read again",
        ancestor,
        len(removed),
    )
    return removed


def fetch_records(
    w3: Web3,
    address: str,
    catalog: EventCatalog,
    final: int,
    index: AuditIndex | None,
    from_block: int,
    config: FetchConfig,
    progress: bool,
    on_records: Callable[[Sequence[Record]], None] | None = None,
) -> tuple[list[Record], ChainChecker, list[Finding]]:
    """Fetch and chain-check the records up to ``final``, committing each chunk to ``index``.

    ``on_records`` is handed the records already in the index, then each chunk's, in order, while the
    next chunk is fetched."""
    decoder = LogDecoder(catalog)
    if index is not None:  # the index keeps the blocks' hashes to notice a reorganisation
        config = dataclasses.replace(config, block_hashes=True)
    fetcher = LogFetcher(w3, address, catalog.topics, config, progress=progress)
    rpc = Rpc(w3) if index is not None else None
    if index is not None and rpc is not None:
        index.set_start_block(from_block)
        reorganised(index, rpc)
        start, checker, old = index.fetched_block + 1, ChainChecker(catalog, index.chain_head), index.findings()
        records = index.records()
    else:
        start, checker, old, records = from_block, ChainChecker(catalog), [], []
    if on_records is not None and records:
        on_records(records)
    try:
        # the next range is fetched in a thread while this one is decoded, chained and committed
        for chunk in fetcher.iter_chunks_ahead(start, final):
            new, bodies = decoder.decode_all_chained(chunk.logs)
            before = len(checker.findings)
            checker.feed_all(new, bodies)
            if index is not None and rpc is not None:
                hashes = chunk_block_hashes(chunk.logs)
                tip = rpc.block(chunk.end)
                if tip is not None:
                    hashes[chunk.end] = str(tip["hash"])
                index.commit_chunk(chunk.end, new, checker.head, checker.findings[before:], hashes)
            records.extend(new)
            if on_records is not None:
                on_records(new)
    finally:
        fetcher.close()
        if rpc is not None:
            rpc.close()
    log.info(
        "fetched through block %d: %d records (%d requests, %d refusals)",
        final,
        len(records),
        fetcher.requests,
        fetcher.refusals,
    )
    return records, checker, old
