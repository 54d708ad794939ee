"""What the command-line tests share: invoking ``pylender`` on the session's chain, a deployed ledger with an active
loan, and the checks every refusal must pass (named, non-zero exit, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from pylender.cli import cli

TOUR_LOAN = ("--borrower", "5", "--borrower-id", "alice", "--principal", "12000", "--rate", "1200", "--periods", "12")
TRANCHES = ("--tranche", "1:7000", "--tranche", "2:3000")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """``pylender ARGS`` (click's runner: stdout and stderr together in ``output``)."""
    return CliRunner().invoke(cli, list(args), env=env)


def on(rpc_url: str, dep_file: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """``pylender --rpc URL --deployment FILE ARGS``."""
    return run("--rpc", rpc_url, "--deployment", str(dep_file), *args, env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def as_json(result: Result) -> dict[str, Any]:
    data = json.loads(ok(result))
    assert isinstance(data, dict)
    return data


def refused(result: Result, *fragments: str, code: int | None = None) -> None:
    """A refusal: a non-zero exit (``code`` if given), an ``Error:`` line with every fragment, no traceback."""
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Error: " in result.output, result.output
    for fragment in fragments:
        assert fragment in result.output, f"{fragment!r} not in {result.output!r}"


def deploy_tour(rpc_url: str, dep_file: Path) -> dict[str, Any]:
    """The README tour's set-up: a deployment, a bank (1) and a platform (2), tokens for 1, 2 and 5, loan 1 active."""
    deployed = as_json(on(rpc_url, dep_file, "deploy", "--json"))
    ok(on(rpc_url, dep_file, "lender", "add", "1", "Bank"))
    ok(on(rpc_url, dep_file, "lender", "add", "2", "Platform", "--platform"))
    for who in ("1", "2", "5"):
        ok(on(rpc_url, dep_file, "token", "mint", who, "100000"))
    ok(on(rpc_url, dep_file, "loan", "originate", *TOUR_LOAN, *TRANCHES))
    ok(on(rpc_url, dep_file, "loan", "fund", "1", "--all"))
    ok(on(rpc_url, dep_file, "loan", "disburse", "1"))
    return deployed
