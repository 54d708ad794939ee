"""What every ``pylender`` command shares: the global options, the lazily opened session, the input checks, the
error handling and the output of writes.

Connection: ``--rpc URL`` or ``$PYLENDER_RPC``, else what the deployment file says (its node, or the ``--state``
file that keeps an embedded chain), else an embedded anvil that lives as long as the command. Deployment addresses
are saved to ``.pylender/deployment.json`` (``--deployment FILE``) so that successive calls find the ledger.

Output: tables for people (amounts in tokens, dates ISO 8601 in ``--tz``), ``--json`` for machines (snake_case keys,
enums by name, amounts in base units with the token's ``decimals`` beside them, times as Unix seconds). Every write
shows the transactions it sent: hash, block and gas used. Bad input ends with a one-line message naming the option,
exit code 2; a refused action names its error, exit code 1; never a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from eth_utils import is_address, to_checksum_address
from pydantic import ValidationError
from rich.text import Text

from pylender.cli.explain import describe_error, error_json
from pylender.cli.params import OptionError
from pylender.cli.render import clean, console, say
from pylender.errors import ChainNotKept, DeploymentNotFound, InvalidAmount, PylenderError, SignerError
from pylender.values import Deployment

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Sent:
    """One transaction a command landed."""

    action: str
    tx_hash: str
    block: int
    gas_used: int

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "tx_hash": self.tx_hash, "block": self.block, "gas_used": self.gas_used}


@dataclass
class State:
    """Options shared by every command, the lazily opened session, and the transactions the command sent."""

    rpc: str | None
    chain_id: int | None
    keystore: str | None
    deployment: str
    state_file: str | None = None
    tz_name: str = "UTC"
    sent: list[Sent] = field(default_factory=list)
    decimals: int | None = None
    _session: Any = None
    _ledger: Any = None

    @property
    def deployment_path(self) -> Path:
        return Path(self.deployment)

    @property
    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise OptionError(f"--tz must be a time zone such as UTC or Asia/Shanghai, got {self.tz_name!r}") from None

    def saved_deployment(self) -> Deployment | None:
        from pylender.client.session import load_deployment

        try:
            return load_deployment(self.deployment_path)
        except DeploymentNotFound:
            return None

    def session(self, **node_options: Any) -> Any:
        """The session: ``--rpc``, else the deployment file's node or kept chain, else an embedded anvil
        (``node_options`` apply only to an embedded anvil started here)."""
        if self._session is None:
            from pylender.client.session import Pylender

            rpc, kept = self.rpc, self.state_file
            if rpc is None and kept is None:
                saved = self.saved_deployment()
                if saved is not None:
                    rpc, kept = saved.rpc, saved.state
            if rpc is None and kept is not None:
                node_options["state"] = kept
            self._session = Pylender.connect(
                rpc, chain_id=self.chain_id, keystore=self.keystore, node_options=node_options
            )
            self._session.on_sent = self.record
        return self._session

    def chain_is_kept(self) -> bool:
        """Whether the chain outlives this command (a node at a URL, or an embedded one kept in a state file)."""
        session = self.session()
        return session.node is None or session.node.options.state is not None

    def require_kept_chain(self, what: str) -> None:
        if not self.chain_is_kept():
            raise ChainNotKept(
                f"{what}: the embedded chain ends with this command, so nothing would remain: give --rpc URL "
                "(start a node with `pylender node`) or --state FILE to keep the embedded chain in FILE"
            )

    def ledger(self) -> Any:
        """The deployment file's ledger, checked to be a pylender ledger on this chain."""
        if self._ledger is None:
            from pylender.client.session import load_deployment

            deployment = load_deployment(self.deployment_path)
            session = self.session()
            if not self.chain_is_kept():
                raise DeploymentNotFound(
                    f"{self.deployment_path} names neither a node nor a kept chain, and the embedded chain this "
                    f"command started has no ledger: give --rpc URL of the node ledger {deployment.ledger} lives on"
                )
            ledger = session.ledger(deployment)
            ledger.ensure_ledger()
            self._ledger = ledger
            self.decimals = ledger.decimals
        return self._ledger

    def record(self, label: str, receipt: Any) -> None:
        self.sent.append(Sent(label, receipt.tx_hash, receipt.block_number, receipt.gas_used))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
            self._ledger = None


def current_state() -> State:
    state = click.get_current_context().find_object(State)
    assert state is not None, "the root command creates the State"
    return state


# -- output -----------------------------------------------------------------------------------------------------


def emit_json(data: dict[str, Any]) -> None:
    """``data`` as JSON on stdout, with the transactions the command sent (if it sent any)."""
    sent = current_state().sent
    if sent:
        data = {**data, "transactions": [s.to_json() for s in sent]}
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_sent() -> None:
    """Each transaction the command sent: what it was, its block and gas used, and its hash on a line of its own."""
    for s in current_state().sent:
        say((s.action, "bold"), f": block {s.block:,}, gas used {s.gas_used:,}")
        say(f"  tx {s.tx_hash}")


def finish(data: dict[str, Any], as_json: bool, human: Callable[[], None]) -> None:
    """End a command: ``data`` as JSON, or ``human()`` then the transactions sent."""
    if as_json:
        emit_json(data)
    else:
        human()
        print_sent()


def fail(message: str, as_json: bool = False, data: dict[str, Any] | None = None) -> None:
    if as_json:
        click.echo(json.dumps({"error": data or {"type": "Error", "message": message}}, indent=2, ensure_ascii=False))
    else:
        console(err=True).print(Text.assemble(("Error: ", "bold red"), clean(message)), soft_wrap=True)
    sys.exit(1)


