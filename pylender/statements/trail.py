"""The trail a statement is drawn from, through the audit pipeline: fetched (with the incremental index), chain-
checked, proved against the ledger's ``auditHead`` and replayed (:func:`pylender.audit.verify.audit_ledger`), or
read from an export and verified as ``audit verify --file`` does (offline: not proven complete).

What the statement needs beyond the records and the replayed books comes with it: where the records are from,
the block they are as of, the token's decimals, and a node (when there is one) to search block times and read
the views at each cut-off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from pylender.audit.fetch import FetchConfig
from pylender.audit.findings import VerificationResult
from pylender.audit.ingest import PIPELINE_LOGS, load_ledger_abi
from pylender.audit.probe import checksum_address
from pylender.audit.provenance import token_facts
from pylender.audit.records import Record
from pylender.audit.replay import AuditBooks, replay
from pylender.audit.rpc import Rpc
from pylender.audit.verify import audit_ledger, verify_file
from pylender.errors import InvalidPeriod

log = logging.getLogger(__name__)


@dataclass
class DrawnTrail:
    """A verified (or not) trail, replayed: everything a statement is drawn from."""

    records: list[Record]
    books: AuditBooks
    result: VerificationResult
    ledger: str | None
    chain_id: int | None
    final_block: int | None
    token: str | None = None
    symbol: str | None = None
    decimals: int | None = None
    w3: Web3 | None = None
    abi: list[dict[str, Any]] | None = None
    block_times: dict[int, int] = field(default_factory=dict)
    """Block timestamps the source already knows (an export carries its records' blocks' times)."""
    source: str = "ledger"

    @property
    def on_chain(self) -> bool:
        """A node is at hand: cut-off blocks are searched on it and the views read from it."""
        return self.w3 is not None and self.ledger is not None and self.final_block is not None


def trail_from_chain(
    w3: Web3,
    ledger: str,
    *,
    abi: list[dict[str, Any]] | None = None,
    from_block: int = 0,
    confirmations: int = 0,
    index_path: str | Path | None = None,
    progress: bool = False,
    fetch_config: FetchConfig | None = None,
) -> DrawnTrail:
    """Fetch, prove and replay the ledger's trail up to ``latest − confirmations`` (the views of the whole
    ledger are not compared here: a statement compares the institution's own at each cut-off)."""
    abi = abi if abi is not None else load_ledger_abi()
    address = checksum_address(ledger, "ledger address")
    audit = audit_ledger(
        w3,
        address,
        abi=abi,
        from_block=from_block,
        confirmations=confirmations,
        index_path=index_path,
        fetch_config=fetch_config or FetchConfig(target_logs=PIPELINE_LOGS),
        progress=progress,
        compare_with_views=False,
    )
    result = audit.result
    rpc = Rpc(w3)
    try:
        token, symbol, decimals = token_facts(rpc, address, result.final_block if result.final_block else "latest")
    finally:
        rpc.close()
    return DrawnTrail(
        records=audit.records,
        books=audit.books,
        result=result,
        ledger=address,
        chain_id=result.chain_id,
        final_block=result.final_block,
        token=token,
        symbol=symbol,
        decimals=decimals,
        w3=w3,
        abi=abi,
        source="ledger",
    )


def trail_from_file(
    path: str | Path,
    *,
    w3: Web3 | None = None,
    ledger: str | None = None,
    abi_path: str | Path | None = None,
    expected_head: int | None = None,
    confirmations: int = 0,
) -> DrawnTrail:
    """An export, verified as ``audit verify --file`` does: offline it is at best not proven complete; with a
    node (``w3``) it is proved to be the chain's trail as of its final block, and the node answers the cut-off
    searches and the views."""
    from pylender.audit.export import read_export

    result = verify_file(
        path, abi_path=abi_path, w3=w3, ledger=ledger, expected_head=expected_head, confirmations=confirmations
    )
    exp = read_export(path)
    records = sorted(exp.records, key=lambda r: r.seq)
    books, _ = replay(records)
    header = exp.header
    # the views need the functions: an export's ABI may carry only the events it decodes
    abi = load_ledger_abi(abi_path) if abi_path is not None else (exp.abi or None)
    if abi is not None and not any(e.get("type") == "function" and e.get("name") == "accountOf" for e in abi):
        abi = None
    ledger_address = ledger or (header.ledger if header else None)
    final = header.final_block if header else (records[-1].block_number if records else None)
    token = header.token if header else None
    symbol = header.token_symbol if header else None
    decimals = header.token_decimals if header else None
    if w3 is not None and ledger_address is not None and decimals is None:
        rpc = Rpc(w3)
        try:
            token, symbol, decimals = token_facts(rpc, ledger_address, final if final is not None else "latest")
        finally:
            rpc.close()
    return DrawnTrail(
        records=records,
        books=books,
        result=result,
        ledger=ledger_address,
        chain_id=exp.chain_id,
        final_block=final,
        token=token,
        symbol=symbol,
        decimals=decimals,
        w3=w3 if ledger_address is not None else None,
        abi=abi if abi is not None else (load_ledger_abi() if w3 is not None else None),
        block_times=dict(exp.block_times),
        source="export",
    )


def open_trail(
    w3: Web3 | None,
    ledger: str | None,
    *,
    what: str,
    file: str | Path | None = None,
    abi: list[dict[str, Any]] | None = None,
    abi_path: str | Path | None = None,
    expected_head: int | None = None,
    from_block: int = 0,
    confirmations: int = 0,
    index_path: str | Path | None = None,
    progress: bool = False,
) -> DrawnTrail:
    """The trail a ``what`` (a statement, a reconciliation) is drawn from: the export ``file`` when given
    (:func:`trail_from_file`), else the ledger on the node (:func:`trail_from_chain`)."""
    if file is not None:
        return trail_from_file(
            file, w3=w3, ledger=ledger, abi_path=abi_path, expected_head=expected_head, confirmations=confirmations
        )
    if w3 is None or ledger is None:
        raise InvalidPeriod(f"{what} needs a ledger on a node (w3 and ledger) or an export (file)")
    return trail_from_chain(
        w3,
        ledger,
        abi=abi,
        from_block=from_block,
        confirmations=confirmations,
        index_path=index_path,
        progress=progress,
    )
