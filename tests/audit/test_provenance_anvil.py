"""Exports describe themselves, and `verify --file F --rpc URL` proves F is the chain's trail as of F's final block.

A truncated export is "not proven complete" offline (exit 3) and exits 1 naming the missing seqs against the
chain; an untouched export still verifies (exit 0) after 50 more transactions, through the ledger's head read
at the export's final block or, on a node without historical state, through the chain's later records.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from audit_anvil import ANVIL, Chain, anvil, deploy, scenario
from click.testing import CliRunner, Result
from web3 import HTTPProvider, Web3

from pylender.audit.cli import audit
from pylender.audit.export import PARQUET_KEY, read_export, sidecar_path
from pylender.audit.findings import Outcome
from pylender.audit.records import format_head
from pylender.audit.verify import verify_file

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ANVIL.exists(), reason="anvil (npm) not installed")]

RECORDS = 29  # the scenario's records (tests/audit/test_e2e_anvil.py)
MORE = 50  # transactions after the export, each an audit record (pause, unpause, ...)


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[str, Chain]]:
    with anvil() as (url, _proc):
        c = deploy(url)
        scenario(c)
        yield url, c


def _cli(*args: str, tmp: Path) -> Result:
    return CliRunner().invoke(audit, [*args, "--deployment", str(tmp / "no-deployment.json")])


def _export(url: str, c: Chain, path: Path) -> Result:
    fmt = path.suffix.lstrip(".")
    args = ["export", "--rpc", url, "--ledger", c.ledger.address, "--from-block", str(c.deploy_block)]
    out = _cli(*args, "--format", fmt, "--out", str(path), tmp=path.parent)
    assert out.exit_code == 0, out.output
    return out


def _truncate(path: Path, cut: int = 3) -> None:
    """Remove the last ``cut`` records as a person with a text editor would (the header left as it was)."""
    if path.suffix == ".json":
        doc = json.loads(path.read_text())
        doc["records"] = doc["records"][:-cut]
        path.write_text(json.dumps(doc))
    elif path.suffix == ".csv":
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[:-cut]))
    else:
        table = pq.read_table(path)
        pq.write_table(table.slice(0, table.num_rows - cut), path)  # keeps the schema metadata


def _more_activity(c: Chain, transactions: int = MORE) -> None:
    for i in range(transactions):
        c.send(c.ledger.functions.pause() if i % 2 == 0 else c.ledger.functions.unpause(), c.admin)


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_every_format_carries_ledger_chain_blocks_final_head_and_tool(
    chain: tuple[str, Chain], tmp_path: Path, fmt: str
) -> None:
    url, c = chain
    path = tmp_path / f"trail.{fmt}"
    _export(url, c, path)
    header = read_export(path).header
    assert header is not None
    head = format_head(int.from_bytes(c.ledger.functions.auditHead().call(), "big"))
    assert (header.ledger, header.chain_id, header.first_block) == (c.ledger.address, 31337, c.deploy_block)
    assert header.final_block == c.w3.eth.block_number and header.records == RECORDS
    assert (header.first_seq, header.last_seq, header.final_head, header.onchain_head) == (1, RECORDS, head, head)
    assert header.tool.startswith("pylender ") and (header.token_symbol, header.token_decimals) == ("TUSD", 6)
    assert header.final_block_time and header.final_block_time.endswith("Z") and header.abi
    if fmt == "csv":  # the CSV stays a plain table; the header is its sidecar
        with path.open(newline="") as fh:
            assert len(list(csv.DictReader(fh))) == RECORDS
        assert json.loads(sidecar_path(path).read_text())["header"]["final_head"] == head
    if fmt == "parquet":
        assert json.loads(pq.read_schema(path).metadata[PARQUET_KEY])["ledger"] == c.ledger.address


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_a_truncated_export_is_not_proven_offline_and_names_the_missing_seqs_against_the_chain(
    chain: tuple[str, Chain], tmp_path: Path, fmt: str
) -> None:
    url, c = chain
    path = tmp_path / f"trail.{fmt}"
    _export(url, c, path)
    _truncate(path)
    offline = _cli("verify", "--file", str(path), tmp=tmp_path)
    assert offline.exit_code == 3, offline.output
    assert "NOT PROVEN COMPLETE" in offline.output and "PASSED" not in offline.output
    assert "records may have been removed" in offline.output  # the header's claim is noted, not trusted
    checked = _cli("verify", "--file", str(path), "--rpc", url, "--json", tmp=tmp_path)  # no --ledger
    assert checked.exit_code == 1, checked.output
    result = json.loads(checked.output)
    assert result["outcome"] == "findings" and result["ledger"] == c.ledger.address
    (finding,) = result["findings"]
    assert (finding["check"], finding["seq"]) == ("head", RECORDS - 2)
    assert f"record(s) {RECORDS - 2}..{RECORDS} missing at the end" in finding["detail"]


def test_an_untouched_export_verifies_against_the_chain_after_50_more_transactions(tmp_path: Path) -> None:
    with anvil() as (url, _proc):
        c = deploy(url)
        scenario(c)
        exports = {fmt: tmp_path / f"trail.{fmt}" for fmt in ("csv", "json", "parquet")}
        for path in exports.values():
            _export(url, c, path)
        truncated = tmp_path / "cut.json"
        truncated.write_text(exports["json"].read_text())
        _truncate(truncated)
        final = read_export(exports["json"]).header.final_block  # type: ignore[union-attr]
        _more_activity(c)
        assert int.from_bytes(c.ledger.functions.auditHead().call(), "big") & (2**56 - 1) == RECORDS + MORE
        for path in exports.values():
            for method in ("auto", "state", "logs"):
                out = _cli("verify", "--file", str(path), "--rpc", url, "--prefix-check", method, tmp=tmp_path)
                assert out.exit_code == 0, (method, out.output)
                assert "VERIFIED" in out.output and f"block {final}" in out.output
        # the later records are no excuse for the cut ones: each proof names them
        state = _cli("verify", "--file", str(truncated), "--rpc", url, "--prefix-check", "state", tmp=tmp_path)
        assert state.exit_code == 1 and f"{RECORDS - 2}..{RECORDS} missing at the end" in state.output
        logs = _cli("verify", "--file", str(truncated), "--rpc", url, "--prefix-check", "logs", tmp=tmp_path)
        assert logs.exit_code == 1, logs.output
        assert f"record(s) {RECORDS - 2}..{RECORDS} were written at or before block {final}" in logs.output


class NoHistoryProvider(HTTPProvider):
    """A node that keeps no historical state: eth_call at a block number below the head is refused, as a
    pruned geth answers it."""

    def make_request(self, method: Any, params: Any) -> Any:
        if method == "eth_call" and isinstance(params[1], str) and params[1].startswith("0x"):
            latest = super().make_request("eth_blockNumber", [])["result"]
            if int(params[1], 16) < int(latest, 16):
                return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "missing trie node abc"}}
        return super().make_request(method, params)


def test_a_node_without_historical_state_proves_the_export_by_the_records_that_continue_it(
    chain: tuple[str, Chain], tmp_path: Path
) -> None:
    url, c = chain
    path = tmp_path / "trail.json"
    _export(url, c, path)
    c.send(c.ledger.functions.pause(), c.admin)
    c.send(c.ledger.functions.unpause(), c.admin)
    result = verify_file(path, w3=Web3(NoHistoryProvider(url)))
    assert (result.outcome, result.final_block) == (Outcome.VERIFIED, read_export(path).header.final_block)  # type: ignore[union-attr]
    assert "continue the export's chain" in " ".join(result.notes) and "missing trie node" in " ".join(result.notes)
    assert result.trusted_head == format_head(int.from_bytes(c.ledger.functions.auditHead().call(), "big"))
    _truncate(path, cut=1)
    cut = verify_file(path, w3=Web3(NoHistoryProvider(url)))
    assert [(f.check, f.seq) for f in cut.findings] == [("head", RECORDS)]


def test_an_export_checked_against_another_ledger_or_chain_is_a_named_error(
    chain: tuple[str, Chain], tmp_path: Path
) -> None:
    url, c = chain
    path = tmp_path / "trail.json"
    _export(url, c, path)
    other = _cli("verify", "--file", str(path), "--rpc", url, "--ledger", c.token.address, tmp=tmp_path)
    assert other.exit_code == 2 and "ExportMismatch" in other.output and c.token.address in other.output
    doc = json.loads(path.read_text())
    doc["header"]["chain_id"] = 1
    path.write_text(json.dumps(doc))
    wrong_chain = _cli("verify", "--file", str(path), "--rpc", url, tmp=tmp_path)
    assert wrong_chain.exit_code == 2 and "the export is of chain 1" in wrong_chain.output
    assert "Traceback" not in other.output + wrong_chain.output