FIELD_OPTIONS = {
    "borrower": "--borrower",
    "borrower_id": "--borrower-id",
    "principal": "--principal",
    "annual_rate_bps": "--rate",
    "periods": "--periods",
    "period_seconds": "--period-days",
    "method": "--method",
    "grace_period": "--grace-days",
    "penalty_rate_bps": "--penalty-rate",
    "prepayment_fee_bps": "--prepayment-fee",
    "service_fee_bps": "--service-fee",
    "fee_recipient": "--fee-recipient",
    "reserve_bps": "--reserve",
    "funding_deadline": "--funding-days",
    "lender": "--tranche",
    "share_bps": "--tranche",
}
"""The command-line option of each field the SDK validates, so that its message names what the user typed."""


def handle_errors(fn: F) -> F:
    """Turn pylender and validation errors into one named line on stderr (or a JSON ``error`` with ``--json``) and
    exit code 1; bad input is a usage error naming the option (exit code 2)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        state = click.get_current_context().find_object(State)
        try:
            return fn(*args, **kwargs)
        except InvalidAmount as exc:
            raise OptionError(str(exc)) from None
        except PylenderError as exc:
            decimals = state.decimals if state else None
            try:
                tz = state.tz if state else None
            except OptionError:
                tz = None
            command = click.get_current_context().command_path
            fail(describe_error(exc, decimals, tz, command), as_json, error_json(exc, decimals))
        except ValidationError as exc:
            parts = []
            for err in exc.errors():
                loc = ".".join(FIELD_OPTIONS.get(str(p), str(p)) for p in err["loc"])
                parts.append((f"{loc}: " if loc else "") + err["msg"].removeprefix("Value error, "))
            raise OptionError("; ".join(parts)) from None
        except KeyboardInterrupt:
            fail("interrupted", as_json)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            fail(f"unexpected {type(exc).__name__}: {exc} (run with -vv for the traceback)", as_json)

    return wrapper  # type: ignore[return-value]


# -- input ------------------------------------------------------------------------------------------------------


def parse_amount(ledger: Any, text: str, base_units: bool, what: str = "AMOUNT", *, positive: bool = True) -> int:
    """``text`` tokens (or base units) as base units, with the one parser the SDK uses; refused naming ``what``."""
    from pylender.client.units import to_base_units

    try:
        return to_base_units(text, ledger.decimals, base_units=base_units, positive=positive, what=what)
    except InvalidAmount as exc:
        raise OptionError(str(exc)) from None


def dev_index(value: str) -> int | None:
    """``value`` as a dev account index when it is one (digits only)."""
    return int(value) if value.isdigit() else None


def parse_address(value: str, what: str) -> str:
    """An address, or a dev account index on a local dev chain (refused by name elsewhere)."""
    index = dev_index(value.strip())
    if index is not None:
        return str(current_state().session().account(index).address)
    if not is_address(value):
        raise OptionError(f"{what} must be an address (0x and 40 hex digits) or a dev account index, got {value!r}")
    if value != value.lower() and value != to_checksum_address(value):
        raise OptionError(f"{what}: {value} has a bad checksum (expected {to_checksum_address(value)})")
    return str(to_checksum_address(value))


def resolve_from(ledger: Any, who: str | None) -> Any:
    """``--from``: an address whose key the client holds, or a dev account index (local dev chains only)."""
    if who is None:
        return None
    index = dev_index(who.strip())
    if index is not None:
        return current_state().session().account(index)
    address = parse_address(who, "--from")
    if address not in ledger.keyring:
        raise SignerError(
            f"--from {address}: pylender holds no key for it; set $PYLENDER_PRIVATE_KEY or --keystore to its key"
        )
    return address


def signer_address(ledger: Any, who: str | None) -> str:
    by = resolve_from(ledger, who)
    if by is None:
        return str(ledger.default_signer.address)
    return by if isinstance(by, str) else str(by.address)


def approve_mode(approve: str, no_approve: bool) -> Any:
    if no_approve:
        return False
    return approve


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
base_units_option = click.option("--base-units", is_flag=True, help="Amounts are in token base units, not tokens.")
from_option = click.option("--from", "who", help="Signer: address or dev account index (default: the deployer).")


def approve_options(fn: F) -> F:
    """``--approve exact|unlimited`` (default exact: the ledger may pull exactly this payment, nothing after) and
    ``--no-approve`` (the signer approved already)."""
    fn = click.option("--no-approve", is_flag=True, help="Do not approve; the signer's allowance must cover it.")(fn)
    return click.option(
        "--approve",
        type=click.Choice(["exact", "unlimited"]),
        default="exact",
        show_default=True,
        help="If the allowance is short: approve exactly this payment (reset to 0 after), or unlimited.",
    )(fn)


def keep_state_option(fn: F) -> F:
    """``--state FILE`` on a command: keep the embedded chain in FILE (the same as the global ``--state``)."""

    def keep(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        state = ctx.find_object(State)
        if value is not None and state is not None:
            state.state_file = str(Path(value).resolve())

    return click.option(
        "--state",
        type=click.Path(dir_okay=False),
        expose_value=False,
        callback=keep,
        help="Keep the embedded chain in FILE (loaded if it exists, saved at the end).",
    )(fn)


def jsonable(value: Any) -> Any:
    """A view (a frozen dataclass) as JSON values: snake_case fields, enums by name, bytes as 0x-hex."""
    import dataclasses
    from enum import Enum

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return getattr(value, "label", value.name)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
