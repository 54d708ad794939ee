"""``pylender``: the command line (click + rich). Tables for people, ``--json`` for machines, on every command.

Connection: ``--rpc URL`` or ``$PYLENDER_RPC``, else what the deployment file says, else an embedded anvil that
lives as long as the command (``--state FILE`` keeps it). Deployment addresses are saved to
``.pylender/deployment.json`` (``--deployment FILE``) so that successive calls find the ledger. Bad input ends with
a one-line message naming the option (exit code 2), a refused action with its named error (exit code 1), never a
traceback. Commands: ``node``, ``deploy``, ``pause``, ``unpause``, ``run``, ``demo`` here; ``lender``, ``token``,
``credit`` in :mod:`pylender.cli.lending`; ``loan`` in :mod:`pylender.cli.loans`; ``position`` in
:mod:`pylender.cli.position`; ``pool`` in :mod:`pylender.cli.pool`; ``chain``, ``role``, ``policy`` in
:mod:`pylender.cli.admin`; ``audit`` from :mod:`pylender.audit.cli` and ``statement``, ``reconcile`` from
:mod:`pylender.cli.statements`, loaded when used.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import ClassVar

import click

from pylender import __version__
from pylender.cli.admin import chain, policy, role
from pylender.cli.common import (
    State,
    current_state,
    finish,
    from_option,
    handle_errors,
    json_option,
    keep_state_option,
    parse_address,
    resolve_from,
)
from pylender.cli.lending import credit, lender, token
from pylender.cli.loans import loan
from pylender.cli.params import Group, IntIn
from pylender.cli.pool import pool
from pylender.cli.position import position
from pylender.cli.render import console, print_pairs, say
from pylender.cli.reports import print_demo, print_run
from pylender.values import Deployment

# -- root --------------------------------------------------------------------------------------------


class _Root(Group):
    """The root group; ``audit``, ``statement`` and ``reconcile`` load only when they are used."""

    LAZY: ClassVar[dict[str, tuple[str, str]]] = {
        "audit": ("pylender.audit.cli", "audit"),
        "statement": ("pylender.cli.statements", "statement_command"),
        "reconcile": ("pylender.cli.statements", "reconcile_command"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY and name not in self.commands:
            import importlib

            module, attr = self.LAZY[name]
            try:
                command: click.Command = getattr(importlib.import_module(module), attr)
                return command
            except (ImportError, AttributeError):
                return None
        return super().get_command(ctx, name)


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="pylender", message="%(prog)s %(version)s")
@click.option("--rpc", envvar="PYLENDER_RPC", help="JSON-RPC URL (default: $PYLENDER_RPC, else embedded anvil).")
@click.option("--chain-id", type=int, help="Expected chain id; refuse to run on another chain.")
@click.option(
    "--keystore", type=click.Path(dir_okay=False), help="Keystore file (password: $PYLENDER_KEYSTORE_PASSWORD)."
)
@click.option("--deployment", default=".pylender/deployment.json", show_default=True, help="Deployment file.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    help="Keep the embedded chain (no --rpc) in FILE: loaded if it exists, saved when the command ends.",
)
@click.option(
    "--tz",
    envvar="PYLENDER_TZ",
    default="UTC",
    show_default=True,
    help="Time zone of the dates shown (an IANA name such as Asia/Shanghai).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def cli(
    ctx: click.Context,
    rpc: str | None,
    chain_id: int | None,
    keystore: str | None,
    deployment: str,
    state_file: str | None,
    tz: str,
    verbose: int,
) -> None:
    """pylender: a co-lending ledger on an EVM chain."""
    import os

    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    kept = os.path.abspath(state_file) if state_file else None
    state = State(rpc, chain_id, keystore, deployment, state_file=kept, tz_name=tz)
    state.tz  # noqa: B018 - refuse a bad --tz before anything runs
    ctx.obj = state
    ctx.call_on_close(state.close)


@cli.command()
@click.option("--port", type=IntIn(1, 65_535), default=8545, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--state", "state_file", type=click.Path(dir_okay=False), help="Load chain state from and save it to FILE."
)
@click.option("--block-time", type=float, help="Mine a block every S seconds (default: on every transaction).")
@click.option("--accounts", type=IntIn(1, 1_000), default=10, show_default=True, help="Dev accounts.")
@click.option("--chain-id", "node_chain_id", type=IntIn(1, 2**53), help="Chain id (default 31337, a dev chain).")
@json_option
@handle_errors
def node(
    port: int,
    host: str,
    state_file: str | None,
    block_time: float | None,
    accounts: int,
    node_chain_id: int | None,
    as_json: bool,
) -> None:
    """Run a local anvil chain in the foreground (Ctrl-C stops it)."""
    import signal

    from pylender.client.node import ANVIL_CHAIN_ID, LocalNode

    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C works even when started in the background
    chain_id = node_chain_id or ANVIL_CHAIN_ID
    local = LocalNode(port, host=host, state=state_file, block_time=block_time, accounts=accounts, chain_id=chain_id)
    try:
        with local:
            if as_json:
                info = {"url": local.url, "chain_id": chain_id, "accounts": accounts, "state": state_file}
                click.echo(json.dumps({**info, "pid": local.pid}))
            else:
                say(f"anvil listening on {local.url} (chain id {chain_id}); Ctrl-C stops it")
                say(f"use it with: export PYLENDER_RPC={local.url}")
            code = local.wait()
    except KeyboardInterrupt:  # Ctrl-C whenever it comes: the with block has stopped anvil (and saved --state)
        code = 0
    if code not in (0, None, -2, 130):
        raise click.ClickException(f"anvil exited with code {code}")


@cli.command()
@click.option("--token", help="Use this ERC-20 instead of deploying the test token.")
@click.option("--decimals", type=IntIn(0, 36), default=6, show_default=True, help="Test token decimals.")
@keep_state_option
@json_option
@handle_errors
def deploy(token: str | None, decimals: int, as_json: bool) -> None:
    """Deploy the test token and the ledger; save the addresses to the deployment file.

    The chain must outlive the command: a node (--rpc URL, e.g. `pylender node`), or the embedded chain kept in a
    file (--state FILE).
    """
    from pylender.client.session import save_deployment

    state = current_state()
    session = state.session()
    state.require_kept_chain("deploy")
    ledger = session.deploy(token=parse_address(token, "--token") if token else None, decimals=decimals)
    deployment = ledger.deployment
    if session.node is not None:
        deployment = dataclasses.replace(deployment, state=state.state_file)
    path = save_deployment(deployment, state.deployment_path)
    data = {
        **dataclasses.asdict(deployment),
        "libraries": [{"name": name, "address": address} for name, address in deployment.libraries.items()],
        "saved_to": str(path),
    }

    def human() -> None:
        print_pairs("deployment", [(k, "" if v is None else str(v)) for k, v in data.items() if k != "libraries"])
        if deployment.state:
            say(f"the embedded chain is kept in {deployment.state}: later commands start it again from there")

    finish(data, as_json, human)


@cli.command()
@from_option
@json_option
@handle_errors
def pause(who: str | None, as_json: bool) -> None:
    """Pause the ledger (pauser): payouts and admin changes revert EnforcedPause until unpause; payments
    (repay, prepay, recover) and role changes stay open."""
    _set_paused(True, who, as_json)


@cli.command()
@from_option
@json_option
@handle_errors
def unpause(who: str | None, as_json: bool) -> None:
    """Unpause the ledger (pauser)."""
    _set_paused(False, who, as_json)


def _set_paused(pause: bool, who: str | None, as_json: bool) -> None:
    ledger = current_state().ledger()
    by = resolve_from(ledger, who)
    if pause:
        ledger.pause(by=by)
    else:
        ledger.unpause(by=by)
    paused = ledger.paused()  # read back from the chain
    finish(
        {"ledger": ledger.address, "paused": paused},
        as_json,
        lambda: say(f"ledger {ledger.address} {'paused' if paused else 'unpaused'}"),
    )


def _save_result(deployment: Deployment) -> str | None:
    """Save the ledger a run made when its chain outlives the command; the file, or None."""
    from pylender.client.session import save_deployment

    state = current_state()
    if not state.chain_is_kept():
        return None
    session = state.session()
    if session.node is not None:
        deployment = dataclasses.replace(deployment, state=state.state_file)
    return str(save_deployment(deployment, state.deployment_path))


def _where_saved(ledger: str, saved: str | None) -> None:
    if saved:
        say(f"ledger {ledger} saved to {saved}: `pylender audit verify` checks it")
    else:
        say(f"ledger {ledger} was on an embedded chain that ended with the command (--state FILE keeps it)")


def _fresh_chain(state: State) -> bool:
    """No --rpc and no --state: the run gets a fresh embedded chain of its own (deterministic numbers)."""
    return state.rpc is None and state.state_file is None


@cli.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@keep_state_option
@json_option
@handle_errors
def run(scenario_file: str, as_json: bool) -> None:
    """Run a scenario file and print the final state: on a fresh embedded chain, or on --rpc's node (or the chain
    --state keeps), where the ledger it made stays and is saved to the deployment file."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from pylender.scenarios.runner import accounts_needed, run_scenario
    from pylender.scenarios.schema import load

    scenario = load(scenario_file)
    state = current_state()
    session = None if _fresh_chain(state) else state.session(accounts=max(accounts_needed(scenario), 10))
    if session is not None:
        session.on_sent = None  # hundreds of transactions: the report counts them, it does not list them
    if as_json:
        result = run_scenario(scenario, session)
    else:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=console(err=True), transient=True
        ) as bar:
            task = bar.add_task(f"running {scenario.name}")
            result = run_scenario(scenario, session, progress=lambda msg: bar.update(task, description=msg))
    saved = None
    if session is not None:
        saved = _save_result(result.deployment)
    data = {**result.summary(), **({"saved_to": saved} if saved else {})}

    def human() -> None:
        print_run(result, current_state().tz)
        _where_saved(result.ledger, saved)

    finish(data, as_json, human)


