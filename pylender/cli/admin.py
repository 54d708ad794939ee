"""``pylender chain|role|policy``: the local chain's clock, who may do what, and the lending policy.

Roles and policy fields are read from the ledger's ABI, not listed here: a role or a policy field the contract gains
later has its commands and options (``policy set --<field>``) as soon as the artifacts are rebuilt.
"""

from __future__ import annotations

import re
from typing import Any

import click

from pylender.cli.common import (
    current_state,
    finish,
    from_option,
    handle_errors,
    json_option,
    parse_address,
    parse_amount,
    resolve_from,
    signer_address,
)
from pylender.cli.params import Command, Duration, Group, IntIn, OptionError
from pylender.cli.render import amount, duration, print_pairs, print_table, say, when

# -- chain -----------------------------------------------------------------------------------------------------


@click.group(cls=Group)
def chain() -> None:
    """The chain: its state, and on a local dev chain its clock and blocks."""


def _kept_session(what: str) -> Any:
    state = current_state()
    session = state.session()
    session.require_dev_chain(what)
    state.require_kept_chain(what)
    return session


@chain.command("info")
@json_option
@handle_errors
def chain_info(as_json: bool) -> None:
    """Chain id, node, latest block and time, and whether it is a local dev chain."""
    state = current_state()
    session = state.session()
    block, timestamp = session.latest()
    data = {
        "chain_id": session.chain_id,
        "client_version": session.client_version(),
        "url": session.url,
        "embedded": session.node is not None,
        "dev_chain": session.is_local,
        "dev_accounts": len(session.dev_addresses()),
        "block": block,
        "timestamp": timestamp,
    }

    def human() -> None:
        pairs = [(k.replace("_", " "), str(v)) for k, v in data.items() if k != "timestamp"]
        print_pairs("chain", [*pairs, ("time", when(timestamp, state.tz))])

    finish(data, as_json, human)


@chain.command("advance")
@click.argument("seconds", metavar="DURATION", type=Duration())
@json_option
@handle_errors
def chain_advance(seconds: int, as_json: bool) -> None:
    """Move a local chain's clock forward by DURATION (30d, 12h, 90m, 45s, 1d12h) and mine a block there."""
    session = _kept_session("chain advance")
    _, before = session.latest()
    block, timestamp = session.advance(seconds)
    tz = current_state().tz
    finish(
        {"block": block, "timestamp": timestamp, "advanced_seconds": timestamp - before},
        as_json,
        lambda: say(f"advanced {duration(seconds)}: block {block:,} at {when(timestamp, tz)}"),
    )


@chain.command("mine")
@click.argument("blocks", type=IntIn(1, 100_000), default=1)
@json_option
@handle_errors
def chain_mine(blocks: int, as_json: bool) -> None:
    """Mine BLOCKS empty blocks (default 1) on a local chain."""
    session = _kept_session("chain mine")
    block, timestamp = session.mine(blocks)
    tz = current_state().tz
    finish(
        {"block": block, "timestamp": timestamp, "mined": blocks},
        as_json,
        lambda: say(f"mined {blocks}: block {block:,} at {when(timestamp, tz)}"),
    )


# -- roles ------------------------------------------------------------------------------------------------------


@click.group(cls=Group)
def role() -> None:
    """Roles: who holds each; grant, revoke, renounce (admin, except renounce)."""


def _role(ledger: Any, name: str) -> str:
    try:
        return str(ledger.role(name))
    except ValueError as exc:
        raise OptionError(f"ROLE: {exc}") from None


@role.command("show")
@click.argument("account", required=False)
@json_option
@handle_errors
def role_show(account: str | None, as_json: bool) -> None:
    """Every role and who holds it (from the ledger's role events, each checked with hasRole), or ACCOUNT's roles."""
    ledger = current_state().ledger()
    names = {address: acc.name for address, acc in ledger.institutions()}
    if account is not None:
        address = parse_address(account, "ACCOUNT")
        held = ledger.roles_of(address)
        finish(
            {"account": address, "roles": held},
            as_json,
            lambda: say(f"{address} holds {', '.join(held) if held else 'no role'}"),
        )
        return
    holders = ledger.role_holders()

    def human() -> None:
        rows = [[r, a, names.get(a, "")] for r, accounts in holders.items() for a in accounts]
        rows += [[r, "-", ""] for r, accounts in holders.items() if not accounts]
        print_table("roles", ["role", "account", "institution"], rows)

    finish({"roles": [{"role": r, "holders": accounts} for r, accounts in holders.items()]}, as_json, human)


