"""Test oracles for scenario runs: the pure-Python reference model driven by a run's recorded actions.

:func:`replay_reference` replays :attr:`RunResult.actions` on :class:`pylender.reference.ReferenceLedger` at the
same block timestamps; :func:`chain_view` is the part of a run's result that the replay reproduces. A test asserts
``chain_view(result) == replay_reference(scenario, result)``: every balance the chain ended with, to the unit.
"""

from __future__ import annotations

from typing import Any

from pylender import errors
from pylender import reference as ref
from pylender.errors import ScenarioError
from pylender.reference.pool import PoolModel
from pylender.scenarios.runner import Action, RunResult, build_policy
from pylender.scenarios.schema import Scenario
from pylender.values import LoanStatus, PoolTerms


def replay_reference(scenario: Scenario, result: RunResult) -> dict[str, Any]:
    """Replay ``result.actions`` on :class:`pylender.reference.ReferenceLedger` (same timestamps) and return
    the state in the shape of :meth:`RunResult.summary`'s ``lenders`` and ``loans`` (without chain-only fields).
    """
    model = ref.ReferenceLedger(build_policy(scenario))
    address = {key: state.address for key, state in result.lenders.items()}
    for key, inst in scenario.institutions.items():
        model.register_institution(address[key], inst.name, inst.platform)
    ids: dict[str, int] = {}
    withdrawn = dict.fromkeys(address, 0)
    offers: dict[str, int] = {}
    pools: dict[str, _Pool] = {}
    for action in result.actions:
        if action.kind in POOL_ACTIONS:
            _apply_pool(model, action, address, offers, pools)
            continue
        if action.reverted is None:
            _apply(model, action, ids, address, withdrawn, offers, pools)
            continue
        try:
            _apply(model, action, ids, address, withdrawn, offers, pools)
        except errors.ContractError as exc:
            if type(exc).__name__ != action.reverted:
                raise ScenarioError(
                    f"{action.kind}: the chain reverted {action.reverted}, the reference {exc.error_name} ({exc})"
                ) from None
        else:
            raise ScenarioError(f"{action.kind}: the chain reverted {action.reverted}, the reference accepted it")
    lenders = {}
    for key, addr in address.items():
        acc = model.books.accounts[addr]
        lenders[key] = {
            "withdrawable": acc.withdrawable,
            "reserve": acc.reserve,
            "loss": acc.loss,
            "exposure": acc.exposure,
            "withdrawn": withdrawn[key],
        }
    loans = {}
    for key, loan_id in ids.items():
        loan = model.loans[loan_id]
        book = model.books.loans[loan_id]
        loans[key] = {
            "id": loan_id,
            "status": LoanStatus(int(loan.status)).label,
            "outstanding": loan.outstanding_principal,
            "principal_paid": book.principal_paid,
            "interest_paid": book.interest_paid,
            "fee_paid": book.fee_paid,
            "penalty_paid": book.penalty_paid,
            "prepayment_fee_paid": book.prepayment_fee_paid,
            "recovered": book.recovered,
            "written_off": loan.written_off,
            "current_installment": loan.current,
        }
    out_pools = {}
    for name, pool in pools.items():
        senior, junior = pool.model.classes
        out_pools[name] = {
            "address": pool.address,
            "senior_balance": senior.balance,
            "junior_balance": junior.balance,
            "senior_written_down": senior.written_down,
            "junior_written_down": junior.written_down,
            "senior_interest_owed": pool.model.senior_interest_owed,
            "cash": pool.model.cash,
            "collected": pool.model.collected,
            "unclaimed": pool.model.unclaimed,
            "claimed": pool.claimed,
        }
    return {"lenders": lenders, "loans": loans, "ledger_token_balance": model.books.held, "pools": out_pools}


class _Pool:
    """A pool in the replay: its address, its reference model and what each investor claimed, per class."""

    def __init__(self, address: str, terms: PoolTerms) -> None:
        self.address = address
        self.model = PoolModel(terms)
        self.claimed: dict[str, dict[str, int]] = {}


POOL_ACTIONS = frozenset({"pool", "subscribe", "pool_buy", "distribute", "claim", "transfer_class"})
CLASS_NAMES = ("senior", "junior")


