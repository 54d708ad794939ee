"""``policy set`` is built from the ABI's ``PolicyParams``: a field the contract gains appears as an option, with the
unit its name says (bps, tokens, a duration, a count), and no code changes."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from pylender.cli import admin
from pylender.cli.admin import field_kind


def test_the_kind_of_a_field_comes_from_its_name_and_type() -> None:
    assert field_kind("minPlatformShareBps", "uint16") == "bps"
    assert field_kind("maxPrincipal", "uint128") == "amount"
    assert field_kind("maxLenderExposure", "uint128") == "amount"
    assert field_kind("defaultAfter", "uint32") == "duration"
    assert field_kind("publicDefaultDelay", "uint32") == "duration"
    assert field_kind("withdrawCooldown", "uint32") == "duration"
    assert field_kind("maxLoansPerBorrower", "uint16") == "integer"
    assert field_kind("requireKyc", "bool") == "bool"
    assert field_kind("treasury", "address") == "address"


def test_a_new_policy_field_is_an_option_of_policy_set(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = [*admin._ledger_policy_fields(), ("maxLoansPerBorrower", "uint16"), ("withdrawCooldown", "uint32")]
    monkeypatch.setattr(admin, "_ledger_policy_fields", lambda: fields)
    command = admin._build_policy_set()
    options = {opt for param in command.params if isinstance(param, click.Option) for opt in param.opts}
    assert {"--max-loans-per-borrower", "--withdraw-cooldown", "--min-platform-share-bps", "--max-principal"} <= options
    shown = CliRunner().invoke(command, ["--help"]).output
    assert "--max-loans-per-borrower TEXT" in shown and "an integer (uint16)" in shown
    assert "--withdraw-cooldown" in shown and "a duration" in shown
