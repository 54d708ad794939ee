"""``pylender position``: positions change hands (贷款转让, docs/ledger-spec.md, "Participations"). ``offer`` a share
of a loan to a named institution at a price, ``accept`` it as the buyer (the price and the position move in one
transaction), ``cancel`` it as the seller, ``show`` a loan's holders and its open offers."""

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
from pylender.cli.params import LOAN_ID, OFFER_ID, Days, Group, bps
from pylender.cli.render import amount, print_pairs, say, when
from pylender.errors import OfferNotOpen
from pylender.values import LoanStatus


@click.group(cls=Group)
def position() -> None:
    """Sell and buy positions in loans: offer, accept, cancel, show."""


def _offer_data(ledger: Any, offer_id: int) -> dict[str, Any]:
    offer = ledger.offer_of(offer_id)
    if offer is None:
        raise OfferNotOpen(offer_id)
    return {"offer_id": offer_id, **jsonable(offer), "decimals": ledger.decimals}


def _say_offer(data: dict[str, Any], head: str) -> None:
    state = current_state()
    price = amount(data["price"], data["decimals"])
    say(f"{head}: {data['share_bps']:,} bps of loan {data['loan_id']} for {price}")
    say(f"  seller {data['seller']}")
    say(f"  buyer  {data['buyer']}")
    say(f"  open until {when(data['expiry'], state.tz)}")


@position.command("offer")
@click.argument("loan_id", type=LOAN_ID)
@click.option("--to", "buyer", required=True, help="The buyer: a registered institution (address or dev index).")
@click.option("--share", "share_bps", type=bps(), required=True, help="Share of the loan offered, in bps.")
@click.option("--price", "price_text", required=True, help="Price in tokens (base units with --base-units).")
@click.option("--days", "seconds", type=Days(), default="7", show_default=True, help="Open for this many days.")
@base_units_option
@from_option
@json_option
@handle_errors
def position_offer(
    loan_id: int,
    buyer: str,
    share_bps: int,
    price_text: str,
    seconds: int,
    base_units: bool,
    who: str | None,
    as_json: bool,
) -> None:
    """Offer --share bps of LOAN_ID, out of the signer's position, to --to for --price; prints the offer id."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    to = parse_address(buyer, "--to")
    price = parse_amount(ledger, price_text, base_units, "--price", positive=False)
    by = resolve_from(ledger, who)
    expiry = ledger.now() + 1 + seconds  # from the block the offer lands in
    offer_id = ledger.offer_position(loan_id, to, share_bps, price, expiry, by=by)
    data = _offer_data(ledger, offer_id)
    finish(data, as_json, lambda: _say_offer(data, f"offer {offer_id}"))


@position.command("accept")
@click.argument("offer_id", type=OFFER_ID)
@approve_options
@from_option
@json_option
@handle_errors
def position_accept(offer_id: int, approve: str, no_approve: bool, who: str | None, as_json: bool) -> None:
    """Accept OFFER_ID as its buyer: the price goes to the seller and the position to the signer, in one
    transaction (the ledger is approved for exactly the price unless --approve unlimited or --no-approve)."""
    ledger = current_state().ledger()
    data = _offer_data(ledger, offer_id)
    ledger.accept_offer(offer_id, by=resolve_from(ledger, who), approve=approve_mode(approve, no_approve))
    finish({**data, "accepted": True}, as_json, lambda: _say_offer(data, f"accepted offer {offer_id}"))


@position.command("cancel")
@click.argument("offer_id", type=OFFER_ID)
@from_option
@json_option
@handle_errors
def position_cancel(offer_id: int, who: str | None, as_json: bool) -> None:
    """Withdraw OFFER_ID (its seller; also while the ledger is paused)."""
    ledger = current_state().ledger()
    data = _offer_data(ledger, offer_id)
    ledger.cancel_offer(offer_id, by=resolve_from(ledger, who))
    finish({**data, "cancelled": True}, as_json, lambda: _say_offer(data, f"cancelled offer {offer_id}"))


@position.command("show")
@click.argument("loan_id", type=LOAN_ID)
@json_option
@handle_errors
def position_show(loan_id: int, as_json: bool) -> None:
    """LOAN_ID's holders (share, principal amount, credits so far; past holders with share 0) and its open
    offers."""
    ledger = current_state().ledger()
    view = ledger.loan(loan_id)
    d = ledger.decimals
    holders = []
    for t in ledger.tranches(loan_id):
        p = ledger.position(loan_id, t.lender) if view.status != LoanStatus.ORIGINATED else None
        holders.append({**jsonable(t), "position": jsonable(p) if p is not None else None})
    offers = [
        {"offer_id": i, **jsonable(o)}
        for i in range(1, ledger.offer_count() + 1)
        if (o := ledger.offer_of(i)) is not None and o.loan_id == loan_id
    ]
    data = {"loan_id": loan_id, "status": view.status.label, "decimals": d, "holders": holders, "offers": offers}

    def human() -> None:
        print_pairs(
            f"loan {loan_id} ({view.status.label})", [("holders", str(len(holders))), ("open offers", str(len(offers)))]
        )
        for i, h in enumerate(holders):
            pos = h["position"] or {}
            print_pairs(
                f"holder {i}{' (lead)' if i == 0 else ''}",
                [
                    ("lender", h["lender"]),
                    ("share", f"{h['share_bps']:,} bps"),
                    ("amount", amount(h["amount"], d)),
                    ("income credited", amount(pos.get("income_credited", 0), d)),
                    ("principal credited", amount(pos.get("principal_credited", 0), d)),
                    ("recovered credited", amount(pos.get("recovered_credited", 0), d)),
                ],
            )
        for o in offers:
            _say_offer({**o, "decimals": d}, f"open offer {o['offer_id']}")

    finish(data, as_json, human)
