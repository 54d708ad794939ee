"""``pylender lender|token|loan|credit``: institutions, the token, loans and credit records."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from pylender.cli.common import (
    base_units_option,
    console,
    current_state,
    emit_json,
    fail,
    fmt_amount,
    from_option,
    handle_errors,
    json_option,
    parse_address,
    parse_amount,
    resolve_from,
)
from pylender.values import (
    DAY,
    ZERO_ADDRESS,
    LoanStatus,
    LoanTerms,
    RepaymentMethod,
    Tranche,
    borrower_id,
    loan_ref,
    loan_ref_text,
    to_jsonable,
)

# -- lenders -------------------------------------------------------------------------------------------


@click.group()
def lender() -> None:
    """Institutions: register, balances, withdraw."""


@lender.command("add")
@click.argument("address")
@click.argument("name")
@click.option("--platform", is_flag=True, help="The institution is a platform (counts towards the minimum share).")
@from_option
@handle_errors
def lender_add(address: str, name: str, platform: bool, who: str | None) -> None:
    """Register ADDRESS (or a dev account index) as institution NAME."""
    ledger = current_state().ledger()
    index = ledger.register_institution(
        parse_address(address, "ADDRESS"), name, is_platform=platform, by=resolve_from(ledger, who)
    )
    console().print(f"registered {name} as institution {index}")


@lender.command("balance")
@click.argument("address", required=False)
@json_option
@handle_errors
def lender_balance(address: str | None, as_json: bool) -> None:
    """Withdrawable, reserve, loss and exposure of one institution, or of all."""
    ledger = current_state().ledger()
    if address:
        rows = [(parse_address(address, "ADDRESS"), ledger.account_of(parse_address(address, "ADDRESS")))]
        if rows[0][1].index == 0:
            fail(f"{rows[0][0]} is not a registered institution")
    else:
        rows = ledger.institutions()
    if as_json:
        emit_json([{"address": a, **to_jsonable(acc)} for a, acc in rows])
        return
    d = ledger.decimals
    table = Table(title="institutions")
    for col in ("#", "name", "address", "platform", "withdrawable", "reserve", "loss", "exposure"):
        table.add_column(
            col, justify="right" if col in ("#", "withdrawable", "reserve", "loss", "exposure") else "left"
        )
    for a, acc in rows:
        amounts = (acc.withdrawable, acc.reserve, acc.loss, acc.exposure)
        platform = "yes" if acc.is_platform else ""
        table.add_row(str(acc.index), acc.name, a, platform, *(fmt_amount(v, d) for v in amounts))
    console().print(table)


@lender.command("withdraw")
@from_option
@handle_errors
def lender_withdraw(who: str | None) -> None:
    """Withdraw the signer's whole withdrawable balance."""
    ledger = current_state().ledger()
    amount = ledger.withdraw(resolve_from(ledger, who) or ledger.default_signer)
    console().print(f"withdrew {fmt_amount(amount, ledger.decimals)}")


# -- token ---------------------------------------------------------------------------------------------


@click.group()
def token() -> None:
    """The settlement token: balances, and minting on the test token."""


@token.command("mint")
@click.argument("address")
@click.argument("amount")
@base_units_option
@handle_errors
def token_mint(address: str, amount: str, base_units: bool) -> None:
    """Mint AMOUNT test tokens to ADDRESS (or a dev account index); local test token only."""
    ledger = current_state().ledger()
    to = parse_address(address, "ADDRESS")
    ledger.mint(to, parse_amount(ledger, amount, base_units))
    console().print(f"{to} holds {fmt_amount(ledger.balance_of(to), ledger.decimals)}")


@token.command("balance")
@click.argument("address")
@json_option
@handle_errors
def token_balance(address: str, as_json: bool) -> None:
    """Token balance of ADDRESS (or a dev account index)."""
    ledger = current_state().ledger()
    who = parse_address(address, "ADDRESS")
    balance = ledger.balance_of(who)
    if as_json:
        emit_json({"address": who, "balance": balance})
    else:
        console().print(f"{who}: {fmt_amount(balance, ledger.decimals)}")


# -- loans -----------------------------------------------------------------------------------------------


@click.group()
def loan() -> None:
    """Loans: originate, fund, disburse, repay, prepay, cancel, default, write-off, recover, show, schedule."""


def _parse_tranche(text: str) -> Tranche:
    lender_part, sep, share = text.rpartition(":")
    if not sep or not share.isdigit():
        raise click.BadParameter(f"{text!r}: expected LENDER:SHARE_BPS, e.g. 0xabc...:7000", param_hint="--tranche")
    return Tranche(lender=parse_address(lender_part, "--tranche"), share_bps=int(share))


