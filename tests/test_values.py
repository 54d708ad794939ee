"""The domain values: every spelling of an enum comes from the enum, construction checks nothing (the reference
model raises the contract's errors), and the boundary checks everything."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from pylender import values
from pylender.cli import cli
from pylender.scenarios.schema import parse
from pylender.values import (
    BPS,
    ZERO_ADDRESS,
    LoanStatus,
    LoanTerms,
    PolicyParams,
    RepaymentMethod,
    Role,
    Tranche,
    borrower_id,
    to_jsonable,
    validate,
)

BANK = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_every_spelling_of_a_member_comes_from_its_name() -> None:
    m = RepaymentMethod.INTEREST_FIRST
    assert (m.label, m.key, m.option, m.words) == (
        "InterestFirst",
        "interest_first",
        "interest-first",
        "interest first",
    )
    assert LoanStatus.WRITTEN_OFF.label == "WrittenOff"
    for spelling in ("interest_first", "interest-first", "Interest First", "InterestFirst", 2, m):
        assert RepaymentMethod.parse(spelling) is m
    with pytest.raises(ValueError, match="one of equal_installment, equal_principal, interest_first"):
        RepaymentMethod.parse("balloon")
    with pytest.raises(ValueError):
        RepaymentMethod.parse(True)


def test_the_cli_and_the_scenario_files_offer_exactly_the_enum() -> None:
    help_text = CliRunner().invoke(cli, ["loan", "originate", "--help"], terminal_width=200).output
    for member in RepaymentMethod:
        assert member.option in help_text
    yaml_text = """
name: methods
institutions: {bank: {account: 1, name: Bank}}
borrowers: {alice: {account: 5}}
loans:
  one: {borrower: alice, principal: 100, rate_bps: 1200, periods: 3, method: %s,
        tranches: [{lender: bank, share_bps: 10000}]}
"""
    for member in RepaymentMethod:
        assert parse(yaml_text % member.key).loans["one"].method is member
    with pytest.raises(ValueError, match="balloon"):
        parse(yaml_text % "balloon")


def test_roles_are_derived_from_the_enum() -> None:
    assert tuple(r.value for r in Role) == values.ROLES
    assert Role.DEFAULT_ADMIN.id == b"\x00" * 32
    assert values.role_name(Role.LENDER.id) == "LENDER_ROLE"
    assert values.role_name("0x" + "ab" * 32) == "0x" + "ab" * 32


def test_constructing_a_value_checks_nothing_the_boundary_checks_everything() -> None:
    raw = LoanTerms(borrower=BANK.lower(), borrower_id="alice", principal=0, annual_rate_bps=1200, periods=0,
                    period_seconds=0)  # fmt: skip
    assert raw.principal == 0 and raw.borrower_id == "alice"  # the reference model raises ZeroAmount for this
    with pytest.raises(ValidationError) as info:
        validate(LoanTerms, raw)
    assert {e["loc"][0] for e in info.value.errors()} == {"principal", "periods", "period_seconds"}
    good = validate(LoanTerms, dataclasses.replace(raw, principal=1, periods=1, period_seconds=1))
    assert good.borrower == BANK and good.borrower_id == borrower_id("alice") and len(good.borrower_id) == 32
    assert good.method is RepaymentMethod.EQUAL_INSTALLMENT and good.fee_recipient == ZERO_ADDRESS
    with pytest.raises(ValidationError, match="fee_recipient must be set if and only if service_fee_bps > 0"):
        validate(LoanTerms, dataclasses.replace(good, service_fee_bps=100))
    with pytest.raises(ValidationError, match="bad address checksum"):
        validate(Tranche, {"lender": BANK[:3] + BANK[3:].swapcase(), "share_bps": BPS})
    with pytest.raises(ValidationError, match="less than or equal to 10000"):
        validate(PolicyParams, {"min_platform_share_bps": BPS + 1})


def test_values_dump_to_plain_json() -> None:
    terms = validate(
        LoanTerms,
        {"borrower": BANK, "borrower_id": "0x" + "11" * 32, "principal": 5, "annual_rate_bps": 0, "periods": 1,
         "period_seconds": 60, "method": "interest-first"},
    )  # fmt: skip
    dumped = to_jsonable(terms)
    assert dumped["borrower_id"] == "0x" + "11" * 32 and dumped["method"] == 2 and dumped["principal"] == 5
    assert validate(LoanTerms, dumped) == terms
    assert PolicyParams.defaults(18).to_abi()[4] == 200_000 * 10**18
