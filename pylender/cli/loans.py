"""``pylender loan``: originate, fund, disburse, repay, prepay, cancel, default, write-off, recover, show, schedule,
list. Amounts in tokens (``--base-units`` for base units), payments approved exactly unless ``--approve unlimited``."""

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
from pylender.cli.params import LOAN_ID, Days, Group, IntIn, OptionError, bps
from pylender.cli.render import amount, duration, print_pairs, print_table, say, when
from pylender.values import (
    BPS,
    MAX_PERIODS,
    MAX_TRANCHES,
    ZERO_ADDRESS,
    LoanStatus,
    LoanTerms,
    RepaymentMethod,
    Tranche,
    borrower_id,
    loan_ref,
    loan_ref_text,
)


@click.group(cls=Group)
def loan() -> None:
    """Loans: originate, fund, disburse, repay, prepay, cancel, default, write-off, recover, show, schedule, list."""


def _parse_tranche(text: str) -> Tranche:
    lender_part, sep, share = text.rpartition(":")
    if not sep or not lender_part:
        raise OptionError(f"--tranche must be LENDER:SHARE_BPS (e.g. 1:7000 or 0xabc…:7000), got {text!r}")
    shares = IntIn(1, BPS, "bps").convert(share, None, None) if share.strip().isdigit() else None
    if shares is None:
        raise OptionError(f"--tranche {text!r}: the share must be a whole number of bps from 1 to {BPS}")
    return Tranche(lender=parse_address(lender_part, "--tranche"), share_bps=shares)


def _loan_data(ledger: Any, loan_id: int, **extra: Any) -> dict[str, Any]:
    view = ledger.loan(loan_id)
    return {
        "loan_id": loan_id,
        "status": view.status.label,
        **extra,
        "outstanding_principal": view.outstanding_principal,
        "decimals": ledger.decimals,
    }


def _after(ledger: Any, loan_id: int, as_json: bool, message: str, **extra: Any) -> None:
    """End an action on a loan: ``message`` with the loan's status and outstanding principal (or all as JSON)."""
    data = _loan_data(ledger, loan_id, **extra)
    outstanding = amount(data["outstanding_principal"], ledger.decimals)
    finish(data, as_json, lambda: say(f"{message}: {data['status']}, outstanding {outstanding}"))


