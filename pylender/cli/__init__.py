"""``pylender``: the command line (click + rich). Tables for people, ``--json`` for machines.

Connection: ``--rpc URL`` or ``$PYLENDER_RPC``, else the RPC saved in the deployment file, else
an embedded anvil that lives as long as the command. Deployment addresses are saved to
``.pylender/deployment.json`` (``--deployment FILE``) so that successive calls find the ledger.
Bad input ends with a one-line message and exit code 1 (2 for usage errors), never a traceback.
Commands: ``node``, ``deploy``, ``pause``, ``unpause``, ``run``, ``demo`` here; ``lender``, ``token``,
``loan``, ``credit`` in :mod:`pylender.cli.lending`; ``audit`` from :mod:`pylender.audit.cli` and ``statement``,
``reconcile`` from :mod:`pylender.cli.statements`, loaded when used.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import click
from rich.table import Table

from pylender import __version__
from pylender.cli.common import (
    State,
    console,
    current_state,
    emit_json,
    fail,
    fmt_amount,
    from_option,
    handle_errors,
    json_option,
    parse_address,
    resolve_from,
)
from pylender.cli.lending import credit, lender, loan, token
from pylender.values import to_jsonable

# -- root --------------------------------------------------------------------------------------------


class _Group(click.Group):
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
                return getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError):
                return None
        return super().get_command(ctx, name)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="pylender", message="%(prog)s %(version)s")
@click.option("--rpc", envvar="PYLENDER_RPC", help="JSON-RPC URL (default: $PYLENDER_RPC, else embedded anvil).")
@click.option("--chain-id", type=int, help="Expected chain id; refuse to run on another chain.")
@click.option(
    "--keystore", type=click.Path(dir_okay=False), help="Keystore file (password: $PYLENDER_KEYSTORE_PASSWORD)."
)
@click.option("--deployment", default=".pylender/deployment.json", show_default=True, help="Deployment file.")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def cli(
    ctx: click.Context, rpc: str | None, chain_id: int | None, keystore: str | None, deployment: str, verbose: int
) -> None:
    """pylender: a co-lending ledger on an EVM chain."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    state = State(rpc, chain_id, keystore, deployment)
    ctx.obj = state
    ctx.call_on_close(state.close)


@cli.command()
@click.option("--port", type=int, default=8545, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--state", "state_file", type=click.Path(dir_okay=False), help="Load chain state from and save it to FILE."
)
@click.option("--block-time", type=float, help="Mine a block every S seconds (default: on every transaction).")
@click.option("--accounts", type=int, default=10, show_default=True)
@handle_errors
def node(port: int, host: str, state_file: str | None, block_time: float | None, accounts: int) -> None:
    """Run a local anvil chain in the foreground (Ctrl-C stops it)."""
    import signal

    from pylender.client.node import LocalNode

    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C works even when started in the background
    local = LocalNode(port, host=host, state=state_file, block_time=block_time, accounts=accounts)
    with local:
        console().print(f"anvil listening on [bold]{local.url}[/] (chain id {local.options.chain_id}); Ctrl-C stops it")
        console().print(f"use it with: [bold]export PYLENDER_RPC={local.url}[/]")
        try:
            code = local.wait()
        except KeyboardInterrupt:
            code = 0
    if code not in (0, None, -2, 130):
        fail(f"anvil exited with code {code}")


@cli.command()
@click.option("--token", help="Use this ERC-20 instead of deploying the test token.")
@click.option("--decimals", type=int, default=6, show_default=True, help="Test token decimals.")
@json_option
@handle_errors
def deploy(token: str | None, decimals: int, as_json: bool) -> None:
    """Deploy the test token and the ledger; save the addresses to the deployment file."""
    from pylender.client.session import save_deployment

    state = current_state()
    session = state.session()
    if session.node is not None:
        console(err=True).print(
            "[yellow]warning:[/] no --rpc: deploying to an embedded chain that ends with this command"
        )
    ledger = session.deploy(token=parse_address(token, "--token") if token else None, decimals=decimals)
    path = save_deployment(ledger.deployment, state.deployment_path)
    data = to_jsonable(ledger.deployment)
    if as_json:
        emit_json(data)
        return
    table = Table(title="deployment", show_header=False)
    for key, value in data.items():
        table.add_row(key, str(value))
    console().print(table)
    console().print(f"saved to {path}")


@cli.command()
@from_option
@json_option
@handle_errors
def pause(who: str | None, as_json: bool) -> None:
    """Pause the ledger (pauser): every state-changing call reverts EnforcedPause until unpause."""
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
    if as_json:
        emit_json({"paused": paused})
    else:
        console().print(f"ledger {ledger.address} {'paused' if paused else 'unpaused'}")


@cli.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@json_option
@handle_errors
def run(scenario_file: str, as_json: bool) -> None:
    """Run a scenario file on a fresh embedded chain and print the final state."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from pylender.scenarios.runner import run_scenario
    from pylender.scenarios.schema import load

    scenario = load(scenario_file)
    if as_json:
        result = run_scenario(scenario)
        emit_json(result.summary())
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console(err=True), transient=True) as bar:
        task = bar.add_task(f"running {scenario.name}")
        result = run_scenario(scenario, progress=lambda msg: bar.update(task, description=msg))
    print_run(result)


def print_run(result: Any) -> None:
    d = result.decimals
    out = console()
    table = Table(title=f"{result.scenario}: institutions")
    for col in ("institution", "withdrawable", "reserve", "loss", "withdrawn"):
        table.add_column(col, justify="left" if col == "institution" else "right")
    for key, s in result.lenders.items():
        amounts = (s.withdrawable, s.reserve, s.loss, s.withdrawn)
        table.add_row(f"{key} ({s.name})", *(fmt_amount(v, d) for v in amounts))
    out.print(table)
    loans = Table(title="loans")
    for col in ("loan", "id", "status", "outstanding", "interest paid", "principal paid", "written off"):
        loans.add_column(col, justify="left" if col in ("loan", "status") else "right")
    for key, s in result.loans.items():
        amounts = (s.outstanding, s.interest_paid, s.principal_paid, s.written_off)
        loans.add_row(key, str(s.id), s.status, *(fmt_amount(v, d) for v in amounts))
    out.print(loans)
    out.print(f"audit: seq {result.audit_seq}, head {result.audit_head}")


@cli.command()
@click.option("--loans", "n_loans", type=int, default=240, show_default=True, help="Co-lent loans in the portfolio.")
@click.option("--seed", type=int, default=7, show_default=True)
@json_option
@handle_errors
def demo(n_loans: int, seed: int, as_json: bool) -> None:
    """A year of a co-lending portfolio on an embedded chain, with a summary per lender."""
    from pylender.scenarios.demo import print_demo, run_demo

    report = run_demo(n_loans=n_loans, seed=seed, show_progress=not as_json)
    if as_json:
        emit_json(report.model_dump(mode="json"))
    else:
        print_demo(report, console())


for _command in (lender, token, loan, credit):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pylender")


if __name__ == "__main__":
    main()
