"""Where an export comes from, and proof that it is the chain's trail as of its final block.

:func:`export_trail` reads a ledger's records and writes them with the facts an auditor needs later
(ledger, chain id, block range, final head, token, tool version: :class:`~pylender.audit.export.ExportHeader`).

:func:`prove_prefix` checks an export against a node. The export's own hash chain proves its records
belong together; what it cannot prove alone is that none were cut from the end. So the export's last
head is compared with the chain *as of the export's final block*, in one of two ways:

- ``state``: the ledger's ``auditHead`` read at that block (``eth_call`` at a block number), on a node
  that serves historical state (an archive node, anvil, a recent block on a full node);
- ``logs``: otherwise, the chain's records written *after* that block are fetched and must continue the
  export's last head, record by record, up to the ledger's ``auditHead`` today. A record the export
  lacks that was written at or before its final block breaks the continuation and is named.

Either way, activity on the ledger after the export does not fail it. ``auto`` tries ``state`` first
and falls back to ``logs`` when the node refuses the historical call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from web3 import Web3

from pylender.audit.chain import ChainChecker
from pylender.audit.events import EventCatalog
from pylender.audit.export import Export, ExportHeader, make_header, write_export
from pylender.audit.fetch import FetchConfig, LogFetcher
from pylender.audit.findings import Finding, VerificationResult
from pylender.audit.ingest import PIPELINE_LOGS, fetch_records, load_ledger_abi
from pylender.audit.probe import checksum_address, read_head, require_ledger
from pylender.audit.records import LogDecoder, Record, format_head
from pylender.audit.rpc import Rpc
from pylender.errors import ExportMismatch, RpcError

log = logging.getLogger(__name__)

Method = Literal["auto", "state", "logs"]
PREFIX_METHODS: tuple[str, ...] = ("auto", "state", "logs")
_STRING_CALLS = {"symbol": "0x95d89b41", "decimals": "0x313ce567", "token": "0xfc0c546a"}


def _word(answer: Any) -> bytes:
    return bytes.fromhex(str(answer)[2:]) if isinstance(answer, str) else b""


def token_facts(rpc: Rpc, ledger: str, block: int | str = "latest") -> tuple[str | None, str | None, int | None]:
    """The ledger's token, its symbol and decimals (None for what the node or the token does not answer)."""
    tag = hex(block) if isinstance(block, int) else block
    replies = rpc.batch([("eth_call", [{"to": ledger, "data": _STRING_CALLS["token"]}, tag])])
    raw = _word(replies[0].get("result")) if isinstance(replies[0], dict) else b""
    if len(raw) != 32:
        return None, None, None
    token = Web3.to_checksum_address(raw[12:])
    symbol_reply, decimals_reply = rpc.batch(
        [
            ("eth_call", [{"to": token, "data": _STRING_CALLS["symbol"]}, tag]),
            ("eth_call", [{"to": token, "data": _STRING_CALLS["decimals"]}, tag]),
        ]
    )
    symbol = None
    data = _word(symbol_reply.get("result")) if isinstance(symbol_reply, dict) else b""
    if len(data) >= 96:  # abi-encoded string
        size = int.from_bytes(data[32:64], "big")
        symbol = data[64 : 64 + size].decode("utf-8", "replace") or None
    elif len(data) == 32:  # bytes32 symbol (old tokens)
        symbol = data.rstrip(b"\0").decode("utf-8", "replace") or None
    data = _word(decimals_reply.get("result")) if isinstance(decimals_reply, dict) else b""
    decimals = int.from_bytes(data, "big") if len(data) == 32 and int.from_bytes(data, "big") <= 255 else None
    return token, symbol, decimals


def block_times(rpc: Rpc, blocks: Sequence[int]) -> dict[int, int]:
    """Each block's timestamp (unix seconds), read in batches."""
    found = rpc.blocks(sorted(set(blocks)))
    return {number: int(str(block["timestamp"]), 16) for number, block in found.items() if "timestamp" in block}


def chain_header(
    rpc: Rpc,
    ledger: str,
    records: Sequence[Record],
    catalog: EventCatalog,
    *,
    chain_id: int,
    first_block: int,
    final_block: int,
) -> tuple[ExportHeader, dict[int, int]]:
    """The header of an export of ``records`` read from the chain up to ``final_block``, and the timestamps of
    the blocks that hold them."""
    times = block_times(rpc, [final_block, *(r.block_number for r in records)])
    token, symbol, decimals = token_facts(rpc, ledger, final_block)
    header = make_header(
        records,
        catalog=catalog,
        ledger=ledger,
        chain_id=chain_id,
        first_block=first_block,
        final_block=final_block,
        final_block_time=times.get(final_block),
        onchain_head=read_head(rpc, ledger, final_block),
        token=token,
        token_symbol=symbol,
        token_decimals=decimals,
    )
    return header, times