@loan.command("originate")
@click.option("--borrower", required=True, help="Borrower address or dev account index.")
@click.option("--borrower-id", required=True, help="Pseudonymous borrower id (hashed unless 0x + 64 hex).")
@click.option("--principal", required=True, help="Principal in tokens.")
@click.option("--rate", "rate_bps", type=bps(), required=True, help="Annual rate in bps.")
@click.option("--periods", type=IntIn(1, MAX_PERIODS), required=True)
@click.option("--period-days", type=Days(allow_zero=False), default="30", show_default=True)
@click.option(
    "--method",
    type=click.Choice([m.option for m in RepaymentMethod]),
    default=RepaymentMethod.EQUAL_INSTALLMENT.option,
    show_default=True,
)
@click.option("--tranche", "tranches", multiple=True, required=True, help="LENDER:SHARE_BPS, lead first (repeat).")
@click.option("--grace-days", type=Days(), default="0")
@click.option("--penalty-rate", type=bps(2**16 - 1), default=0, help="Penalty rate in bps.")
@click.option("--prepayment-fee", type=bps(), default=0, help="Prepayment fee in bps.")
@click.option("--service-fee", type=bps(), default=0, help="Service fee in bps of interest.")
@click.option("--fee-recipient", help="Institution receiving the service fee (needs --service-fee).")
@click.option("--reserve", type=bps(), default=0, help="Reserve in bps of income.")
@click.option("--funding-days", type=Days(allow_zero=False), default="7", show_default=True, help="Funding window.")
@click.option("--ref", "ref", help="The institutions' reference for the loan (contract number; never personal data).")
@base_units_option
@from_option
@json_option
@handle_errors
def loan_originate(**o: Any) -> None:
    """Originate a loan; prints its id."""
    if not o["borrower_id"].strip():
        raise OptionError("--borrower-id must not be empty")
    if len(o["tranches"]) > MAX_TRANCHES:
        raise OptionError(f"give at most {MAX_TRANCHES} --tranche options, got {len(o['tranches'])}")
    if (o["service_fee"] > 0) != bool(o["fee_recipient"]):
        raise OptionError("--fee-recipient and --service-fee go together: give both (the fee > 0) or neither")
    ledger = current_state().ledger()
    terms = LoanTerms(
        borrower=parse_address(o["borrower"], "--borrower"),
        borrower_id=borrower_id(o["borrower_id"]),
        principal=parse_amount(ledger, o["principal"], o["base_units"], "--principal"),
        annual_rate_bps=o["rate_bps"],
        periods=o["periods"],
        period_seconds=o["period_days"],
        method=RepaymentMethod.parse(o["method"]),
        grace_period=o["grace_days"],
        penalty_rate_bps=o["penalty_rate"],
        prepayment_fee_bps=o["prepayment_fee"],
        service_fee_bps=o["service_fee"],
        reserve_bps=o["reserve"],
        fee_recipient=parse_address(o["fee_recipient"], "--fee-recipient") if o["fee_recipient"] else ZERO_ADDRESS,
        funding_deadline=ledger.now() + o["funding_days"],
        loan_ref=loan_ref(o["ref"]) if o["ref"] else bytes(32),
    )
    tranches = [_parse_tranche(t) for t in o["tranches"]]
    loan_id = ledger.originate(terms, tranches, by=resolve_from(ledger, o["who"]))
    _after(ledger, loan_id, o["as_json"], f"originated loan {loan_id}", funding_deadline=terms.funding_deadline)


@loan.command("fund")
@click.argument("loan_id", type=LOAN_ID)
@click.option("--all", "fund_all", is_flag=True, help="Fund every unfunded tranche (keys held locally).")
@approve_options
@from_option
@json_option
@handle_errors
def loan_fund(loan_id: int, fund_all: bool, approve: str, no_approve: bool, who: str | None, as_json: bool) -> None:
    """Fund the signer's tranche of LOAN_ID (or every tranche with --all)."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    mode = approve_mode(approve, no_approve)
    if fund_all:
        if who is not None:
            raise OptionError("--all funds each tranche with its own lender's key: leave out --from")
        ledger.fund_all(loan_id, approve=mode)
    else:
        ledger.fund(loan_id, resolve_from(ledger, who) or ledger.default_signer, approve=mode)
    funded = sum(t.amount for t in ledger.tranches(loan_id) if t.funded)
    _after(ledger, loan_id, as_json, f"loan {loan_id} funded {amount(funded, ledger.decimals)}", funded=funded)


@loan.command("disburse")
@click.argument("loan_id", type=LOAN_ID)
@from_option
@json_option
@handle_errors
def loan_disburse(loan_id: int, who: str | None, as_json: bool) -> None:
    """Send the principal of a funded loan to its borrower (originator)."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    ledger.disburse(loan_id, by=resolve_from(ledger, who))
    _after(ledger, loan_id, as_json, f"loan {loan_id} disbursed")


