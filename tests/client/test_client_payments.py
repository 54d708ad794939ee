"""The SDK's payments approve exactly what they pull and leave no allowance; amounts parse exactly or not at all."""

from __future__ import annotations

from decimal import Decimal

import pytest
from client_helpers import UNIT, co_lending_terms, seventy_thirty
from eth_account.signers.local import LocalAccount

from pylender.client.ledger import Ledger
from pylender.client.units import format_units, to_base_units
from pylender.errors import InvalidAmount, Overpayment
from pylender.values import DAY, PAY_ALL_DUE, UINT256_MAX


def _active(ledger: Ledger, accounts: dict[str, LocalAccount], **overrides: object) -> int:
    loan_id = ledger.originate(co_lending_terms(accounts["borrower"].address, **overrides), seventy_thirty(accounts))
    ledger.fund_all(loan_id)
    ledger.disburse(loan_id)
    return loan_id


def test_units_parse_exactly_or_refuse(ledger: Ledger) -> None:
    assert ledger.units("1.5") == 1_500_000
    assert ledger.units(12_000) == 12_000 * UNIT
    assert ledger.units(Decimal("0.000001")) == 1
    assert ledger.units(0.1) == 100_000  # the float's shortest decimal, not 0.1000000000000000055...
    assert ledger.units("1e3") == 1_000 * UNIT and ledger.units("0") == 0
    for bad, message in (
        ("1.2345678", "has more decimals than the token's 6: 1.2345678"),
        (-5, "must be zero or more, got -5"),
        ("-0.5", "must be zero or more, got -0.5"),
        ("abc", "must be a number, got 'abc'"),
        ("NaN", "must be a finite number"),
        (True, "must be a number, got True"),
    ):
        with pytest.raises(InvalidAmount, match=message):
            ledger.units(bad)  # type: ignore[arg-type]
    assert isinstance(InvalidAmount("x"), ValueError)


def test_the_one_parser_and_its_formatter() -> None:
    assert to_base_units("100", 0) == 100
    assert to_base_units("1_000.25", 2) == 100_025
    assert to_base_units("7", 6, base_units=True) == 7
    with pytest.raises(InvalidAmount, match="AMOUNT must be positive, got 0"):
        to_base_units("0", 6, positive=True, what="AMOUNT")
    with pytest.raises(InvalidAmount, match="whole number of base units"):
        to_base_units("1.5", 6, base_units=True)
    assert format_units(1_065_262_883, 6) == "1,065.262883"
    assert format_units(5, 0) == "5" and format_units(-1, 2) == "-0.01"


def test_every_payment_leaves_the_allowance_at_zero(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    borrower, bank, platform = accounts["borrower"], accounts["bank"], accounts["platform"]
    loan_id = _active(ledger, accounts)
    assert (ledger.allowance(bank), ledger.allowance(platform)) == (0, 0)  # after funding
    ledger.repay(loan_id, 100 * UNIT, by=borrower)
    assert ledger.allowance(borrower) == 0
    ledger.advance(40 * DAY)
    receipt = ledger.repay_due(loan_id, by=borrower)
    assert ledger.repaid_amounts(receipt)[0] > 0 and ledger.allowance(borrower) == 0
    ledger.prepay(loan_id, 1_000 * UNIT, by=borrower)
    assert ledger.allowance(borrower) == 0
    servicer = accounts["servicer"]
    ledger.advance(55 * DAY)  # installment 3 falls due on day 90
    ledger.repay_batch([loan_id], [PAY_ALL_DUE], by=servicer)
    assert ledger.allowance(servicer) == 0


def test_unlimited_only_when_asked(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    borrower = accounts["borrower"]
    loan_id = _active(ledger, accounts)
    ledger.repay(loan_id, 100 * UNIT, by=borrower, approve="unlimited")
    assert ledger.allowance(borrower) == UINT256_MAX
    ledger.repay(loan_id, 100 * UNIT, by=borrower)  # the owner's unlimited allowance is used, not revoked
    assert ledger.allowance(borrower) == UINT256_MAX
    ledger.approve(borrower, 0)
    ledger.repay(loan_id, 100 * UNIT, by=borrower)  # exact again: set to 100, pulled, nothing left
    assert ledger.allowance(borrower) == 0
    with pytest.raises(ValueError, match="approve must be"):
        ledger.repay(loan_id, 100 * UNIT, by=borrower, approve="sometimes")  # type: ignore[arg-type]


def test_a_refused_payment_approves_nothing(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    borrower = accounts["borrower"]
    loan_id = _active(ledger, accounts)
    nonce = ledger.w3.eth.get_transaction_count(borrower.address)
    with pytest.raises(Overpayment):
        ledger.repay(loan_id, 999_999 * UNIT, by=borrower)
    assert ledger.w3.eth.get_transaction_count(borrower.address) == nonce
    assert ledger.allowance(borrower) == 0


def test_roles_come_from_the_abi_and_can_be_revoked(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    outsider = accounts["outsider"].address
    assert ledger.role_names() == [
        "DEFAULT_ADMIN_ROLE",
        "LENDER_ROLE",
        "ORIGINATOR_ROLE",
        "PAUSER_ROLE",
        "SERVICER_ROLE",
    ]
    assert ledger.role("servicer") == ledger.role("SERVICER_ROLE") == "SERVICER_ROLE"
    assert ledger.role("admin") == "DEFAULT_ADMIN_ROLE"
    ledger.grant_role("servicer", outsider)
    assert ledger.roles_of(outsider) == ["SERVICER_ROLE"]
    assert outsider in ledger.role_holders()["SERVICER_ROLE"]
    ledger.revoke_role("servicer", outsider)
    assert ledger.roles_of(outsider) == [] and outsider not in ledger.role_holders()["SERVICER_ROLE"]
    with pytest.raises(ValueError, match="unknown role 'wizard'"):
        ledger.role("wizard")


def test_the_policy_is_read_and_set_by_its_abi_fields(ledger: Ledger) -> None:
    before = ledger.policy_values()
    assert list(before) == [name for name, _ in ledger.policy_fields()]
    ledger.update_policy({"maxAnnualRateBps": 2000})
    after = ledger.policy_values()
    assert after == {**before, "maxAnnualRateBps": 2000}
    assert ledger.policy().max_annual_rate_bps == 2000
    with pytest.raises(ValueError, match="the policy has no field maxFun"):
        ledger.update_policy({"maxFun": 1})


def test_a_role_the_contract_gains_is_a_role_here(ledger: Ledger) -> None:
    view = {"type": "function", "name": "AUDITOR_ROLE", "inputs": [], "outputs": [{"name": "", "type": "bytes32"}]}
    ledger.ledger_abi = [*ledger.ledger_abi, {**view, "stateMutability": "view"}]  # this client's copy only
    assert "AUDITOR_ROLE" in ledger.role_names() and ledger.role("auditor") == "AUDITOR_ROLE"