def _role_change(kind: str, role_name: str, account: str, who: str | None, as_json: bool) -> None:
    ledger = current_state().ledger()
    name = _role(ledger, role_name)
    address = parse_address(account, "ACCOUNT")
    by = resolve_from(ledger, who)
    before = ledger.has_role(name, address)
    if kind == "grant":
        ledger.grant_role(name, address, by=by)
    else:
        ledger.revoke_role(name, address, by=by)
    after = ledger.has_role(name, address)
    changed = before != after
    verb = {"grant": "granted", "revoke": "revoked"}[kind]
    message = (
        f"{name} {verb} {'to' if kind == 'grant' else 'from'} {address}"
        if changed
        else (f"{address} {'already held' if after else 'did not hold'} {name}: nothing changed")
    )
    finish({"role": name, "account": address, "has_role": after, "changed": changed}, as_json, lambda: say(message))


@role.command("grant")
@click.argument("role_name", metavar="ROLE")
@click.argument("account")
@from_option
@json_option
@handle_errors
def role_grant(role_name: str, account: str, who: str | None, as_json: bool) -> None:
    """Grant ROLE (originator, servicer, pauser, lender, admin) to ACCOUNT (admin)."""
    _role_change("grant", role_name, account, who, as_json)


@role.command("revoke")
@click.argument("role_name", metavar="ROLE")
@click.argument("account")
@from_option
@json_option
@handle_errors
def role_revoke(role_name: str, account: str, who: str | None, as_json: bool) -> None:
    """Revoke ROLE from ACCOUNT (admin)."""
    _role_change("revoke", role_name, account, who, as_json)


@role.command("renounce")
@click.argument("role_name", metavar="ROLE")
@from_option
@json_option
@handle_errors
def role_renounce(role_name: str, who: str | None, as_json: bool) -> None:
    """The signer (--from) gives up ROLE itself."""
    ledger = current_state().ledger()
    name = _role(ledger, role_name)
    address = signer_address(ledger, who)
    ledger.renounce_role(name, by=resolve_from(ledger, who))
    after = ledger.has_role(name, address)
    finish({"role": name, "account": address, "has_role": after}, as_json, lambda: say(f"{address} renounced {name}"))


# -- policy -----------------------------------------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def field_kind(name: str, solidity_type: str) -> str:
    """How a policy field is written and shown, from its ABI name and type: ``bps``, ``amount`` (tokens),
    ``duration`` (seconds, written as 90d), ``bool``, ``address`` or ``integer``."""
    if solidity_type == "bool":
        return "bool"
    if solidity_type == "address":
        return "address"
    if name.endswith("Bps"):
        return "bps"
    if re.search(r"(Principal|Exposure|Amount|Balance|Limit)$", name):
        return "amount"
    if re.search(r"(After|Delay|Seconds|Period|Window|Duration|Cooldown)$", name):
        return "duration"
    return "integer"


def _show(kind: str, value: Any, decimals: int) -> str:
    if kind == "amount":
        return amount(int(value), decimals)
    if kind == "duration":
        return f"{duration(int(value))} ({int(value):,} s)"
    if kind == "bps":
        return f"{int(value) / 100:.2f} % ({int(value):,} bps)"
    return str(value)


def _ledger_policy_fields() -> list[tuple[str, str]]:
    from pylender import artifacts

    abi = artifacts.load(artifacts.LEDGER).abi
    [param] = next(i for i in abi if i.get("type") == "function" and i["name"] == "setPolicy")["inputs"]
    return [(c["name"], c["type"]) for c in param["components"]]


class _PolicyGroup(Group):
    """``policy set`` is built from the ABI when it is first used (so ``pylender --version`` reads no artifact)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "set"})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "set" and "set" not in self.commands:
            self.add_command(_build_policy_set(), "set")
        return super().get_command(ctx, name)


@click.group(cls=_PolicyGroup)
def policy() -> None:
    """The lending policy: show it; set any of its fields (admin)."""


@policy.command("show")
@json_option
@handle_errors
def policy_show(as_json: bool) -> None:
    """Every field of the ledger's policy, in tokens, bps and durations."""
    ledger = current_state().ledger()
    values = ledger.policy_values()
    kinds = dict(ledger.policy_fields())
    d = ledger.decimals
    data = {"decimals": d, "policy": {_snake(k): v for k, v in values.items()}}

    def human() -> None:
        print_pairs(
            "policy",
            [(f"--{_snake(k).replace('_', '-')}", _show(field_kind(k, kinds[k]), v, d)) for k, v in values.items()],
        )

    finish(data, as_json, human)