@loan.command("repay")
@click.argument("loan_id", type=LOAN_ID)
@click.argument("amount_text", metavar="AMOUNT", required=False)
@click.option("--due", "pay_due", is_flag=True, help="Pay exactly everything due when the payment executes.")
@approve_options
@base_units_option
@from_option
@json_option
@handle_errors
def loan_repay(
    loan_id: int,
    amount_text: str | None,
    pay_due: bool,
    approve: str,
    no_approve: bool,
    base_units: bool,
    who: str | None,
    as_json: bool,
) -> None:
    """Repay AMOUNT (tokens) on LOAN_ID, or --due: exactly what is due when it executes.

    The ledger is approved for exactly AMOUNT, which the payment uses up; with --due for a bound, whose unused
    part is reset to 0 right after. Either way the allowance is 0 afterwards (unless --approve unlimited).
    """
    if pay_due and amount_text is not None:
        raise OptionError("give AMOUNT or --due, not both")
    if not pay_due and amount_text is None:
        raise OptionError("give AMOUNT (tokens) or --due")
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    mode = approve_mode(approve, no_approve)
    by = resolve_from(ledger, who)
    if pay_due:
        # The contract works out what is due when the transaction executes: never short, never an overpayment.
        receipt = ledger.repay_due(loan_id, by=by, approve=mode)
        [value] = ledger.repaid_amounts(receipt)
    else:
        assert amount_text is not None
        value = parse_amount(ledger, amount_text, base_units)
        ledger.repay(loan_id, value, by=by, approve=mode)
    _after(ledger, loan_id, as_json, f"repaid {amount(value, ledger.decimals)} on loan {loan_id}", paid=value)


@loan.command("prepay")
@click.argument("loan_id", type=LOAN_ID)
@click.argument("principal")
@approve_options
@base_units_option
@from_option
@json_option
@handle_errors
def loan_prepay(
    loan_id: int, principal: str, approve: str, no_approve: bool, base_units: bool, who: str | None, as_json: bool
) -> None:
    """Prepay PRINCIPAL (tokens) of LOAN_ID: pays what is due, this installment's interest and the fee too."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    value = parse_amount(ledger, principal, base_units, "PRINCIPAL")
    payer = resolve_from(ledger, who) or ledger.default_signer
    before = ledger.balance_of(payer)
    ledger.prepay(loan_id, value, by=payer, approve=approve_mode(approve, no_approve))
    paid = before - ledger.balance_of(payer)
    d = ledger.decimals
    message = f"prepaid {amount(value, d)} of principal on loan {loan_id} (paid {amount(paid, d)})"
    _after(ledger, loan_id, as_json, message, principal=value, paid=paid)


@loan.command("cancel")
@click.argument("loan_id", type=LOAN_ID)
@from_option
@json_option
@handle_errors
def loan_cancel(loan_id: int, who: str | None, as_json: bool) -> None:
    """Cancel LOAN_ID before disbursement (originator; anyone once the funding deadline passed unfunded).

    Funded tranches go back to their lenders' withdrawable balances.
    """
    ledger = current_state().ledger()
    refunded = sum(t.amount for t in ledger.tranches(loan_id) if t.funded)
    ledger.cancel(loan_id, by=resolve_from(ledger, who))
    message = f"loan {loan_id} cancelled, {amount(refunded, ledger.decimals)} back to its lenders"
    _after(ledger, loan_id, as_json, message, refunded=refunded)


@loan.command("default")
@click.argument("loan_id", type=LOAN_ID)
@from_option
@json_option
@handle_errors
def loan_default(loan_id: int, who: str | None, as_json: bool) -> None:
    """Mark LOAN_ID defaulted (servicer; anyone after the public delay) once overdue long enough."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    ledger.mark_default(loan_id, by=resolve_from(ledger, who))
    owed = ledger.loan(loan_id).owed_at_default
    message = f"loan {loan_id} defaulted owing {amount(owed, ledger.decimals)}"
    _after(ledger, loan_id, as_json, message, owed_at_default=owed)