def export_trail(
    w3: Web3,
    ledger_address: str,
    path: str | Path,
    fmt: str,
    *,
    abi: list[dict[str, Any]] | None = None,
    from_block: int = 0,
    confirmations: int = 0,
    index_path: str | Path | None = None,
    progress: bool = False,
) -> ExportHeader:
    """Read the ledger's records up to ``latest − confirmations`` and write them to ``path`` with their header."""
    from pylender.audit.index import AuditIndex

    catalog = EventCatalog.from_abi(abi if abi is not None else load_ledger_abi())
    address = checksum_address(ledger_address, "ledger address")
    rpc = Rpc(w3)
    try:
        chain_id = rpc.chain_id()
        final = rpc.block_number() - confirmations
        require_ledger(rpc, address, chain_id, max(final, 0))
        config = FetchConfig(confirmations=confirmations, target_logs=PIPELINE_LOGS)
        index = AuditIndex(index_path, address, chain_id) if index_path is not None else None
        try:
            records, _, _ = fetch_records(w3, address, catalog, final, index, from_block, config, progress)
        finally:
            if index is not None:
                index.close()
        header, times = chain_header(
            rpc, address, records, catalog, chain_id=chain_id, first_block=from_block, final_block=final
        )
    finally:
        rpc.close()
    write_export(records, path, fmt, header=header, block_times=times)
    return header


# ---------------------------------------------------------------------------------------- the prefix proof


def _as_of(exp: Export, result: VerificationResult) -> int:
    header = exp.header
    if header is not None and header.final_block is not None:
        return header.final_block
    if not exp.records:
        raise ExportMismatch("the export holds no record and names no final block: nothing to compare")
    block = max(r.block_number for r in exp.records)
    result.notes.append(
        f"the file names no final block (no header): it is checked as of the block of its last record, {block}"
    )
    return block


def prove_prefix(
    w3: Web3,
    exp: Export,
    checker: ChainChecker,
    result: VerificationResult,
    *,
    ledger: str | None = None,
    confirmations: int = 0,
    method: Method = "auto",
    fetch_config: FetchConfig | None = None,
) -> None:
    """Prove the export (already fed to ``checker``) is the chain's trail as of its final block.

    Findings go to ``checker.findings`` (missing records named by seq); ``result`` gets the trusted head,
    its source and the block the export is proven as of. Raises :class:`ExportMismatch` when export and
    node are not about the same ledger and chain."""
    header = exp.header
    named = header.ledger if header is not None else None
    if ledger is not None and named is not None and ledger.lower() != named.lower():
        raise ExportMismatch(f"the export is of ledger {named}, --ledger names {ledger}")
    given = ledger or named
    if given is None:
        raise ExportMismatch("the export names no ledger (it has no header): pass --ledger ADDR")
    address = checksum_address(given, "ledger address")
    rpc = Rpc(w3)
    try:
        chain_id = rpc.chain_id()
        if header is not None and header.chain_id is not None and header.chain_id != chain_id:
            raise ExportMismatch(f"the export is of chain {header.chain_id}, the node serves chain {chain_id}")
        require_ledger(rpc, address, chain_id)
        as_of = _as_of(exp, result)
        newest = rpc.block_number() - confirmations
        if as_of > newest:
            raise ExportMismatch(
                f"the export is as of block {as_of}, the node's newest block with {confirmations} "
                f"confirmation(s) is {newest}: another chain, or a node behind it"
            )
        result.ledger, result.chain_id, result.final_block = address, chain_id, as_of
        if method in ("auto", "state"):
            try:
                head = read_head(rpc, address, as_of)
            except RpcError as exc:
                if method == "state":
                    raise
                result.notes.append(
                    f"the node does not serve the ledger's state at block {as_of} ({exc.message}); "
                    "proved instead by the chain's later records continuing the export"
                )
            else:
                source = f"the ledger's auditHead at block {as_of}"
                checker.check_final(head, source)
                result.trusted_head, result.trusted_source, result.proven_complete = format_head(head), source, True
                result.onchain_head = format_head(head)
                return
        _continue(w3, rpc, address, exp, checker, result, as_of, newest, confirmations, fetch_config)
    finally:
        rpc.close()


def _continue(
    w3: Web3,
    rpc: Rpc,
    address: str,
    exp: Export,
    checker: ChainChecker,
    result: VerificationResult,
    as_of: int,
    newest: int,
    confirmations: int,
    fetch_config: FetchConfig | None,
) -> None:
    """The ``logs`` proof: the records after ``as_of`` continue the export's last head up to today's head."""
    catalog = exp.catalog()
    head_now = read_head(rpc, address, "latest" if confirmations == 0 else newest)
    config = fetch_config or FetchConfig()
    fetcher = LogFetcher(w3, address, catalog.topics, config)
    try:
        later = LogDecoder(catalog).decode_all(fetcher.fetch(as_of + 1, newest)) if newest > as_of else []
    finally:
        fetcher.close()
    source = f"the ledger's auditHead at block {newest}, reached by the chain's records after block {as_of}"
    cont = ChainChecker(catalog, head=checker.head)
    last = checker.seq
    if later and later[0].seq != last + 1:
        first = later[0].seq
        if first > last + 1:
            missing = f"{last + 1}" if first == last + 2 else f"{last + 1}..{first - 1}"
            detail = (
                f"record(s) {missing} were written at or before block {as_of}, the export's final block, "
                "and are not in the export"
            )
        else:
            detail = f"the chain's first record after block {as_of} is seq {first}: the export holds records beyond it"
        checker.findings.append(
            Finding(
                check="head",
                seq=min(first, last + 1),
                subject=source,
                field="seq",
                expected=str(last + 1),
                found=str(first),
                detail=detail,
            )
        )
    else:
        cont.feed_all(later)
        cont.check_final(head_now, source)
        checker.findings.extend(cont.findings)
    result.trusted_head, result.trusted_source, result.proven_complete = format_head(head_now), source, True
    result.onchain_head = format_head(head_now)
    result.notes.append(f"{len(later)} record(s) written after block {as_of} continue the export's chain")
