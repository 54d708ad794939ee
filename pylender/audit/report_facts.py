"""What the report says beyond the books: where the records are from, the token, the times of blocks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from web3 import Web3

from pylender.audit.findings import VerificationResult
from pylender.audit.portfolio import Units
from pylender.audit.records import Record
from pylender.errors import InvalidZone


@dataclass
class ReportFacts:
    """What the report says beyond the books: where the records are from, the token, and block times."""

    ledger: str | None = None
    chain_id: int | None = None
    first_block: int | None = None
    final_block: int | None = None
    token: str | None = None
    symbol: str | None = None
    decimals: int | None = None
    block_times: dict[int, int] = field(default_factory=dict)
    zone_name: str = "UTC"
    source: str = ""
    generated: int = field(default_factory=lambda: int(datetime.now(UTC).timestamp()))

    @property
    def zone(self) -> tzinfo:
        if self.zone_name == "UTC":
            return UTC
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(self.zone_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidZone(f"unknown timezone {self.zone_name!r} (an IANA name such as Asia/Shanghai)") from exc

    @property
    def units(self) -> Units:
        return Units(self.decimals, self.symbol)

    def iso(self, timestamp: int | None) -> str:
        """ISO 8601 in the report's timezone (``Z`` for UTC, else the offset)."""
        if timestamp is None:
            return "time unknown"
        when = datetime.fromtimestamp(timestamp, self.zone)
        text = when.isoformat(timespec="seconds")
        return text.replace("+00:00", "Z") if self.zone_name == "UTC" else text

    def block(self, number: int | None) -> str:
        if number is None:
            return "?"
        when = self.block_times.get(number)
        return f"{number:,} ({self.iso(when)})" if when is not None else f"{number:,}"

    @property
    def as_of(self) -> int | None:
        return self.block_times.get(self.final_block) if self.final_block is not None else None


def check_zone(name: str) -> tzinfo:
    """The timezone ``name`` names (:class:`InvalidZone` if none)."""
    return ReportFacts(zone_name=name).zone


def facts_from_chain(
    w3: Web3, ledger: str, records: Sequence[Record], result: VerificationResult, zone_name: str = "UTC"
) -> ReportFacts:
    """The token, and the times of the report's blocks (range, disbursements, the records' blocks) from a node."""
    from pylender.audit.provenance import block_times, token_facts
    from pylender.audit.rpc import Rpc

    rpc = Rpc(w3)
    try:
        final = result.final_block if result.final_block is not None else rpc.block_number()
        token, symbol, decimals = token_facts(rpc, ledger, final)
        blocks = {r.block_number for r in records} | {final}
        if result.first_block is not None:
            blocks.add(result.first_block)
        times = block_times(rpc, sorted(blocks))
    finally:
        rpc.close()
    return ReportFacts(
        ledger=ledger,
        chain_id=result.chain_id,
        first_block=result.first_block,
        final_block=final,
        token=token,
        symbol=symbol,
        decimals=decimals,
        block_times=times,
        zone_name=zone_name,
        source=f"ledger {ledger} read from a node",
    )


def facts_from_export(exp: Any, result: VerificationResult, source: str, zone_name: str = "UTC") -> ReportFacts:
    """The same facts from an export's header and block times (offline)."""
    from pylender.audit.export import parse_time

    header = exp.header
    times = dict(exp.block_times)
    if header is not None and header.final_block is not None and header.final_block_time:
        final_time = parse_time(header.final_block_time)
        if final_time is not None:
            times[header.final_block] = final_time
    return ReportFacts(
        ledger=exp.ledger,
        chain_id=exp.chain_id,
        first_block=header.first_block if header else None,
        final_block=result.final_block if result.final_block is not None else (header.final_block if header else None),
        token=header.token if header else None,
        symbol=header.token_symbol if header else None,
        decimals=header.token_decimals if header else None,
        block_times=times,
        zone_name=zone_name,
        source=source,
    )