@loan.command("write-off")
@click.argument("loan_id", type=LOAN_ID)
@from_option
@json_option
@handle_errors
def loan_write_off(loan_id: int, who: str | None, as_json: bool) -> None:
    """Write a defaulted LOAN_ID off (servicer): the loss is split by share, reserves absorb it first."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    ledger.write_off(loan_id, by=resolve_from(ledger, who))
    written_off = ledger.loan(loan_id).written_off
    message = f"loan {loan_id} written off: {amount(written_off, ledger.decimals)}"
    _after(ledger, loan_id, as_json, message, written_off=written_off)


@loan.command("recover")
@click.argument("loan_id", type=LOAN_ID)
@click.argument("amount_text", metavar="AMOUNT")
@approve_options
@base_units_option
@from_option
@json_option
@handle_errors
def loan_recover(
    loan_id: int, amount_text: str, approve: str, no_approve: bool, base_units: bool, who: str | None, as_json: bool
) -> None:
    """Pay AMOUNT (tokens) recovered on a defaulted or written-off LOAN_ID; split by share."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    value = parse_amount(ledger, amount_text, base_units)
    ledger.recover(loan_id, value, by=resolve_from(ledger, who), approve=approve_mode(approve, no_approve))
    recovered = ledger.loan(loan_id).recovered
    d = ledger.decimals
    message = f"recovered {amount(value, d)} on loan {loan_id} ({amount(recovered, d)} in all)"
    _after(ledger, loan_id, as_json, message, amount=value, recovered=recovered)


@loan.command("show")
@click.argument("loan_id", type=LOAN_ID)
@json_option
@handle_errors
def loan_show(loan_id: int, as_json: bool) -> None:
    """A loan's terms, state, tranches, what it owes now and when the next installment is due."""
    state = current_state()
    ledger = state.ledger()
    view = ledger.loan(loan_id)
    tranches = ledger.tranches(loan_id)
    due = ledger.amount_due(loan_id) if view.status == LoanStatus.ACTIVE else None
    d = ledger.decimals
    next_due = due.next_due_date if due is not None else 0
    data = {
        "loan_id": loan_id,
        "decimals": d,
        "loan": {**jsonable(view), "loan_ref_text": loan_ref_text(view.loan_ref)},
        "tranches": [jsonable(t) for t in tranches],
        "due": jsonable(due) if due is not None else None,
        "next_due_date": next_due or None,
    }

    def human() -> None:
        tz = state.tz
        pairs = [
            ("status", view.status.label),
            ("reference", loan_ref_text(view.loan_ref) or "(none)"),
            ("borrower", view.borrower),
            ("borrower id", "0x" + view.borrower_id.hex()),
            ("principal", amount(view.principal, d)),
            ("rate", f"{view.annual_rate_bps / 100:.2f} % ({view.annual_rate_bps} bps)"),
            ("method", view.method.option),
            ("periods", f"{view.periods} x {duration(view.period_seconds)}"),
            ("grace period", duration(view.grace_period)),
            ("default after", f"{duration(view.default_after)} overdue (the policy when originated)"),
            ("funding deadline", when(view.funding_deadline, tz)),
            ("disburse by", when(view.disburse_by, tz)),
            ("disbursed", when(view.disbursed_at, tz)),
            ("installment", amount(view.installment_amount, d)),
            ("current installment", str(view.current_installment)),
            ("outstanding principal", amount(view.outstanding_principal, d)),
            ("interest paid", amount(view.interest_paid, d)),
            ("principal paid", amount(view.principal_paid, d)),
            ("service fee paid", amount(view.fee_paid, d)),
            ("penalty paid", amount(view.penalty_paid, d)),
        ]
        if due is not None:
            pairs += [
                ("next due date", when(due.next_due_date, tz)),
                ("overdue installments", str(due.overdue_installments)),
                ("due now", amount(due.total_due, d)),
                ("max payable now", amount(due.max_payable, d)),
            ]
        if view.status in (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF, LoanStatus.RECOVERED):
            pairs += [
                ("owed at default", amount(view.owed_at_default, d)),
                ("written off", amount(view.written_off, d)),
                ("recovered", amount(view.recovered, d)),
            ]
        print_pairs(f"loan {loan_id}: {view.status.label}", pairs)
        rows = [
            [
                f"#{t.institution}",
                f"{t.share_bps / 100:.2f} %",
                amount(t.amount, d),
                "yes" if t.funded else "no",
                t.lender,
            ]
            for t in tranches
        ]
        print_table("tranches", ["lender", "share", "amount", "funded", "address"], rows, right=["share", "amount"])

    finish(data, as_json, human)