@loan.command("originate")
@click.option("--borrower", required=True, help="Borrower address or dev account index.")
@click.option("--borrower-id", required=True, help="Pseudonymous borrower id (hashed unless 0x + 64 hex).")
@click.option("--principal", required=True, help="Principal in tokens.")
@click.option("--rate", "rate_bps", type=int, required=True, help="Annual rate in bps.")
@click.option("--periods", type=int, required=True)
@click.option("--period-days", type=float, default=30, show_default=True)
@click.option(
    "--method",
    type=click.Choice([m.option for m in RepaymentMethod]),
    default=RepaymentMethod.EQUAL_INSTALLMENT.option,
    show_default=True,
)
@click.option("--tranche", "tranches", multiple=True, required=True, help="LENDER:SHARE_BPS, lead first (repeat).")
@click.option("--grace-days", type=float, default=0)
@click.option("--penalty-rate", type=int, default=0, help="Penalty rate in bps.")
@click.option("--prepayment-fee", type=int, default=0, help="Prepayment fee in bps.")
@click.option("--service-fee", type=int, default=0, help="Service fee in bps of interest.")
@click.option("--fee-recipient", help="Institution receiving the service fee.")
@click.option("--reserve", type=int, default=0, help="Reserve in bps of income.")
@click.option("--ref", "ref", help="The institutions' reference for the loan (contract number; never personal data).")
@base_units_option
@from_option
@json_option
@handle_errors
def loan_originate(**o: Any) -> None:
    """Originate a loan; prints its id."""
    ledger = current_state().ledger()
    terms = LoanTerms(
        borrower=parse_address(o["borrower"], "--borrower"),
        borrower_id=borrower_id(o["borrower_id"]),
        principal=parse_amount(ledger, o["principal"], o["base_units"]),
        annual_rate_bps=o["rate_bps"],
        periods=o["periods"],
        period_seconds=int(o["period_days"] * DAY),
        method=RepaymentMethod.parse(o["method"]),
        grace_period=int(o["grace_days"] * DAY),
        penalty_rate_bps=o["penalty_rate"],
        prepayment_fee_bps=o["prepayment_fee"],
        service_fee_bps=o["service_fee"],
        reserve_bps=o["reserve"],
        fee_recipient=parse_address(o["fee_recipient"], "--fee-recipient") if o["fee_recipient"] else ZERO_ADDRESS,
        loan_ref=loan_ref(o["ref"]) if o["ref"] else bytes(32),
    )
    loan_id = ledger.originate(terms, [_parse_tranche(t) for t in o["tranches"]], by=resolve_from(ledger, o["who"]))
    if o["as_json"]:
        emit_json({"loanId": loan_id})
    else:
        console().print(f"originated loan {loan_id}")


@loan.command("fund")
@click.argument("loan_id", type=int)
@click.option("--all", "fund_all", is_flag=True, help="Fund every unfunded tranche (keys held locally).")
@click.option("--approve/--no-approve", default=True, show_default=True, help="Approve the ledger first if needed.")
@from_option
@handle_errors
def loan_fund(loan_id: int, fund_all: bool, approve: bool, who: str | None) -> None:
    """Fund the signer's tranche of LOAN_ID (or every tranche with --all)."""
    ledger = current_state().ledger()
    if fund_all:
        ledger.fund_all(loan_id)
    else:
        ledger.fund(loan_id, resolve_from(ledger, who) or ledger.default_signer, approve=approve)
    status = ledger.loan(loan_id).status
    console().print(f"loan {loan_id}: {status.label}")


