"""Audit output is never cut short: piped or redirected, every digit and hash is kept; on a terminal, table
cells fold instead of ending in "…". Every audit command speaks JSON with --json."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_anvil import ANVIL, Chain, anvil, deploy, scenario
from click.testing import CliRunner
from rich.console import Console

from pylender.audit.cli import audit
from pylender.audit.cli.output import table
from pylender.audit.records import format_head

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ANVIL.exists(), reason="anvil (npm) not installed")]


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[str, Chain]]:
    with anvil() as (url, _proc):
        c = deploy(url)
        scenario(c)
        yield url, c


def _base(url: str, c: Chain, tmp: Path) -> list[str]:
    block = str(c.deploy_block)
    return ["--rpc", url, "--ledger", c.ledger.address, "--from-block", block, "--deployment", str(tmp / "none.json")]


def _run(args: list[str]) -> str:
    out = CliRunner().invoke(audit, args, env={"COLUMNS": "80"})  # what a piped shell in an 80-column window says
    assert out.exit_code == 0, out.output
    assert "…" not in out.output and "..." not in out.output
    return out.output


def test_redirected_output_keeps_every_hash_address_and_digit(chain: tuple[str, Chain], tmp_path: Path) -> None:
    url, c = chain
    base = _base(url, c, tmp_path)
    head = format_head(int.from_bytes(c.ledger.functions.auditHead().call(), "big"))
    verify = _run(["verify", *base])
    assert head in verify and c.ledger.address in verify
    roles = _run(["roles", *base])
    assert all(who in roles for who in (c.admin, c.servicer, c.bank, c.platform))
    trail = _run(["trail", "2", *base])
    entries = json.loads(CliRunner().invoke(audit, ["trail", "2", *base, "--json"]).output)
    assert c.bank in trail and c.borrower in trail and "123,457" in trail
    assert all(e["tx_hash"] in trail for e in entries)
    statement = _run(["lender", "1", *base])
    assert "-375,952" in statement and "847,011" in statement and c.bank in statement


def test_a_real_redirect_to_a_file_keeps_the_head_whole(chain: tuple[str, Chain], tmp_path: Path) -> None:
    url, c = chain
    out = tmp_path / "evidence.txt"
    with out.open("w") as fh:
        code = subprocess.call(
            [sys.executable, "-m", "pylender.cli", "audit", "verify", *_base(url, c, tmp_path)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"},
        )
    text = out.read_text()
    assert code == 0, text
    assert format_head(int.from_bytes(c.ledger.functions.auditHead().call(), "big")) in text and "…" not in text


def test_on_a_narrow_terminal_table_cells_fold_instead_of_being_cut() -> None:
    address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    screen = io.StringIO()
    Console(file=screen, width=24, force_terminal=True, color_system=None).print(table(None, ["account"], [[address]]))
    lines = screen.getvalue().splitlines()
    assert "…" not in screen.getvalue() and max(len(line) for line in lines) <= 24
    assert "".join(line.strip("│┃ ") for line in lines[3:-1]) == address  # folded over lines, every digit kept


def test_every_audit_command_answers_in_json(chain: tuple[str, Chain], tmp_path: Path) -> None:
    url, c = chain
    base = _base(url, c, tmp_path)
    assert all(any(p.name == "as_json" for p in cmd.params) for cmd in audit.commands.values())
    answers = {
        "verify": ["verify", *base],
        "export": ["export", *base, "--out", str(tmp_path / "t.csv")],
        "trail": ["trail", "1", *base],
        "roles": ["roles", *base],
        "lender": ["lender", "Bank", *base],
        "report": ["report", *base, "--html", str(tmp_path / "r.html")],
    }
    assert set(answers) <= set(audit.commands)
    for name, args in answers.items():
        out = CliRunner().invoke(audit, [*args, "--json"])
        assert out.exit_code == 0, (name, out.output)
        json.loads(out.output)