def _parse_field(ledger: Any, name: str, solidity_type: str, text: str, base_units: bool) -> Any:
    option = f"--{_snake(name).replace('_', '-')}"
    kind = field_kind(name, solidity_type)
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise OptionError(f"{option} must be true or false, got {text!r}")
        return lowered in ("true", "1", "yes")
    if kind == "address":
        return parse_address(text, option)
    if kind == "amount":
        value = parse_amount(ledger, text, base_units, option, positive=False)
    elif kind == "duration":
        value = Duration(allow_zero=True).convert(text, _Generated(option), None)
    else:
        value = IntIn(0, 2**256 - 1, "bps" if kind == "bps" else "").convert(text, _Generated(option), None)
    high = 2 ** int(solidity_type.removeprefix("uint") or 256) - 1 if solidity_type.startswith("uint") else 2**256 - 1
    if value > high:
        shown = (
            amount(high, ledger.decimals)
            if kind == "amount"
            else f"{high}" + {"bps": " bps", "duration": " s"}.get(kind, "")
        )
        raise OptionError(f"{option} must be ≤ {shown} (a {solidity_type}), got {text}")
    return value


class _Generated(click.Option):
    """A stand-in parameter so that a type's message names a generated option."""

    def __init__(self, option: str) -> None:
        super().__init__([option])


def _build_policy_set() -> click.Command:
    fields = _ledger_policy_fields()

    def policy_set(**options: Any) -> None:
        """Set the fields given; the others keep their values. Amounts in tokens (--base-units for base units),
        rates and shares in bps, durations as 90d, 12h or seconds."""
        as_json = bool(options.pop("as_json"))
        base_units = bool(options.pop("base_units"))
        who = options.pop("who")
        given = {name: options[_snake(name)] for name, _ in fields if options.get(_snake(name)) is not None}
        _policy_set(given, fields, base_units, who, as_json)

    command: click.Command = handle_errors(policy_set)  # type: ignore[assignment]
    params: list[click.Parameter] = [
        click.Option([f"--{_snake(name).replace('_', '-')}", _snake(name)], help=_field_help(name, kind))
        for name, kind in fields
    ]
    params += [
        click.Option(["--base-units"], is_flag=True, help="Amounts are in token base units, not tokens."),
        click.Option(["--from", "who"], help="Signer: address or dev account index (default: the deployer)."),
        click.Option(["--json", "as_json"], is_flag=True, help="Print JSON instead of a table."),
    ]
    return Command("set", callback=command, params=params, help=policy_set.__doc__)


def _field_help(name: str, solidity_type: str) -> str:
    return {
        "bps": "bps (10000 = 100 %)",
        "amount": "tokens",
        "duration": "a duration: 90d, 12h, 30m or seconds",
        "bool": "true or false",
        "address": "an address",
        "integer": "an integer",
    }[field_kind(name, solidity_type)] + f" ({solidity_type})"


def _policy_set(
    given: dict[str, str], fields: list[tuple[str, str]], base_units: bool, who: str | None, as_json: bool
) -> None:
    if not given:
        names = ", ".join(f"--{_snake(n).replace('_', '-')}" for n, _ in fields)
        raise OptionError(f"give at least one field to set: {names}")
    ledger = current_state().ledger()
    types = dict(fields)
    changes = {name: _parse_field(ledger, name, types[name], text, base_units) for name, text in given.items()}
    before = ledger.policy_values()
    ledger.update_policy(changes, by=resolve_from(ledger, who))
    after = ledger.policy_values()
    d = ledger.decimals
    changed = {_snake(k): [before[k], after[k]] for k in after if before.get(k) != after[k]}
    data = {"decimals": d, "policy": {_snake(k): v for k, v in after.items()}, "changed": changed}

    def human() -> None:
        rows = [
            [
                f"--{_snake(k).replace('_', '-')}",
                _show(field_kind(k, types[k]), before[k], d),
                _show(field_kind(k, types[k]), after[k], d),
            ]
            for k in after
            if before.get(k) != after[k]
        ]
        if rows:
            print_table("policy changed", ["field", "before", "after"], rows)
        else:
            say("the policy already had these values: nothing changed")

    finish(data, as_json, human)