@loan.command("disburse")
@click.argument("loan_id", type=int)
@from_option
@handle_errors
def loan_disburse(loan_id: int, who: str | None) -> None:
    """Send the principal of a funded loan to its borrower."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    ledger.disburse(loan_id, by=resolve_from(ledger, who))
    console().print(f"loan {loan_id} disbursed")


@loan.command("repay")
@click.argument("loan_id", type=int)
@click.argument("amount", required=False)
@click.option("--due", "pay_due", is_flag=True, help="Pay everything due now.")
@click.option("--approve/--no-approve", default=True, show_default=True, help="Approve the ledger first if needed.")
@base_units_option
@from_option
@handle_errors
def loan_repay(
    loan_id: int, amount: str | None, pay_due: bool, approve: bool, base_units: bool, who: str | None
) -> None:
    """Repay AMOUNT (tokens) on LOAN_ID, or --due."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    if pay_due:
        if ledger.amount_due(loan_id).total_due == 0:
            fail(f"nothing is due on loan {loan_id} now")
        # The contract works out what is due when the transaction executes: never short, never an overpayment.
        receipt = ledger.repay_due(loan_id, by=resolve_from(ledger, who), approve=approve)
        [value] = ledger.repaid_amounts(receipt)
    elif amount is None:
        raise click.UsageError("give AMOUNT or --due")
    else:
        value = parse_amount(ledger, amount, base_units)
        ledger.repay(loan_id, value, by=resolve_from(ledger, who), approve=approve)
    loan_ = ledger.loan(loan_id)
    console().print(
        f"repaid {fmt_amount(value, ledger.decimals)} on loan {loan_id}: {loan_.status.label}, "
        f"outstanding {fmt_amount(loan_.outstanding_principal, ledger.decimals)}"
    )


def _loan_result(ledger: Any, loan_id: int, as_json: bool, message: str, **extra: int) -> None:
    """After an action: ``message`` with the loan's status and outstanding principal, or the same as JSON."""
    loan_ = ledger.loan(loan_id)
    if as_json:
        emit_json(
            {"loanId": loan_id, "status": loan_.status.label, **extra, "outstanding": loan_.outstanding_principal}
        )
    else:
        outstanding = fmt_amount(loan_.outstanding_principal, ledger.decimals)
        console().print(f"{message}: {loan_.status.label}, outstanding {outstanding}")


@loan.command("prepay")
@click.argument("loan_id", type=int)
@click.argument("principal")
@click.option("--approve/--no-approve", default=True, show_default=True, help="Approve the ledger first if needed.")
@base_units_option
@from_option
@json_option
@handle_errors
def loan_prepay(loan_id: int, principal: str, approve: bool, base_units: bool, who: str | None, as_json: bool) -> None:
    """Prepay PRINCIPAL (tokens) of LOAN_ID: pays what is due, this installment's interest and the fee too."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    value = parse_amount(ledger, principal, base_units)
    payer = resolve_from(ledger, who) or ledger.default_signer
    before = ledger.balance_of(payer)
    ledger.prepay(loan_id, value, by=payer, approve=approve)
    paid = before - ledger.balance_of(payer)
    d = ledger.decimals
    message = f"prepaid {fmt_amount(value, d)} of principal on loan {loan_id} (paid {fmt_amount(paid, d)})"
    _loan_result(ledger, loan_id, as_json, message, principal=value, paid=paid)


@loan.command("cancel")
@click.argument("loan_id", type=int)
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
    message = f"loan {loan_id} cancelled, {fmt_amount(refunded, ledger.decimals)} back to its lenders"
    _loan_result(ledger, loan_id, as_json, message, refunded=refunded)


@loan.command("default")
@click.argument("loan_id", type=int)
@from_option
@json_option
@handle_errors
def loan_default(loan_id: int, who: str | None, as_json: bool) -> None:
    """Mark LOAN_ID defaulted (servicer; anyone after the public delay) once overdue long enough."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    ledger.mark_default(loan_id, by=resolve_from(ledger, who))
    owed = ledger.loan(loan_id).owed_at_default
    message = f"loan {loan_id} defaulted owing {fmt_amount(owed, ledger.decimals)}"
    _loan_result(ledger, loan_id, as_json, message, owedAtDefault=owed)


