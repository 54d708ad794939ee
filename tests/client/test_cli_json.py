"""Every command takes ``--json`` and prints one valid JSON object in one style: snake_case keys, enums by name,
amounts in base units beside the token's decimals, and the transactions each write sent.

The commands are walked from the ``pylender`` group itself, so a command added without a case here fails the test.
``audit``'s commands are the audit's own (``tests/audit``), ``statement`` and ``reconcile`` the statements' own
(``tests/statements``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from cli_helpers import TOUR_LOAN, TRANCHES, as_json, on, run

from pylender.cli import cli
from pylender.client.node import free_port
from pylender.client.session import Pylender

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "co-lending-70-30.yaml"
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")

# Each command with --json, in an order that takes a ledger through a whole life; "+" marks a write.
SCRIPT: list[tuple[str, tuple[str, ...]]] = [
    ("+deploy", ()),
    ("+lender add", ("1", "Bank")),
    ("+token mint", ("1", "100000")),
    ("+token mint", ("2", "100000")),
    ("+token mint", ("5", "100000")),
    ("+lender add", ("2", "Platform", "--platform")),
    ("+loan originate", (*TOUR_LOAN, *TRANCHES)),
    ("+loan fund", ("1", "--all")),
    ("+loan disburse", ("1",)),
    ("+loan repay", ("1", "100", "--from", "5")),
    ("loan show", ("1",)),
    ("loan schedule", ("1",)),
    ("loan list", ("--status", "active")),
    ("+loan prepay", ("1", "1000", "--from", "5")),
    ("+position offer", ("1", "--to", "2", "--share", "1000", "--price", "10", "--from", "1")),
    ("position show", ("1",)),
    ("+position accept", ("1", "--from", "2")),
    ("+position offer", ("1", "--to", "2", "--share", "100", "--price", "0", "--from", "1")),
    ("+position cancel", ("2", "--from", "1")),
    ("chain info", ()),
    ("chain advance", ("61d",)),
    ("chain mine", ("2",)),
    ("lender balance", ()),
    ("+lender withdraw", ("--from", "1")),
    ("credit", ("alice",)),
    ("token balance", ("5",)),
    ("token allowance", ("5",)),
    ("+token approve", ("0", "--from", "5")),
    (
        "+loan originate",
        ("--borrower", "5", "--borrower-id", "bob", "--principal", "500", "--rate", "900", "--periods", "3", *TRANCHES),
    ),
    ("+loan cancel", ("2",)),
    ("chain advance", ("200d",)),
    ("+loan default", ("1",)),
    ("+loan write-off", ("1",)),
    ("+loan recover", ("1", "10", "--from", "5")),
    ("+lender withdraw", ("--to", "7", "--from", "1")),
    ("+lender rotate", ("2", "6")),
    ("role show", ()),
    ("+role grant", ("pauser", "3")),
    ("+role renounce", ("pauser", "--from", "3")),
    ("+role revoke", ("servicer", "4")),
    ("policy show", ()),
    ("+policy set", ("--max-annual-rate-bps", "2000", "--default-after", "60d")),
    ("+pause", ()),
    ("+unpause", ()),
    # a pool ({pool}: the address `pool create` printed) buys part of the written-off loan and passes its recovery on
    ("+pool create", ("--name", "P", "--coupon", "600", "--min-junior", "2000", "--subscription-days", "1")),
    ("+pool subscribe", ("{pool}", "senior", "100", "--from", "5")),
    ("+pool subscribe", ("{pool}", "junior", "50", "--from", "5")),
    ("chain advance", ("2d",)),
    ("+position offer", ("1", "--to", "{pool}", "--share", "1000", "--price", "10", "--from", "1")),
    ("+pool buy", ("{pool}", "3")),
    ("+loan recover", ("1", "10", "--from", "5")),
    ("+pool distribute", ("{pool}",)),
    ("pool show", ("{pool}", "--holder", "5")),
    ("+pool claim", ("{pool}", "senior", "--from", "5")),
]


def command_paths(group: click.Group, ctx: click.Context, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name in group.list_commands(ctx):
        if not prefix and name in ("audit", "statement", "reconcile"):
            continue  # their own JSON (--json, --format json) is tested in tests/audit and tests/statements
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            paths |= command_paths(command, ctx, f"{path} ")
        else:
            paths.add(path)
    return paths


def check_style(value: Any, where: str = "") -> None:
    """snake_case keys all the way down; no camelCase, no enum codes where a name belongs."""
    if isinstance(value, dict):
        for key, inner in value.items():
            assert SNAKE.match(key), f"{where}{key} is not snake_case"
            if key in ("status", "method"):
                assert isinstance(inner, str), f"{where}{key} must be a name, got {inner!r}"
            check_style(inner, f"{where}{key}.")
    elif isinstance(value, list):
        for item in value:
            check_style(item, where)


@pytest.fixture()
def fresh(chain: Pylender) -> Iterator[None]:
    snapshot = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield
    chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


def test_every_command_prints_valid_json(rpc_url: str, fresh: None, tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    seen: set[str] = set()
    pool = ""
    for entry, args in SCRIPT:
        path = entry.lstrip("+")
        result = on(rpc_url, dep, *path.split(), *(a.replace("{pool}", pool) for a in args), "--json")
        data = as_json(result)
        if path == "pool create":
            pool = data["pool"]
        check_style(data, f"{path}: ")
        if entry.startswith("+"):
            sent = data["transactions"]
            assert sent and all(set(s) == {"action", "tx_hash", "block", "gas_used"} for s in sent), path
            assert all(re.fullmatch(r"0x[0-9a-f]{64}", s["tx_hash"]) and s["gas_used"] > 0 for s in sent), path
        else:
            assert "transactions" not in data, path
        seen.add(path)
    shown = as_json(on(rpc_url, dep, "loan", "show", "1", "--json"))
    assert (shown["loan"]["status"], shown["loan"]["method"], shown["decimals"]) == (
        "WrittenOff",
        "EqualInstallment",
        6,
    )
    # run and demo on fresh embedded chains of their own, node as a process
    for path, args in (("run", (str(SCENARIO),)), ("demo", ("--loans", "4"))):
        data = as_json(run("--deployment", str(tmp_path / "other.json"), path, *args, "--json"))
        check_style({k: v for k, v in data.items() if k not in ("lenders", "loans", "by_status")}, f"{path}: ")
        assert data["decimals"] == 6 and data["ledger"].startswith("0x")
        seen.add(path)
    seen.add("node")  # test_node_prints_json
    with click.Context(cli) as ctx:
        assert command_paths(cli, ctx) == seen


def test_node_prints_json(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYLENDER_NODE_MODULES": str(ROOT / "node_modules")}
    command = [sys.executable, "-m", "pylender.cli", "node", "--port", str(port), "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path) as proc:
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            assert info == {
                "url": f"http://127.0.0.1:{port}",
                "chain_id": 31337,
                "accounts": 10,
                "state": None,
                "pid": info["pid"],
            }
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)
    assert proc.returncode == 0
