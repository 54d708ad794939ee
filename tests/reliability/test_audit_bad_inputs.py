"""No `pylender audit` command answers bad input with a traceback: a named error, a non-zero exit, one line.

Exit 2 is bad input (click's own usage errors too), 4 an audit that could not be carried out (the node
unreachable). The cases are the ones a new user and an independent check hit, and the ones found around them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from reliability_support import World

from pylender.cli import cli

BAD_CHECKSUM = "0x70997970c51812dc3a010c7d01b50e0d17dc79C8"  # one letter's case changed


@dataclass(frozen=True)
class Case:
    args: Callable[[World, Path], list[str]]
    code: int
    says: str  # the named error (or part of its message)


def _chain(w: World) -> list[str]:
    return ["--rpc", w.session.url or "", "--ledger", w.deployment.ledger, "--from-block", str(w.deployment.block)]


def _rpc(w: World) -> list[str]:
    return ["--rpc", w.session.url or "", "--from-block", str(w.deployment.block)]


def _file(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text)
    return str(path)


CASES: dict[str, Case] = {
    # ------------------------------------------------------------------ where the records are
    "verify: --ledger 0x1234": Case(lambda w, t: ["verify", *_rpc(w), "--ledger", "0x1234"], 2, "InvalidAddress"),
    "verify: --ledger is a word": Case(lambda w, t: ["verify", *_rpc(w), "--ledger", "bank"], 2, "is not an address"),
    "verify: --ledger with a bad checksum": Case(
        lambda w, t: ["verify", *_rpc(w), "--ledger", BAD_CHECKSUM], 2, "bad checksum"
    ),
    "verify: --ledger is the token": Case(
        lambda w, t: ["verify", *_rpc(w), "--ledger", w.deployment.token],
        2,
        "no pylender ledger at {token} on chain 31337",
    ),
    "verify: --ledger is an account": Case(
        lambda w, t: ["verify", *_rpc(w), "--ledger", w.address("outsider")],
        2,
        "no pylender ledger at {outsider} on chain 31337",
    ),
    "verify: --rpc where nothing listens": Case(
        lambda w, t: ["verify", "--rpc", "http://127.0.0.1:9", "--ledger", w.deployment.ledger], 4, "NodeUnreachable"
    ),
    "verify: --rpc is not a URL": Case(
        lambda w, t: ["verify", "--rpc", "localhost8545", "--ledger", w.deployment.ledger], 2, "InvalidRpcUrl"
    ),
    "verify: no source at all": Case(lambda w, t: ["verify"], 2, "no records source"),
    "verify: --deployment is not JSON": Case(
        lambda w, t: ["verify", "--deployment", _file(t, "dep.json", "{not json")], 4, "DeploymentNotFound"
    ),
    "verify: --confirmations beyond the chain": Case(
        lambda w, t: ["verify", *_chain(w), "--confirmations", "100000000"], 2, "no block is final yet"
    ),
    "verify: --confirmations -1": Case(lambda w, t: ["verify", *_chain(w), "--confirmations", "-1"], 2, "-1"),
    "verify: --from-block -5": Case(lambda w, t: ["verify", *_rpc(w), "--from-block", "-5"], 2, "-5"),
    # ------------------------------------------------------------------ files
    "verify: --file that does not exist": Case(
        lambda w, t: ["verify", "--file", str(t / "missing.csv")], 2, "no such export file"
    ),
    "verify: --file with an unknown suffix": Case(
        lambda w, t: ["verify", "--file", _file(t, "notes.txt", "hello")], 2, "unknown export suffix"
    ),
    "verify: --file that is not Parquet": Case(
        lambda w, t: ["verify", "--file", _file(t, "trail.parquet", "seq,kind\n1,x\n")], 2, "not a Parquet file"
    ),
    "verify: --file .json that is not JSON": Case(
        lambda w, t: ["verify", "--file", _file(t, "trail.json", "{oops")], 2, "not JSON"
    ),
    "verify: --file .json that is not an export": Case(
        lambda w, t: ["verify", "--file", _file(t, "trail.json", '{"records": []}')], 2, "not a pylender-audit-export"
    ),
    "verify: --file .csv without the columns": Case(
        lambda w, t: ["verify", "--file", _file(t, "trail.csv", "a,b\n1,2\n")], 2, "no column"
    ),
    "verify: --file .csv with an unreadable row": Case(
        lambda w, t: [
            "verify",
            "--file",
            _file(t, "trail.csv", "seq,kind,loan_id,head,block_number,tx_hash,log_index,fields\nx,A,,0x1,1,0x,0,{}\n"),
        ],
        2,
        "unreadable export row",
    ),
    "verify: --file is a directory": Case(lambda w, t: ["verify", "--file", str(t)], 2, "is a directory"),
    "verify: --expected-head 0x1234": Case(
        lambda w, t: ["verify", *_chain(w), "--expected-head", "0x1234"], 2, "InvalidHead"
    ),
    "verify: --expected-head not hex": Case(
        lambda w, t: ["verify", *_chain(w), "--expected-head", "0x" + "zz" * 32], 2, "not hexadecimal"
    ),
    "verify: --index is a directory": Case(lambda w, t: ["verify", *_chain(w), "--index", str(t)], 2, "IndexUnusable"),
    "verify: --index is not SQLite": Case(
        lambda w, t: ["verify", *_chain(w), "--index", _file(t, "index.sqlite", "seq,kind\n" * 100)],
        2,
        "not a usable SQLite audit index",
    ),
    "verify: --index in a missing directory": Case(
        lambda w, t: ["verify", *_chain(w), "--index", str(t / "no" / "such" / "index.sqlite")], 2, "IndexUnusable"
    ),
    "verify: --abi that is not JSON": Case(
        lambda w, t: ["verify", *_chain(w), "--abi", _file(t, "abi.json", "nope")], 2, "InvalidAbi"
    ),
    "verify: --abi without audit events": Case(
        lambda w, t: ["verify", *_chain(w), "--abi", _file(t, "abi.json", "[]")], 2, "no audit event"
    ),
    "verify: --abi that does not exist": Case(
        lambda w, t: ["verify", *_chain(w), "--abi", str(t / "missing.json")], 2, "no such file"
    ),
    "verify: --prefix-check unknown": Case(lambda w, t: ["verify", *_chain(w), "--prefix-check", "magic"], 2, "magic"),
    "verify: --follow an export": Case(
        lambda w, t: ["verify", "--follow", "--file", _file(t, "t.json", "{}")], 2, "cannot follow an export"
    ),
    "verify: --follow with --expected-head": Case(
        lambda w, t: ["verify", *_chain(w), "--follow", "--expected-head", "0x" + "00" * 31 + "01"], 2, "--follow"
    ),
    "verify: --poll 0": Case(lambda w, t: ["verify", *_chain(w), "--follow", "--poll", "0"], 2, "--poll"),
    # ------------------------------------------------------------------ export
    "export: --out in a missing directory": Case(
        lambda w, t: ["export", *_chain(w), "--out", str(t / "no" / "t.csv")], 2, "does not exist"
    ),
    "export: --out is a directory": Case(lambda w, t: ["export", *_chain(w), "--out", str(t)], 2, "is a directory"),
    "export: --out cannot take the bytes": Case(
        lambda w, t: ["export", *_chain(w), "--format", "json", "--out", "/dev/full"], 2, "cannot write /dev/full"
    ),
    "export: --format xml": Case(lambda w, t: ["export", *_chain(w), "--format", "xml", "--out", "x.xml"], 2, "xml"),
    "export: --ledger is the token": Case(
        lambda w, t: ["export", *_rpc(w), "--ledger", w.deployment.token, "--out", str(t / "t.csv")],
        2,
        "no pylender ledger",
    ),
    "export: --file that is not Parquet": Case(
        lambda w, t: ["export", "--file", _file(t, "in.parquet", "x"), "--out", str(t / "t.csv")],
        2,
        "not a Parquet file",
    ),
    # ------------------------------------------------------------------ trail
    "trail: loan 0": Case(lambda w, t: ["trail", "0", *_chain(w)], 2, "0"),
    "trail: loan abc": Case(lambda w, t: ["trail", "abc", *_chain(w)], 2, "abc"),
    "trail: a loan the trail does not hold": Case(lambda w, t: ["trail", "99", *_chain(w)], 2, "no record of loan 99"),
    "trail: --ledger 0x1234": Case(lambda w, t: ["trail", "1", *_rpc(w), "--ledger", "0x1234"], 2, "InvalidAddress"),
    # ------------------------------------------------------------------ lender
    "lender: the README's 0x7099...": Case(lambda w, t: ["lender", "0x7099...", *_chain(w)], 2, "abbreviated address"),
    "lender: an index no institution has": Case(lambda w, t: ["lender", "99", *_chain(w)], 2, "no institution 99"),
    "lender: a name no institution has": Case(
        lambda w, t: ["lender", "Nobody", *_chain(w)], 2, "neither an institution index"
    ),
    "lender: an address that is no institution": Case(
        lambda w, t: ["lender", w.address("outsider"), *_chain(w)], 2, "is not an institution in the trail"
    ),
    "lender: 0xZZ": Case(lambda w, t: ["lender", "0xZZ", *_chain(w)], 2, "is not an address"),
    "lender: a bad checksum": Case(lambda w, t: ["lender", BAD_CHECKSUM, *_chain(w)], 2, "bad checksum"),
    # ------------------------------------------------------------------ roles
    "roles: --ledger is an account": Case(
        lambda w, t: ["roles", *_rpc(w), "--ledger", w.address("outsider")], 2, "no pylender ledger"
    ),
    "roles: --file that is not Parquet": Case(
        lambda w, t: ["roles", "--file", _file(t, "r.parquet", "x")], 2, "not a Parquet file"
    ),
    # ------------------------------------------------------------------ report
    "report: --html in a missing directory": Case(
        lambda w, t: ["report", *_chain(w), "--html", str(t / "no" / "r.html")], 2, "does not exist"
    ),
    "report: --html is a directory": Case(lambda w, t: ["report", *_chain(w), "--html", str(t)], 2, "is a directory"),
    "report: --ledger 0x1234": Case(
        lambda w, t: ["report", *_rpc(w), "--ledger", "0x1234", "--html", str(t / "r.html")], 2, "InvalidAddress"
    ),
    "pool: POOL 0x1234": Case(lambda w, t: ["pool", "0x1234", *_chain(w)], 2, "InvalidAddress"),
    "pool: an account that is no pool": Case(
        lambda w, t: ["pool", w.address("outsider"), *_chain(w)], 2, "NotAPool: no loan pool at {outsider}"
    ),
    "pool: a token that is no pool": Case(lambda w, t: ["pool", w.deployment.token, *_chain(w)], 2, "NotAPool"),
    "pool: no source": Case(lambda w, t: ["pool", w.deployment.token], 2, "no records source"),
    "report: no --html": Case(lambda w, t: ["report", *_chain(w)], 2, "--html"),
    "report: an unknown --timezone": Case(
        lambda w, t: ["report", *_chain(w), "--html", str(t / "r.html"), "--timezone", "Mars/Olympus"],
        2,
        "unknown timezone 'Mars/Olympus'",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_input_is_a_named_error_without_a_traceback(world: World, tmp_path: Path, name: str) -> None:
    case = CASES[name]
    args = case.args(world, tmp_path)
    if "--deployment" not in args:
        args = [*args, "--deployment", str(tmp_path / "none.json")]
    out = CliRunner().invoke(cli, ["audit", *args], env={"PYLENDER_RPC": "", "PYLENDER_LEDGER": ""})
    assert out.exception is None or isinstance(out.exception, SystemExit), repr(out.exception)
    assert "Traceback" not in out.output
    assert out.exit_code == case.code, out.output
    says = case.says.format(token=world.deployment.token, outsider=world.address("outsider"))
    assert says in out.output
    errors = [line for line in out.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and len(out.output.splitlines()) <= 4  # one line; click adds usage and a hint to its own


def test_the_battery_covers_every_audit_command_with_at_least_30_cases() -> None:
    from pylender.audit.cli import audit

    commands = {name.split(":")[0] for name in CASES}
    assert commands == set(audit.commands) and len(CASES) >= 30


@pytest.mark.parametrize("who", ["1", "bank", "BANK", "address"])
def test_an_institution_is_named_by_index_name_or_address(world: World, tmp_path: Path, who: str) -> None:
    named = world.address("bank") if who == "address" else who
    args = ["audit", "lender", named, *_chain(world), "--deployment", str(tmp_path / "none.json"), "--json"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == []  # the bank is registered and nothing was credited to it yet
