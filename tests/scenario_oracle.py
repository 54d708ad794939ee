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
from pylender.scenarios.runner import Action, RunResult, build_policy
from pylender.scenarios.schema import Scenario
from pylender.values import LoanStatus


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
    for action in result.actions:
        if action.reverted is None:
            _apply(model, action, ids, address, withdrawn)
            continue
        try:
            _apply(model, action, ids, address, withdrawn)
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
    return {"lenders": lenders, "loans": loans, "ledger_token_balance": model.books.held}


def _apply(model: Any, action: Action, ids: dict[str, int], address: dict[str, str], withdrawn: dict[str, int]) -> None:
    """Apply one recorded action to the reference model (``ids`` and ``withdrawn`` are updated in place)."""
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
    }