@loan.command("write-off")
@click.argument("loan_id", type=int)
@from_option
@json_option
@handle_errors
def loan_write_off(loan_id: int, who: str | None, as_json: bool) -> None:
    """Write a defaulted LOAN_ID off (servicer): the loss is split by share, reserves absorb it first."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    ledger.write_off(loan_id, by=resolve_from(ledger, who))
    written_off = ledger.loan(loan_id).written_off
    message = f"loan {loan_id} written off: {fmt_amount(written_off, ledger.decimals)}"
    _loan_result(ledger, loan_id, as_json, message, writtenOff=written_off)


@loan.command("recover")
@click.argument("loan_id", type=int)
@click.argument("amount")
@click.option("--approve/--no-approve", default=True, show_default=True, help="Approve the ledger first if needed.")
@base_units_option
@from_option
@json_option
@handle_errors
def loan_recover(loan_id: int, amount: str, approve: bool, base_units: bool, who: str | None, as_json: bool) -> None:
    """Pay AMOUNT (tokens) recovered on a defaulted or written-off LOAN_ID; split by share."""
    ledger = current_state().ledger()
    ledger.loan(loan_id)
    value = parse_amount(ledger, amount, base_units)
    ledger.recover(loan_id, value, by=resolve_from(ledger, who), approve=approve)
    recovered = ledger.loan(loan_id).recovered
    d = ledger.decimals
    message = f"recovered {fmt_amount(value, d)} on loan {loan_id} ({fmt_amount(recovered, d)} in all)"
    _loan_result(ledger, loan_id, as_json, message, amount=value, recovered=recovered)


@loan.command("show")
@click.argument("loan_id", type=int)
@json_option
@handle_errors
def loan_show(loan_id: int, as_json: bool) -> None:
    """A loan's terms, state, tranches and what it owes now."""
    ledger = current_state().ledger()
    loan_ = ledger.loan(loan_id)
    tranches = ledger.tranches(loan_id)
    due = ledger.amount_due(loan_id) if loan_.status == LoanStatus.ACTIVE else None
    if as_json:
        reference = loan_ref_text(loan_.loan_ref)
        emit_json(
            {
                "loanId": loan_id,
                "loan": {**to_jsonable(loan_), "status": loan_.status.label, "loan_ref_text": reference},
                "tranches": [to_jsonable(t) for t in tranches],
                "due": to_jsonable(due) if due else None,
            }
        )  # fmt: skip
        return
    d = ledger.decimals
    table = Table(title=f"loan {loan_id}: {loan_.status.label}", show_header=False)
    rows = [
        ("reference", loan_ref_text(loan_.loan_ref) or "(none)"),
        ("borrower", loan_.borrower),
        ("principal", fmt_amount(loan_.principal, d)),
        ("rate", f"{loan_.annual_rate_bps / 100:.2f} %"),
        ("method", loan_.method.key),
        ("periods", f"{loan_.periods} x {loan_.period_seconds / DAY:g} days"),
        ("installment", fmt_amount(loan_.installment_amount, d)),
        ("current installment", str(loan_.current_installment)),
        ("outstanding principal", fmt_amount(loan_.outstanding_principal, d)),
        ("interest paid", fmt_amount(loan_.interest_paid, d)),
        ("principal paid", fmt_amount(loan_.principal_paid, d)),
        ("service fee paid", fmt_amount(loan_.fee_paid, d)),
        ("penalty paid", fmt_amount(loan_.penalty_paid, d)),
    ]
    if due is not None:
        rows += [("due now", fmt_amount(due.total_due, d)), ("max payable now", fmt_amount(due.max_payable, d))]
    for key, value in rows:
        table.add_row(key, value)
    console().print(table)
    tt = Table(title="tranches")
    for col in ("lender", "share", "amount", "funded"):
        tt.add_column(col)
    for t in tranches:
        tt.add_row(t.lender, f"{t.share_bps / 100:.2f} %", fmt_amount(t.amount, d), "yes" if t.funded else "no")
    console().print(tt)


@loan.command("schedule")
@click.argument("loan_id", type=int)
@json_option
@handle_errors
def loan_schedule(loan_id: int, as_json: bool) -> None:
    """The projected installments of LOAN_ID."""
    ledger = current_state().ledger()
    items = ledger.schedule(loan_id)
    if as_json:
        emit_json([to_jsonable(i) for i in items])
        return
    d = ledger.decimals
    table = Table(title=f"loan {loan_id} schedule")
    for col in ("#", "due", "outstanding", "interest", "principal", "total", "paid"):
        table.add_column(col, justify="right")
    for i in items:
        table.add_row(
            str(i.index), str(i.due_date), fmt_amount(i.outstanding_before, d), fmt_amount(i.interest, d),
            fmt_amount(i.principal, d), fmt_amount(i.total, d), fmt_amount(i.interest_paid + i.principal_paid, d),
        )  # fmt: skip
    console().print(table)


# -- credit, run, demo --------------------------------------------------------------------------------------


@click.command()
@click.argument("borrower_id")
@json_option
@handle_errors
def credit(borrower_id: str, as_json: bool) -> None:
    """A borrower's credit record (BORROWER_ID as given at origination)."""
    ledger = current_state().ledger()
    record = ledger.credit_record(borrower_id)
    if as_json:
        emit_json(to_jsonable(record))
        return
    table = Table(title=f"credit record of {borrower_id}", show_header=False)
    for key, value in to_jsonable(record).items():
        shown = fmt_amount(value, ledger.decimals) if key == "amount_written_off" else str(value)
        table.add_row(key.replace("_", " "), shown)
    console().print(table)