@cli.command()
@click.option(
    "--loans", "n_loans", type=IntIn(4, 100_000), default=240, show_default=True, help="Co-lent loans in the portfolio."
)
@click.option("--seed", type=int, default=7, show_default=True)
@keep_state_option
@json_option
@handle_errors
def demo(n_loans: int, seed: int, as_json: bool) -> None:
    """A year of a co-lending portfolio, with a summary per lender: on a fresh embedded chain, or on --rpc's node
    (or the chain --state keeps), where the ledger stays and is saved to the deployment file for an audit."""
    from pylender.scenarios.demo import run_demo

    state = current_state()
    session = None if _fresh_chain(state) else state.session()
    if session is not None:
        session.on_sent = None  # thousands of transactions: the report counts them, it does not list them
    report = run_demo(n_loans=n_loans, seed=seed, show_progress=not as_json, session=session)
    saved = _save_result(report.deployment) if session is not None else None
    data = {**report.model_dump(mode="json", exclude={"deployment"}), **({"saved_to": saved} if saved else {})}

    def human() -> None:
        print_demo(report)
        _where_saved(report.ledger, saved)

    finish(data, as_json, human)


for _command in (lender, token, loan, position, pool, credit, chain, role, policy):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pylender")


if __name__ == "__main__":
    main()