def _apply_pool(
    model: Any, action: Action, address: dict[str, str], offers: dict[str, int], pools: dict[str, _Pool]
) -> None:
    """A pool action: the pool's reference model, fed by the reference ledger as the pool reads the ledger."""
    a, now = action.args, action.timestamp
    if action.reverted is not None:
        return  # the pool's own refusals are the contract tests' (tests/contracts/test_pool.py)
    if action.kind == "pool":
        pools[a["pool"]] = _Pool(a["address"], PoolTerms(**a["terms"]))
        model.register_pool(a["address"], a["pool"])
        return
    pool = pools[a["pool"]]
    if action.kind == "subscribe":
        pool.model.subscribe(a["investor"], a["cls"], a["amount"], now)
    elif action.kind == "pool_buy":
        model.accept_offer(pool.address, offers[a["offer"]], now)
        pool.model.buy(a["price"])
    elif action.kind == "distribute":
        account = model.books.accounts[pool.address]
        withdrawable, loss = account.withdrawable, account.loss
        principal, recovered = model.pool_collections_of(pool.address)
        if withdrawable:
            model.withdraw(pool.address)
        pool.model.distribute(withdrawable, principal + recovered, loss, now)
    elif action.kind == "claim":
        got = pool.claimed.setdefault(a["investor"], {"senior": 0, "junior": 0})
        got[CLASS_NAMES[a["cls"]]] += pool.model.claim(a["cls"], a["investor"])
    elif action.kind == "transfer_class":
        pool.model.transfer(a["cls"], a["sender"], a["to"], a["amount"])


def _apply(
    model: Any,
    action: Action,
    ids: dict[str, int],
    address: dict[str, str],
    withdrawn: dict[str, int],
    offers: dict[str, int],
    pools: dict[str, _Pool] | None = None,
) -> None:
    """Apply one recorded action to the reference model (``ids``, ``withdrawn`` and ``offers`` (offer name -> the
    model's offer id) are updated in place)."""
    now = action.timestamp
    loan_id = ids.get(action.loan or "", 0)
    a = action.args
    if action.kind == "originate":
        t = a["terms"]
        terms = ref.LoanTerms(
            **{**t, "borrower_id": bytes.fromhex(t["borrower_id"][2:]), "loan_ref": bytes.fromhex(t["loan_ref"][2:])}
        )
        tranches = [ref.Tranche(address[k], s) for k, s in zip(a["lenders"], a["shares"], strict=True)]
        ids[action.loan or ""] = model.originate(terms, tranches, now)
    elif action.kind == "fund":
        model.fund(loan_id, address[a["lender"]], now)
    elif action.kind == "disburse":
        if not a.get("by_originator", True):  # onlyRole(ORIGINATOR_ROLE) comes first; the model takes no caller
            raise errors.AccessControlUnauthorizedAccount(a["caller"], "ORIGINATOR_ROLE")
        model.disburse(loan_id, now)
    elif action.kind == "cancel":
        model.cancel(loan_id, now, by_originator=a["by_originator"], caller=a["caller"])
    elif action.kind == "repay":
        model.repay(loan_id, a["amount"], now)
    elif action.kind == "repay_batch":
        model.repay_batch([ids[k] for k in a["loans"]], a["amounts"], now)
    elif action.kind == "prepay":
        model.prepay(loan_id, a["principal"], now)
    elif action.kind == "mark_default":
        model.mark_default(loan_id, now)
    elif action.kind == "write_off":
        model.write_off(loan_id)
    elif action.kind == "recover":
        model.recover(loan_id, a["amount"])
    elif action.kind == "withdraw":
        withdrawn[a["lender"]] += model.withdraw(address[a["lender"]])
    elif action.kind == "offer":
        seller = address[a["seller"]]
        buyer = address[a["buyer"]] if a["buyer"] in address else (pools or {})[a["buyer"]].address
        offers[a["offer"]] = model.offer_position(seller, loan_id, buyer, a["share_bps"], a["price"], a["expiry"], now)
    elif action.kind == "accept":
        model.accept_offer(address[a["by"]], offers.get(a["offer"], 0), now)
    elif action.kind == "cancel_offer":
        model.cancel_offer(address[a["by"]], offers.get(a["offer"], 0))
    elif action.kind == "pause":
        model.pause()
    elif action.kind == "unpause":
        model.unpause()
    else:  # pragma: no cover - every kind the runner records is handled above
        raise ScenarioError(f"cannot replay action {action.kind}")


def chain_view(result: RunResult) -> dict[str, Any]:
    """The part of a run result :func:`replay_reference` reproduces, for comparison."""
    keys = ("withdrawable", "reserve", "loss", "exposure", "withdrawn")
    return {
        "lenders": {k: {f: getattr(s, f) for f in keys} for k, s in result.lenders.items()},
        "loans": {k: s.model_dump() for k, s in result.loans.items()},
        "ledger_token_balance": result.ledger_token_balance,
        "pools": {k: p.model_dump() for k, p in result.pools.items()},
    }
