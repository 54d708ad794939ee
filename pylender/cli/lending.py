"""``pylender lender|token|credit``: institutions, the settlement token and borrowers' credit records."""

from __future__ import annotations

from typing import Any

import click

from pylender.cli.common import (
    base_units_option,
    current_state,
    finish,
    from_option,
    handle_errors,
    json_option,
    jsonable,
    parse_address,
    parse_amount,
    resolve_from,
    signer_address,
)
from pylender.cli.params import Group, OptionError
from pylender.cli.render import amount, print_pairs, print_table, say
from pylender.values import UINT256_MAX, borrower_id

# -- lenders -------------------------------------------------------------------------------------------


@click.group(cls=Group)
def lender() -> None:
    """Institutions: register, balances, withdraw, rotate."""


@lender.command("add")
@click.argument("address")
@click.argument("name")
@click.option("--platform", is_flag=True, help="The institution is a platform (counts towards the minimum share).")
@from_option
@json_option
@handle_errors
def lender_add(address: str, name: str, platform: bool, who: str | None, as_json: bool) -> None:
    """Register ADDRESS (or a dev account index) as institution NAME."""
    if not name.strip():
        raise OptionError("NAME must not be empty")
    ledger = current_state().ledger()
    account = parse_address(address, "ADDRESS")
    index = ledger.register_institution(account, name, is_platform=platform, by=resolve_from(ledger, who))
    finish(
        {"index": index, "address": account, "name": name, "is_platform": platform},
        as_json,
        lambda: say(f"registered {name} ({account}) as institution {index}" + (", a platform" if platform else "")),
    )


def _institution_rows(ledger: Any, address: str | None) -> list[tuple[str, Any]]:
    if address is None:
        return list(ledger.institutions())
    account = parse_address(address, "ADDRESS")
    balance = ledger.account_of(account)
    if balance.index == 0:
        raise OptionError(f"ADDRESS {account} is not a registered institution (`pylender lender balance` lists them)")
    return [(account, balance)]


@lender.command("balance")
@click.argument("address", required=False)
@json_option
@handle_errors
def lender_balance(address: str | None, as_json: bool) -> None:
    """Withdrawable, reserve, loss and exposure of one institution, or of all."""
    ledger = current_state().ledger()
    rows = _institution_rows(ledger, address)
    d = ledger.decimals
    data = {
        "decimals": d,
        "institutions": [{"address": a, **jsonable(acc)} for a, acc in rows],
    }

    def human() -> None:
        columns = ["#", "name", "platform", "withdrawable", "reserve", "loss", "exposure", "address"]
        table = []
        for a, acc in rows:
            amounts = (acc.withdrawable, acc.reserve, acc.loss, acc.exposure)
            table.append(
                [str(acc.index), acc.name, "yes" if acc.is_platform else "no", *(amount(v, d) for v in amounts), a]
            )
        print_table("institutions", columns, table, right=["#", "withdrawable", "reserve", "loss", "exposure"])

    finish(data, as_json, human)


@lender.command("withdraw")
@click.option(
    "--to",
    "to_text",
    help="Send it to this address (or dev account index) instead: for an institution the token will not pay.",
)
@from_option
@json_option
@handle_errors
def lender_withdraw(to_text: str | None, who: str | None, as_json: bool) -> None:
    """Withdraw the signer's whole withdrawable balance (to its own address, or --to another)."""
    ledger = current_state().ledger()
    by = resolve_from(ledger, who) or ledger.default_signer
    address = signer_address(ledger, who)
    to = parse_address(to_text, "--to") if to_text is not None else address
    withdrawn = ledger.withdraw(by, to=None if to == address else to)
    d = ledger.decimals
    finish(
        {"address": address, "to": to, "withdrawn": withdrawn, "decimals": d},
        as_json,
        lambda: say(f"{address} withdrew {amount(withdrawn, d)}" + (f" to {to}" if to != address else "")),
    )


@lender.command("rotate")
@click.argument("address")
@click.argument("new_address", metavar="NEW_ADDRESS")
@from_option
@json_option
@handle_errors
def lender_rotate(address: str, new_address: str, who: str | None, as_json: bool) -> None:
    """Move institution ADDRESS to NEW_ADDRESS (admin; works while paused): its index, balances, tranches and
    lender role follow, for a lost or compromised key or a token that blacklisted it."""
    ledger = current_state().ledger()
    account = parse_address(address, "ADDRESS")
    new_account = parse_address(new_address, "NEW_ADDRESS")
    ledger.rotate_institution(account, new_account, by=resolve_from(ledger, who))
    index = ledger.account_of(new_account).index
    finish(
        {"index": index, "from": account, "to": new_account},
        as_json,
        lambda: say(f"institution {index} moved from {account} to {new_account}"),
    )


