"""`audit verify --follow` on anvil: each new record verified as its block becomes final, a reorg of three
blocks that replaces three audit records reported record by record, the first finding ends it, Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from audit_anvil import ANVIL, POLICY, Chain, anvil, deploy, scenario
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from pylender.audit import CaughtUp, FindingEvent, Follower, Reorg, Verified, follow_ledger
from pylender.audit.verify import audit_ledger

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ANVIL.exists(), reason="anvil (npm) not installed")]

RECORDS = 29  # the scenario's (tests/audit/test_e2e_anvil.py)


@pytest.fixture()
def chain() -> Iterator[tuple[str, Chain]]:
    with anvil() as (url, _proc):
        c = deploy(url)
        scenario(c)
        yield url, c


def _rpc(c: Chain, method: str, params: list[Any] | None = None) -> Any:
    reply = c.w3.provider.make_request(method, params or [])  # type: ignore[arg-type]
    assert "error" not in reply, reply
    return reply["result"]


def _tx(c: Chain, fn: Any, sender: str) -> str:
    return "0x" + bytes(c.send(fn, sender)["transactionHash"]).hex()


def test_a_reorg_of_three_blocks_that_replaces_three_records_is_reported_record_by_record(
    chain: tuple[str, Chain], tmp_path: Path
) -> None:
    _, c = chain
    L = c.ledger.functions
    with Follower(c.w3, c.ledger.address, from_block=c.deploy_block, index_path=tmp_path / "audit.sqlite") as follower:
        (caught,) = follower.catch_up()
        assert isinstance(caught, CaughtUp) and caught.result.ok and caught.result.records == RECORDS
        assert follower.poll() == []  # nothing new
        snapshot, ancestor = _rpc(c, "evm_snapshot"), c.w3.eth.block_number
        old = [_tx(c, L.pause(), c.admin), _tx(c, L.unpause(), c.admin), _tx(c, L.withdraw(), c.bank)]
        first = follower.poll()
        assert [(e.record.seq, e.record.kind, e.record.tx_hash) for e in first if isinstance(e, Verified)] == [
            (RECORDS + 1, "LedgerPaused", old[0]),
            (RECORDS + 2, "LedgerUnpaused", old[1]),
            (RECORDS + 3, "Withdrawn", old[2]),
        ]
        assert [e.record.block_number for e in first] == [ancestor + 1, ancestor + 2, ancestor + 3]
        # the chain drops those three blocks and grows another branch: other records with the same seqs
        _rpc(c, "evm_revert", [snapshot])
        new = [
            _tx(c, L.registerInstitution(c.servicer, "Servicer Bank", False), c.admin),
            _tx(c, L.setPolicy(POLICY), c.admin),
            _tx(c, L.grantRole(keccak(text="PAUSER_ROLE"), c.servicer), c.admin),
        ]
        _rpc(c, "anvil_mine", [hex(2)])
        assert c.w3.eth.block_number == ancestor + 5
        reorg, *verified = follower.poll()
        assert isinstance(reorg, Reorg) and (reorg.ancestor, reorg.old_tip) == (ancestor, ancestor + 3)
        assert [(r.seq, r.kind, r.tx_hash) for r in reorg.dropped] == [
            (RECORDS + 1, "LedgerPaused", old[0]),
            (RECORDS + 2, "LedgerUnpaused", old[1]),
            (RECORDS + 3, "Withdrawn", old[2]),
        ]
        assert all(isinstance(e, Verified) for e in verified)
        assert [(e.record.seq, e.record.kind, e.record.tx_hash) for e in verified] == [  # type: ignore[union-attr]
            (RECORDS + 1, "InstitutionRegistered", new[0]),
            (RECORDS + 2, "PolicyUpdated", new[1]),
            (RECORDS + 3, "AccessChanged", new[2]),
        ]
        assert [e.replaces.tx_hash for e in verified] == old  # type: ignore[union-attr]
        assert verified[0].record.fields["name"] == "Servicer Bank" and verified[0].record.fields["index"] == 3  # type: ignore[union-attr]
        assert "REPLACES the reorganised seq 30 LedgerPaused" in verified[0].line()
        # what the index now holds is the chain's trail, as a fresh verification reads it
        fresh = audit_ledger(c.w3, c.ledger.address, from_block=c.deploy_block)
        assert fresh.result.ok and follower.index.records() == fresh.records
        assert follower.verified == 6 and follower.poll() == []


def test_a_record_is_reported_once_its_block_has_the_confirmations(chain: tuple[str, Chain]) -> None:
    _, c = chain
    with Follower(c.w3, c.ledger.address, from_block=c.deploy_block, confirmations=2) as follower:
        (caught,) = follower.catch_up()
        tip = c.w3.eth.block_number
        assert isinstance(caught, CaughtUp) and caught.block == tip - 2
        assert caught.result.records == RECORDS - 2  # the scenario's last two records are in its last two blocks
        paused = _tx(c, c.ledger.functions.pause(), c.admin)
        assert [e.record.seq for e in follower.poll()] == [RECORDS - 1]  # type: ignore[union-attr]
        assert follower.poll() == []
        _rpc(c, "anvil_mine", [hex(1)])
        assert [e.record.seq for e in follower.poll()] == [RECORDS]  # type: ignore[union-attr]
        _rpc(c, "anvil_mine", [hex(1)])
        (event,) = follower.poll()
        assert isinstance(event, Verified) and (event.record.seq, event.record.tx_hash) == (RECORDS + 1, paused)
        assert event.block == tip + 1 == c.w3.eth.block_number - 2


class TamperingProvider(HTTPProvider):
    """Serves logs after ``after`` with the first word of their data changed (a node that lies about new records;
    the head, the data's last word, is left alone)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.after: int | None = None

    def make_request(self, method: Any, params: Any) -> Any:
        reply = super().make_request(method, params)
        if method == "eth_getLogs" and self.after is not None:
            for log in reply.get("result") or []:
                if int(log["blockNumber"], 16) > self.after:
                    log["data"] = "0x" + ("1" if log["data"][2] != "1" else "2") + log["data"][3:]
        return reply


def test_the_first_finding_ends_the_following(chain: tuple[str, Chain]) -> None:
    url, c = chain
    provider = TamperingProvider(url)
    events = follow_ledger(Web3(provider), c.ledger.address, from_block=c.deploy_block, poll_interval=0.0)
    assert isinstance(next(events), CaughtUp)
    provider.after = c.w3.eth.block_number
    c.send(c.ledger.functions.withdraw(), c.bank)
    (finding, *rest) = list(events)  # the generator ends after the finding
    assert isinstance(finding, FindingEvent) and rest == []
    assert (finding.finding.check, finding.finding.seq) == ("chain", RECORDS + 1)


def _follow_process(url: str, c: Chain, tmp_path: Path) -> subprocess.Popen[str]:
    args = ["--rpc", url, "--ledger", c.ledger.address, "--from-block", str(c.deploy_block)]
    return subprocess.Popen(
        [sys.executable, "-m", "pylender.cli", "audit", "verify", "--follow", "--json", "--poll", "0.1", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,  # no deployment file there
        env={**os.environ, "PYLENDER_RPC": "", "PYLENDER_LEDGER": ""},
    )


def test_the_command_prints_a_json_line_per_record_and_stops_cleanly_on_ctrl_c(
    chain: tuple[str, Chain], tmp_path: Path
) -> None:
    url, c = chain
    proc = _follow_process(url, c, tmp_path)
    try:
        assert proc.stdout is not None
        caught = json.loads(proc.stdout.readline())
        assert (caught["event"], caught["records"], caught["outcome"]) == ("caught-up", RECORDS, "verified")
        paused = _tx(c, c.ledger.functions.pause(), c.admin)
        unpaused = _tx(c, c.ledger.functions.unpause(), c.admin)
        lines = [json.loads(proc.stdout.readline()) for _ in range(2)]
        assert [(x["event"], x["seq"], x["kind"], x["tx_hash"]) for x in lines] == [
            ("verified", RECORDS + 1, "LedgerPaused", paused),
            ("verified", RECORDS + 2, "LedgerUnpaused", unpaused),
        ]
        time.sleep(0.3)  # a few empty polls
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Traceback" not in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert (summary["event"], summary["verified"], summary["exit_code"]) == ("stopped", 2, 130)
