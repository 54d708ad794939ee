"""What every ``pylender`` command shares: options, the lazily opened session, error handling, formatting.

Connection: ``--rpc URL`` or ``$PYLENDER_RPC``, else the RPC saved in the deployment file, else
an embedded anvil that lives as long as the command. Deployment addresses are saved to
``.pylender/deployment.json`` (``--deployment FILE``) so that successive calls find the ledger.
Bad input ends with a one-line message and exit code 1 (2 for usage errors), never a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import click
from eth_utils import is_address, to_checksum_address
from pydantic import ValidationError
from rich.console import Console

from pylender.errors import DeploymentNotFound, PylenderError
from pylender.values import Deployment

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def console(err: bool = False) -> Console:
    stream = sys.stderr if err else sys.stdout
    width = None if stream.isatty() else 160  # piped or captured: do not squeeze tables to 80 columns
    return Console(stderr=err, highlight=False, width=width)


class State:
    """Options shared by every command, and the lazily opened session."""

    def __init__(self, rpc: str | None, chain_id: int | None, keystore: str | None, deployment: str) -> None:
        self.rpc = rpc
        self.chain_id = chain_id
        self.keystore = keystore
        self.deployment_path = Path(deployment)
        self._session: Any = None

    def saved_deployment(self) -> Deployment | None:
        try:
            from pylender.client.session import load_deployment

            return load_deployment(self.deployment_path)
        except DeploymentNotFound:
            return None

    def session(self) -> Any:
        if self._session is None:
            from pylender.client.session import Pylender

            rpc = self.rpc or os.environ.get("PYLENDER_RPC")
            if rpc is None:
                saved = self.saved_deployment()
                rpc = saved.rpc if saved else None
            self._session = Pylender.connect(rpc, chain_id=self.chain_id, keystore=self.keystore)
        return self._session

    def ledger(self) -> Any:
        from pylender.client.session import load_deployment

        deployment = load_deployment(self.deployment_path)
        session = self.session()
        if not session.w3.eth.get_code(deployment.ledger):
            raise DeploymentNotFound(
                f"no ledger at {deployment.ledger} on the chain at {session.url} "
                f"({self.deployment_path} is stale: start the node it was deployed on, or run `pylender deploy`)"
            )
        return session.ledger(deployment)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def fail(message: str) -> None:
    console(err=True).print(f"[bold red]Error:[/] {message}", markup=True)
    sys.exit(1)


def handle_errors(fn: F) -> F:
    """Turn pylender and validation errors into one line on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PylenderError as exc:
            notes = "".join(f" ({n})" for n in getattr(exc, "__notes__", []))
            fail(f"{exc}{notes}".replace("[", "\\["))
        except ValidationError as exc:
            parts = []
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                parts.append((f"{loc}: " if loc else "") + err["msg"].removeprefix("Value error, "))
            fail("; ".join(parts).replace("[", "\\["))
        except KeyboardInterrupt:
            fail("interrupted")
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            fail(f"unexpected {type(exc).__name__}: {exc} (run with -vv for the traceback)".replace("[", "\\["))

    return wrapper  # type: ignore[return-value]


def current_state() -> State:
    return click.get_current_context().find_object(State)  # type: ignore[return-value]


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def fmt_amount(amount: int, decimals: int) -> str:
    value = Decimal(amount) / (Decimal(10) ** decimals)
    return f"{value:,.{decimals}f}"


def parse_amount(ledger: Any, text: str, base_units: bool) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not a number") from None
    if value <= 0:
        raise click.BadParameter(f"amount must be positive, got {text}")
    units = value if base_units else value * (Decimal(10) ** ledger.decimals)
    if units != units.to_integral_value():
        raise click.BadParameter(f"{text} has more decimals than the token ({ledger.decimals})")
    return int(units)


def resolve_from(ledger: Any, who: str | None) -> Any:
    """``--from``: an address whose key the client holds, or a dev account index (local chains)."""
    if who is None:
        return None
    if who.isdigit():
        from pylender.client.accounts import dev_account

        if not ledger.is_local:
            raise click.BadParameter("dev account indexes work only on a local anvil chain", param_hint="--from")
        return dev_account(int(who))
    if not is_address(who):
        raise click.BadParameter(f"{who!r} is neither an address nor a dev account index", param_hint="--from")
    return to_checksum_address(who)


def parse_address(value: str, what: str) -> str:
    if value.isdigit():
        from pylender.client.accounts import dev_account

        return dev_account(int(value)).address
    if not is_address(value):
        raise click.BadParameter(f"{value!r} is not an address", param_hint=what)
    if value != value.lower() and value != to_checksum_address(value):
        raise click.BadParameter(f"{value} has a bad checksum (expected {to_checksum_address(value)})", param_hint=what)
    return to_checksum_address(value)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
base_units_option = click.option("--base-units", is_flag=True, help="Amounts are in token base units, not tokens.")
from_option = click.option("--from", "who", help="Signer: address or dev account index (default: the deployer).")