# -- token ---------------------------------------------------------------------------------------------


@click.group(cls=Group)
def token() -> None:
    """The settlement token: balances, allowances, and minting on the test token."""


@token.command("mint")
@click.argument("address")
@click.argument("amount_text", metavar="AMOUNT")
@base_units_option
@from_option
@json_option
@handle_errors
def token_mint(address: str, amount_text: str, base_units: bool, who: str | None, as_json: bool) -> None:
    """Mint AMOUNT test tokens to ADDRESS (or a dev account index); local test token only."""
    ledger = current_state().ledger()
    to = parse_address(address, "ADDRESS")
    value = parse_amount(ledger, amount_text, base_units)
    ledger.mint(to, value, by=resolve_from(ledger, who))
    balance = ledger.balance_of(to)
    d = ledger.decimals
    finish(
        {"address": to, "minted": value, "balance": balance, "decimals": d},
        as_json,
        lambda: say(f"minted {amount(value, d)}: {to} holds {amount(balance, d)}"),
    )


@token.command("balance")
@click.argument("address")
@json_option
@handle_errors
def token_balance(address: str, as_json: bool) -> None:
    """Token balance of ADDRESS (or a dev account index)."""
    ledger = current_state().ledger()
    who = parse_address(address, "ADDRESS")
    balance = ledger.balance_of(who)
    d = ledger.decimals
    finish(
        {"address": who, "token": ledger.deployment.token, "balance": balance, "decimals": d},
        as_json,
        lambda: say(f"{who}: {amount(balance, d)}"),
    )


def _allowance_text(value: int, d: int) -> str:
    return "unlimited" if value == UINT256_MAX else amount(value, d)


@token.command("allowance")
@click.argument("address")
@json_option
@handle_errors
def token_allowance(address: str, as_json: bool) -> None:
    """What the ledger may still pull from ADDRESS (0 after every exact approval is used)."""
    ledger = current_state().ledger()
    owner = parse_address(address, "ADDRESS")
    value = ledger.allowance(owner)
    d = ledger.decimals
    finish(
        {
            "owner": owner,
            "spender": ledger.address,
            "allowance": value,
            "unlimited": value == UINT256_MAX,
            "decimals": d,
        },
        as_json,
        lambda: say(f"the ledger may pull {_allowance_text(value, d)} from {owner}"),
    )


@token.command("approve")
@click.argument("amount_text", metavar="AMOUNT")
@base_units_option
@from_option
@json_option
@handle_errors
def token_approve(amount_text: str, base_units: bool, who: str | None, as_json: bool) -> None:
    """Set the ledger's allowance from the signer to AMOUNT: 0 revokes it, `unlimited` only when you mean it."""
    ledger = current_state().ledger()
    if amount_text.strip().lower() == "unlimited":
        value = UINT256_MAX
    else:
        value = parse_amount(ledger, amount_text, base_units, positive=False)
    by = resolve_from(ledger, who) or ledger.default_signer
    owner = signer_address(ledger, who)
    ledger.approve(by, value)
    now = ledger.allowance(owner)
    d = ledger.decimals
    finish(
        {"owner": owner, "spender": ledger.address, "allowance": now, "unlimited": now == UINT256_MAX, "decimals": d},
        as_json,
        lambda: say(f"the ledger may pull {_allowance_text(now, d)} from {owner}"),
    )


# -- credit --------------------------------------------------------------------------------------------


@click.command(cls=Group.command_class)
@click.argument("borrower")
@json_option
@handle_errors
def credit(borrower: str, as_json: bool) -> None:
    """A borrower's credit record (BORROWER as given at origination, or its 0x id)."""
    ledger = current_state().ledger()
    record = ledger.credit_record(borrower)
    d = ledger.decimals
    data = {"borrower_id": "0x" + borrower_id(borrower).hex(), **jsonable(record), "decimals": d}

    def human() -> None:
        pairs = [
            (key.replace("_", " "), amount(value, d) if key == "amount_written_off" else f"{value:,}")
            for key, value in jsonable(record).items()
        ]
        print_pairs(f"credit record of {borrower}", pairs)

    finish(data, as_json, human)
