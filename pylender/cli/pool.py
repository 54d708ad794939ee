"""``pylender pool``: loan pools with a senior and a junior class (资产证券化, docs/ledger-spec.md, "Loan pools").
``create`` deploys one and registers it on the ledger, investors ``subscribe``, the arranger ``buy``-s positions
offered to the pool, anyone ``distribute``-s what the loans paid, investors ``claim``; ``show`` prints its state."""

from __future__ import annotations

from typing import Any

import click

from pylender.cli.common import (
    approve_mode,
    approve_options,
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
)
from pylender.cli.params import OFFER_ID, Days, Group, OptionError, bps
from pylender.cli.render import amount, print_pairs, say, when
from pylender.client.pool import Pool, PoolClass, deploy_pool
from pylender.values import PoolTerms

CLASSES = click.Choice(["senior", "junior"], case_sensitive=False)


@click.group(cls=Group)
def pool() -> None:
    """Loan pools: create, subscribe, buy, distribute, claim, show."""


def _pool(address: str) -> Pool:
    return Pool(current_state().ledger(), parse_address(address, "POOL"))


def _state_data(p: Pool) -> dict[str, Any]:
    return {"pool": p.address, **jsonable(p.state()), "decimals": p.ledger.decimals}


@pool.command("create")
@click.option("--name", required=True, help="The pool's name (its class tokens are NAME Senior / NAME Junior).")
@click.option("--coupon", "coupon_bps", type=bps(2**16 - 1), required=True, help="Senior coupon, bps a year.")
@click.option("--min-junior", "min_junior_bps", type=bps(), default=0, help="Junior's minimum share, bps.")
@click.option("--subscription-days", type=Days(), default="7", show_default=True, help="Subscription window.")
@click.option("--purchase-days", type=Days(), default="30", show_default=True, help="Purchases allowed until.")
@click.option("--arranger", help="The arranger (buys positions for the pool); default: the signer.")
@from_option
@json_option
@handle_errors
def pool_create(
    name: str,
    coupon_bps: int,
    min_junior_bps: int,
    subscription_days: int,
    purchase_days: int,
    arranger: str | None,
    who: str | None,
    as_json: bool,
) -> None:
    """Deploy a pool over the ledger and register it as a pool institution (the signer must be the admin)."""
    if not name.strip():
        raise OptionError("--name must not be empty")
    ledger = current_state().ledger()
    now = ledger.now()
    terms = PoolTerms(coupon_bps, min_junior_bps, now + subscription_days, now + purchase_days)
    chosen = parse_address(arranger, "--arranger") if arranger else None
    p = deploy_pool(ledger, terms, name, arranger=chosen, by=resolve_from(ledger, who))
    data = {"pool": p.address, "name": name, "terms": jsonable(p.terms()), "arranger": p.arranger()}
    tz = current_state().tz
    finish(
        data,
        as_json,
        lambda: say(
            f"pool {name} at {p.address}: senior coupon {coupon_bps} bps, subscriptions until "
            f"{when(terms.subscription_end, tz)}, purchases until {when(terms.purchase_end, tz)}"
        ),
    )


@pool.command("subscribe")
@click.argument("pool_address", metavar="POOL")
@click.argument("cls", metavar="CLASS", type=CLASSES)
@click.argument("amount_text", metavar="AMOUNT")
@approve_options
@base_units_option
@from_option
@json_option
@handle_errors
def pool_subscribe(
    pool_address: str,
    cls: str,
    amount_text: str,
    approve: str,
    no_approve: bool,
    base_units: bool,
    who: str | None,
    as_json: bool,
) -> None:
    """Pay AMOUNT into CLASS (senior or junior) of POOL; class tokens 1:1."""
    p = _pool(pool_address)
    value = parse_amount(p.ledger, amount_text, base_units)
    by = resolve_from(p.ledger, who)
    p.subscribe(PoolClass.parse(cls), value, by, approve=approve_mode(approve, no_approve))
    d = p.ledger.decimals
    finish(
        {**_state_data(p), "class": cls.lower(), "amount": value},
        as_json,
        lambda: say(f"subscribed {amount(value, d)} to the {cls.lower()} class of {p.address}"),
    )


