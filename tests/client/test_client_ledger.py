"""The client API end to end: the README flow with exact amounts, bulk sends, fees, time travel."""

from __future__ import annotations

import pytest
from client_helpers import UNIT, co_lending_terms, seventy_thirty
from eth_account.signers.local import LocalAccount

from pylender import errors
from pylender.client import accounts as keys
from pylender.client.ledger import Ledger
from pylender.client.node import LocalNode
from pylender.client.tx import Call, TxSender
from pylender.errors import SignerError
from pylender.schedule import build_schedule, penalty
from pylender.values import DAY, LoanStatus, RepaymentMethod


def _active_loan(ledger: Ledger, accounts: dict[str, LocalAccount], **overrides: object) -> int:
    loan_id = ledger.originate(co_lending_terms(accounts["borrower"].address, **overrides), seventy_thirty(accounts))
    ledger.fund_all(loan_id)
    ledger.disburse(loan_id)
    return loan_id


def test_readme_flow_first_installment_splits_exactly(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    bank, platform, borrower = accounts["bank"], accounts["platform"], accounts["borrower"]
    loan_id = _active_loan(ledger, accounts)
    loan = ledger.loan(loan_id)
    expected = build_schedule(12_000 * UNIT, 1200, 30 * DAY, 12, RepaymentMethod.EQUAL_INSTALLMENT)
    assert loan.status == LoanStatus.ACTIVE
    assert loan.installment_amount == expected[0].payment
    assert [t.amount for t in ledger.tranches(loan_id)] == [8_400 * UNIT, 3_600 * UNIT]
    assert ledger.balance_of(borrower) == 1_000_000 * UNIT + 12_000 * UNIT
    ledger.advance(30 * DAY)
    due = ledger.amount_due(loan_id)
    assert (due.interest, due.principal, due.penalty) == (expected[0].interest, expected[0].principal, 0)
    ledger.repay(loan_id, due.total_due, by=borrower)
    interest, principal = expected[0].interest, expected[0].principal
    assert ledger.account_of(bank).withdrawable == interest * 7000 // 10_000 + principal * 7000 // 10_000
    assert ledger.account_of(platform).withdrawable == interest * 3000 // 10_000 + principal * 3000 // 10_000
    assert ledger.loan(loan_id).outstanding_principal == 12_000 * UNIT - principal
    assert ledger.schedule(loan_id)[0].index == 2
    before = ledger.balance_of(bank)
    withdrawn = ledger.withdraw(bank)
    assert ledger.balance_of(bank) - before == withdrawn == interest * 7000 // 10_000 + principal * 7000 // 10_000
    record = ledger.credit_record("customer-1")
    assert (record.loans_taken, record.active, record.on_time_installments, record.late_installments) == (1, 1, 1, 0)
    assert ledger.loans_of("customer-1") == [loan_id]


def test_late_payment_pays_penalty_and_counts_days_late(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    loan_id = _active_loan(ledger, accounts)
    first = build_schedule(12_000 * UNIT, 1200, 30 * DAY, 12, RepaymentMethod.EQUAL_INSTALLMENT)[0]
    due_date = ledger.loan(loan_id).disbursed_at + 30 * DAY
    # Approve first: repay() would otherwise send the approval itself, mined in the pinned block, and the payment
    # would land in the next one, one second later or not depending on the node's wall clock.
    ledger.approve(accounts["borrower"])
    quoted_at = ledger.advance(40 * DAY)  # 10 days after the due date, past the 3-day grace
    due = ledger.amount_due(loan_id)  # at quoted_at; the payment lands one second later (pinned: no wall-clock)
    assert due.overdue_installments == 1
    paid_at = quoted_at + 1
    one_more_second = penalty(first.payment, 3600, paid_at - due_date) - penalty(
        first.payment, 3600, quoted_at - due_date
    )
    ledger.w3.provider.make_request("evm_setNextBlockTimestamp", [hex(paid_at)])
    receipt = ledger.repay(loan_id, due.total_due + one_more_second, by=accounts["borrower"], approve=False)
    assert ledger.w3.eth.get_block(receipt.block_number)["timestamp"] == paid_at
    # penalty accrues from the due date on the unpaid installment, rounded up, until the block that paid it
    assert ledger.loan(loan_id).penalty_paid == penalty(first.payment, 3600, paid_at - due_date)
    assert ledger.loan(loan_id).current_installment == 2  # the installment is complete: counted late
    record = ledger.credit_record("customer-1")
    assert (record.late_installments, record.max_days_late) == (1, (paid_at - due_date) // DAY)


def test_prepayment_quote_is_what_is_pulled(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    loan_id = _active_loan(ledger, accounts, prepayment_fee_bps=100)
    borrower = accounts["borrower"]
    quote = ledger.prepayment_quote(loan_id, 2_000 * UNIT)
    before = ledger.balance_of(borrower)
    ledger.prepay(loan_id, 2_000 * UNIT, by=borrower)
    assert before - ledger.balance_of(borrower) == quote
    assert ledger.loan(loan_id).prepayment_fee_paid == 20 * UNIT


def test_default_write_off_and_recovery(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    loan_id = _active_loan(ledger, accounts)
    ledger.advance((30 + 3 + 90 + 1) * DAY)
    ledger.mark_default(loan_id, by=accounts["servicer"])
    assert ledger.loan(loan_id).status == LoanStatus.DEFAULTED
    ledger.write_off(loan_id, by=accounts["servicer"])
    loan = ledger.loan(loan_id)
    assert (loan.status, loan.written_off) == (LoanStatus.WRITTEN_OFF, 12_000 * UNIT)
    assert ledger.account_of(accounts["bank"]).loss == 8_400 * UNIT
    assert ledger.account_of(accounts["platform"]).loss == 3_600 * UNIT
    ledger.recover(loan_id, 1_000 * UNIT, by=accounts["servicer"])
    assert ledger.account_of(accounts["bank"]).loss == 8_400 * UNIT - 700 * UNIT
    assert ledger.account_of(accounts["bank"]).withdrawable == 700 * UNIT


def test_repay_batch_from_the_servicer(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    first = _active_loan(ledger, accounts)
    second = _active_loan(ledger, accounts, borrower_id="customer-2", principal=6_000 * UNIT)
    ledger.advance(30 * DAY)
    dues = [ledger.amount_due(i).total_due for i in (first, second)]
    servicer = accounts["servicer"]
    before = ledger.balance_of(servicer)
    ledger.repay_batch([first, second], dues, by=servicer)
    assert before - ledger.balance_of(servicer) == sum(dues)
    assert [ledger.loan(i).current_installment for i in (first, second)] == [2, 2]


def test_pipelined_bulk_send_keeps_nonces_in_order(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    terms, checked = ledger.prepare_origination(
        co_lending_terms(accounts["borrower"].address), seventy_thirty(accounts)
    )
    tranches = [t.to_abi() for t in checked]
    first = ledger.loan_count() + 1
    calls = [ledger.call("originate", terms.to_abi(), tranches) for _ in range(25)]
    seen: list[int] = []
    receipts = ledger.send_many(calls, window=8, on_receipt=lambda i, _r: seen.append(i))
    assert seen == list(range(25))
    assert [ledger.loan_id_from(r) for r in receipts] == list(range(first, first + 25))
    assert ledger.loan_count() == first + 24


def test_bulk_failure_is_decoded(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    """A pipelined tx with a cached gas limit reverts on chain; the replay names the error."""
    loan_id = ledger.originate(co_lending_terms(accounts["borrower"].address), seventy_thirty(accounts))
    ledger.sender().set_gas_limit("ledger.disburse", 300_000)  # skip the estimate, as the bulk path does
    with pytest.raises(errors.LoanNotInStatus) as info:
        ledger.send_many([ledger.call("disburse", loan_id)])
    assert (info.value.loanId, info.value.status) == (loan_id, LoanStatus.ORIGINATED)


def test_time_travel(ledger: Ledger) -> None:
    now = ledger.now()
    assert ledger.advance(5 * DAY) >= now + 5 * DAY
    with pytest.raises(ValueError):
        ledger.advance(-1)


def test_unknown_signer_is_refused(ledger: Ledger) -> None:
    with pytest.raises(SignerError):
        ledger.withdraw("0x000000000000000000000000000000000000dEaD")


def test_legacy_gas_price_zero_network() -> None:
    """A pre-London chain (no base fee) gets legacy transactions; a gas price of 0 is allowed."""
    with LocalNode(extra_args=("--hardfork", "berlin", "--gas-price", "0")) as node:
        w3 = node.web3()
        sender_key, receiver = keys.dev_account(0), keys.dev_account(1).address
        sender = TxSender(w3, sender_key, errors.ErrorDecoder(), gas_price=0)
        assert sender.fee_fields() == {"gasPrice": 0}
        before = w3.eth.get_balance(sender_key.address)
        receipt = sender.send(Call(to=receiver, data="0x", label="transfer", value=10**18), gas=21_000)
        assert receipt.status == 1
        assert w3.eth.get_balance(sender_key.address) == before - 10**18  # no fee paid at price 0


def test_eip1559_fees_on_a_london_chain(chain: object, ledger: Ledger) -> None:
    fees = ledger.sender().fee_fields()
    assert set(fees) == {"maxFeePerGas", "maxPriorityFeePerGas"}
    assert fees["maxFeePerGas"] >= fees["maxPriorityFeePerGas"]


def test_bulk_gas_limit_covers_loans_costlier_first_repayments(
    ledger: Ledger, accounts: dict[str, LocalAccount]
) -> None:
    """The bulk path estimates a function's gas once; later calls writing fresh slots must still fit."""
    servicer = accounts["servicer"]
    loans = [_active_loan(ledger, accounts, borrower_id=f"bulk-{i}") for i in range(6)]
    ledger.advance(30 * DAY)
    for loan_id in loans[:3]:
        ledger.repay(loan_id, ledger.amount_due(loan_id).total_due, by=servicer)
    ledger.advance(30 * DAY)
    dues = [ledger.amount_due(i).total_due for i in loans]
    # The first batch (loans already repaid once: steady state) sets the limit, reused for the second
    # batch of the same size, whose loans all take their first, two-installment repayment.
    calls = [ledger.call("repayBatch", loans[:3], dues[:3]), ledger.call("repayBatch", loans[3:], dues[3:])]
    ledger.approve(servicer, sum(dues))  # the raw calls pull what the payments approved exactly left: nothing
    receipts = ledger.send_many(calls, by=servicer)
    assert [r.status for r in receipts] == [1, 1]
    assert receipts[1].gas_used > receipts[0].gas_used
    assert [ledger.loan(i).current_installment for i in loans] == [3] * 6