@loan.command("schedule")
@click.argument("loan_id", type=LOAN_ID)
@json_option
@handle_errors
def loan_schedule(loan_id: int, as_json: bool) -> None:
    """The projected installments of LOAN_ID, with what was paid of each."""
    state = current_state()
    ledger = state.ledger()
    items = ledger.schedule(loan_id)
    d = ledger.decimals
    data = {"loan_id": loan_id, "decimals": d, "installments": [jsonable(i) for i in items]}

    def human() -> None:
        rows = [
            [
                str(i.index),
                when(i.due_date, state.tz),
                amount(i.outstanding_before, d),
                amount(i.interest, d),
                amount(i.principal, d),
                amount(i.total, d),
                amount(i.interest_paid + i.principal_paid, d),
            ]
            for i in items
        ]
        columns = ["#", "due", "outstanding", "interest", "principal", "total", "paid"]
        print_table(f"loan {loan_id} schedule", columns, rows, right=["#", *columns[2:]])

    finish(data, as_json, human)


@loan.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.option for s in LoanStatus if s != LoanStatus.NONE]),
    help="Only loans in this status (repeat for several).",
)
@click.option("--overdue", is_flag=True, help="Only active loans with an installment past its due date and grace.")
@click.option(
    "--lender", "lender_text", help="Only loans this lender (address or dev account index) funds a tranche of."
)
@json_option
@handle_errors
def loan_list(statuses: tuple[str, ...], overdue: bool, lender_text: str | None, as_json: bool) -> None:
    """Every loan, or those in a status, overdue, or of one lender: principal, outstanding, next due date."""
    state = current_state()
    ledger = state.ledger()
    wanted = {LoanStatus.parse(s) for s in statuses}
    lender_address = parse_address(lender_text, "--lender") if lender_text else None
    names = {address: f"#{acc.index}" for address, acc in ledger.institutions()}
    rows: list[dict[str, Any]] = []
    for summary in ledger.loan_summaries():
        if wanted and summary["status"] not in wanted:
            continue
        if lender_address and lender_address not in [t[0] for t in summary["tranches"]]:
            continue
        if overdue and summary["status"] != LoanStatus.ACTIVE:
            continue
        due = ledger.amount_due(summary["loan_id"]) if summary["status"] == LoanStatus.ACTIVE else None
        if overdue and (due is None or due.overdue_installments == 0):
            continue
        view = ledger.loan(summary["loan_id"])
        rows.append(
            {
                "loan_id": summary["loan_id"],
                "status": summary["status"].label,
                "principal": view.principal,
                "outstanding_principal": view.outstanding_principal,
                "next_due_date": due.next_due_date if due and due.next_due_date else None,
                "overdue_installments": due.overdue_installments if due else 0,
                "total_due": due.total_due if due else 0,
                "tranches": [{"lender": a, "share_bps": s} for a, s in summary["tranches"]],
            }
        )
    d = ledger.decimals

    def human() -> None:
        table = [
            [
                str(r["loan_id"]),
                r["status"],
                amount(r["principal"], d),
                amount(r["outstanding_principal"], d),
                when(r["next_due_date"] or 0, state.tz),
                str(r["overdue_installments"]),
                " ".join(f"{names.get(t['lender'], t['lender'])}:{t['share_bps']}" for t in r["tranches"]),
            ]
            for r in rows
        ]
        columns = ["loan", "status", "principal", "outstanding", "next due", "overdue", "lenders (bps)"]
        print_table(f"loans ({len(rows)})", columns, table, right=["loan", "principal", "outstanding", "overdue"])

    finish({"decimals": d, "loans": rows}, as_json, human)