@pool.command("buy")
@click.argument("pool_address", metavar="POOL")
@click.argument("offer_id", type=OFFER_ID)
@from_option
@json_option
@handle_errors
def pool_buy(pool_address: str, offer_id: int, who: str | None, as_json: bool) -> None:
    """Accept ledger offer OFFER_ID (made to POOL) with the pool's cash (the arranger)."""
    p = _pool(pool_address)
    offer = p.ledger.offer_of(offer_id)
    p.buy(offer_id, resolve_from(p.ledger, who))
    data = {**_state_data(p), "offer_id": offer_id, "offer": jsonable(offer) if offer else None}
    finish(data, as_json, lambda: say(f"pool {p.address} bought offer {offer_id}"))


@pool.command("distribute")
@click.argument("pool_address", metavar="POOL")
@from_option
@json_option
@handle_errors
def pool_distribute(pool_address: str, who: str | None, as_json: bool) -> None:
    """Withdraw what the ledger credited POOL and pay it through the waterfall (anyone)."""
    p = _pool(pool_address)
    receipt = p.distribute(resolve_from(p.ledger, who))
    [event] = p.events(receipt, "Distributed")
    figures = {k: int(v) for k, v in event.items() if k != "head"}
    d = p.ledger.decimals

    def human() -> None:
        rows = [(k.replace("_", " "), f"{amount(v, d)}") for k, v in _snake(figures).items()]
        print_pairs("distribution", [("pool", p.address), *rows])

    finish({**_state_data(p), "distribution": _snake(figures)}, as_json, human)


def _snake(fields: dict[str, int]) -> dict[str, int]:
    import re

    return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in fields.items()}


@pool.command("claim")
@click.argument("pool_address", metavar="POOL")
@click.argument("cls", metavar="CLASS", type=CLASSES)
@from_option
@json_option
@handle_errors
def pool_claim(pool_address: str, cls: str, who: str | None, as_json: bool) -> None:
    """Claim the signer's share of what CLASS of POOL was paid."""
    p = _pool(pool_address)
    value = p.claim(PoolClass.parse(cls), resolve_from(p.ledger, who))
    d = p.ledger.decimals
    finish({"pool": p.address, "class": cls.lower(), "claimed": value, "decimals": d}, as_json,
           lambda: say(f"claimed {amount(value, d)} from the {cls.lower()} class of {p.address}"))  # fmt: skip


@pool.command("show")
@click.argument("pool_address", metavar="POOL")
@click.option("--holder", help="Also show this investor's class tokens and claimable amounts.")
@json_option
@handle_errors
def pool_show(pool_address: str, holder: str | None, as_json: bool) -> None:
    """POOL's terms, class balances, losses written down, coupon owed, cash and collections."""
    p = _pool(pool_address)
    state, terms, d = p.state(), p.terms(), p.ledger.decimals
    data: dict[str, Any] = {**_state_data(p), "terms": jsonable(terms)}
    if holder:
        who = parse_address(holder, "--holder")
        data["holder"] = {
            "address": who,
            **{f"{c.name.lower()}_tokens": p.class_balance_of(c, who) for c in PoolClass},
            **{f"{c.name.lower()}_claimable": p.claimable(c, who) for c in PoolClass},
        }

    def human() -> None:
        tz = current_state().tz
        print_pairs(
            "pool",
            [
                ("address", p.address),
                ("senior coupon", f"{terms.senior_coupon_bps} bps a year"),
                ("minimum junior share", f"{terms.min_junior_bps} bps"),
                ("subscriptions until", when(terms.subscription_end, tz)),
                ("purchases until", when(terms.purchase_end, tz)),
                ("senior balance", amount(state.senior_balance, d)),
                ("junior balance", amount(state.junior_balance, d)),
                ("senior written down", amount(state.senior_written_down, d)),
                ("junior written down", amount(state.junior_written_down, d)),
                ("senior coupon owed", amount(state.senior_interest_owed, d)),
                ("cash", amount(state.cash, d)),
                ("collected", amount(state.collected, d)),
                ("unclaimed", amount(state.unclaimed, d)),
            ],
        )
        if holder:
            h = data["holder"]
            print_pairs(
                f"holder {h['address']}", [(k.replace("_", " "), amount(v, d)) for k, v in h.items() if k != "address"]
            )

    finish(data, as_json, human)
