"""Safe by default: dev keys only on a local dev chain, exact approvals, on-chain text shown as text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cli_helpers import TRANCHES, deploy_tour, ok, on, refused
from eth_utils import to_checksum_address

from pylender.client import accounts
from pylender.client.node import LocalNode
from pylender.client.session import Pylender, is_dev_chain
from pylender.errors import NotADevChain, SignerError
from pylender.values import UINT256_MAX

UNIT = 10**6
APPROVAL_TOPIC = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"


@pytest.fixture()
def tour(rpc_url: str, chain: Pylender, tmp_path: Path) -> Iterator[Path]:
    snapshot = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    dep = tmp_path / "deployment.json"
    deploy_tour(rpc_url, dep)
    yield dep
    chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


def approvals(chain: Pylender, sent: list[dict[str, Any]]) -> list[int]:
    """The values of the Approval events the command's transactions emitted, in order."""
    values = []
    for tx in sent:
        receipt = chain.w3.eth.get_transaction_receipt(tx["tx_hash"])
        values += [
            int(log["data"].hex(), 16) for log in receipt["logs"] if log["topics"][0].hex() == APPROVAL_TOPIC[2:]
        ]
    return values


# -- dev accounts ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain_4242() -> Iterator[LocalNode]:
    """anvil with a chain id other than 31337: its dev accounts hold ether, but their keys are public."""
    with LocalNode(chain_id=4242) as node:
        yield node


def test_a_dev_index_is_refused_on_a_chain_with_another_id(chain_4242: LocalNode, tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    key = {"PYLENDER_PRIVATE_KEY": accounts.dev_account(0).key.hex()}  # a key the user gave, not a dev index
    deployed = json.loads(ok(on(chain_4242.url, dep, "deploy", "--json", env=key)))
    assert deployed["chain_id"] == 4242
    refused(
        on(chain_4242.url, dep, "lender", "add", "1", "Bank", env=key),
        "NotADevChain: no dev accounts on chain 4242: give an address and a key",
        code=1,
    )
    refused(on(chain_4242.url, dep, "token", "mint", "0x" + "11" * 20, "5", "--from", "1", env=key), "chain 4242")
    bank = accounts.dev_account(1).address
    ok(on(chain_4242.url, dep, "lender", "add", bank, "Bank", env=key))  # an address is fine: nobody signs for it
    refused(on(chain_4242.url, dep, "chain", "advance", "1d", env=key), "NotADevChain", "chain 4242 is not one")
    refused(
        on(chain_4242.url, dep, "lender", "balance", env={"PYLENDER_PRIVATE_KEY": ""}), "SignerError", "PRIVATE_KEY"
    )


def test_the_sdk_refuses_dev_accounts_off_a_dev_chain(chain_4242: LocalNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYLENDER_PRIVATE_KEY", raising=False)
    with pytest.raises(SignerError, match="no signing key"):
        Pylender.connect(chain_4242.url)
    monkeypatch.setenv("PYLENDER_PRIVATE_KEY", "0x" + "22" * 32)
    session = Pylender.connect(chain_4242.url)
    assert not session.is_local and session.keyring() == {session.signer.address: session.signer}
    with pytest.raises(NotADevChain, match="no dev accounts on chain 4242: give an address and a key"):
        session.account(1)


def test_a_dev_chain_is_chain_31337_and_a_node_that_says_anvil_or_hardhat() -> None:
    def node(chain_id: int, version: object) -> Any:
        provider = SimpleNamespace(make_request=lambda method, params: {"result": version})
        return SimpleNamespace(eth=SimpleNamespace(chain_id=chain_id), provider=provider)

    assert is_dev_chain(node(31337, "anvil/v1.7.1"))
    assert is_dev_chain(node(31337, "HardhatNetwork/2.22.0/@ethereumjs/vm/7.0.0"))
    assert not is_dev_chain(node(31337, "Geth/v1.14.0-stable/linux-amd64/go1.22"))  # a private chain with 31337
    assert not is_dev_chain(node(31337, None))
    assert not is_dev_chain(node(4242, "anvil/v1.7.1"))


def test_a_dev_index_beyond_the_chain_says_how_many_it_has(chain: Pylender) -> None:
    with pytest.raises(NotADevChain, match=r"^no dev account 42: this chain has 10$"):
        chain.account(42)
    assert chain.account(9).address == accounts.dev_account(9).address


# -- approvals -------------------------------------------------------------------------------------------------


def test_repay_approves_exactly_the_amount_and_leaves_nothing(chain: Pylender, rpc_url: str, tour: Path) -> None:
    borrower = chain.account(5).address
    data = json.loads(ok(on(rpc_url, tour, "loan", "repay", "1", "100", "--from", "5", "--json")))
    assert [t["action"] for t in data["transactions"]] == ["token.approve", "ledger.repay"]
    assert approvals(chain, data["transactions"][:1]) == [100 * UNIT]  # the approval equals the amount
    allowance = json.loads(ok(on(rpc_url, tour, "token", "allowance", "5", "--json")))
    assert (allowance["owner"], allowance["allowance"], allowance["unlimited"]) == (borrower, 0, False)


def test_repay_due_approves_a_bound_and_resets_it_to_zero(chain: Pylender, rpc_url: str, tour: Path) -> None:
    ok(on(rpc_url, tour, "chain", "advance", "31d"))
    data = json.loads(ok(on(rpc_url, tour, "loan", "repay", "1", "--due", "--from", "5", "--json")))
    assert [t["action"] for t in data["transactions"]] == ["token.approve", "ledger.repay", "token.approve"]
    bound, reset = approvals(chain, [data["transactions"][0], data["transactions"][2]])
    assert bound > data["paid"] > 0 and reset == 0
    assert json.loads(ok(on(rpc_url, tour, "token", "allowance", "5", "--json")))["allowance"] == 0


def test_funding_approves_each_tranche_exactly(chain: Pylender, rpc_url: str, tour: Path) -> None:
    terms = ("--borrower", "5", "--borrower-id", "b", "--principal", "1000.5", "--rate", "1200", "--periods", "6")
    ok(on(rpc_url, tour, "loan", "originate", *terms, *TRANCHES))
    data = json.loads(ok(on(rpc_url, tour, "loan", "fund", "2", "--all", "--json")))
    assert approvals(chain, data["transactions"]) == [700_350_000, 300_150_000]
    for lender in ("1", "2"):
        assert json.loads(ok(on(rpc_url, tour, "token", "allowance", lender, "--json")))["allowance"] == 0


def test_unlimited_only_when_asked(chain: Pylender, rpc_url: str, tour: Path) -> None:
    data = json.loads(
        ok(on(rpc_url, tour, "loan", "repay", "1", "100", "--from", "5", "--approve", "unlimited", "--json"))
    )
    assert approvals(chain, data["transactions"][:1]) == [UINT256_MAX]
    allowance = json.loads(ok(on(rpc_url, tour, "token", "allowance", "5", "--json")))
    assert allowance["allowance"] == UINT256_MAX and allowance["unlimited"]
    # an allowance the owner chose is used, not changed behind its back: only the owner revokes it
    data = json.loads(ok(on(rpc_url, tour, "loan", "repay", "1", "50", "--from", "5", "--json")))
    assert [t["action"] for t in data["transactions"]] == ["ledger.repay"]
    assert json.loads(ok(on(rpc_url, tour, "token", "allowance", "5", "--json")))["allowance"] == UINT256_MAX
    revoked = json.loads(ok(on(rpc_url, tour, "token", "approve", "0", "--from", "5", "--json")))
    assert revoked["allowance"] == 0
    data = json.loads(ok(on(rpc_url, tour, "loan", "repay", "1", "50", "--from", "5", "--json")))
    assert approvals(chain, data["transactions"]) == [50 * UNIT]  # exact again
    assert json.loads(ok(on(rpc_url, tour, "token", "allowance", "5", "--json")))["allowance"] == 0


def test_a_short_allowance_is_replaced_through_zero(chain: Pylender, rpc_url: str, tour: Path) -> None:
    """Tokens like USDT refuse to change one non-zero allowance into another: exact goes through 0."""
    ok(on(rpc_url, tour, "token", "approve", "30", "--from", "5"))
    data = json.loads(ok(on(rpc_url, tour, "loan", "repay", "1", "100", "--from", "5", "--json")))
    assert approvals(chain, data["transactions"]) == [0, 100 * UNIT]
    assert json.loads(ok(on(rpc_url, tour, "token", "allowance", "5", "--json")))["allowance"] == 0


# -- text from the chain ---------------------------------------------------------------------------------------


def test_names_from_the_chain_are_shown_as_text(rpc_url: str, tour: Path) -> None:
    hostile = "[red]Evil[/red] [link=https://x.example]Bank[/link]\x1b[2J\x1b]8;;x\x07\u202egnp.exe\x07"
    ok(on(rpc_url, tour, "lender", "add", "3", hostile))
    shown = ok(on(rpc_url, tour, "lender", "balance", "3"))
    assert "[red]Evil[/red] [link=https://x.example]Bank[/link]" in shown
    assert not any(ch in shown for ch in "\x1b\x07\u202e")
    data = json.loads(ok(on(rpc_url, tour, "lender", "balance", "3", "--json")))
    assert data["institutions"][0]["name"] == hostile  # machines get the exact bytes, JSON-escaped
    roles = ok(on(rpc_url, tour, "role", "show"))
    assert "\x1b" not in roles and "[red]Evil[/red]" in roles


def test_eighty_columns_never_cut_an_amount(rpc_url: str, tour: Path) -> None:
    ok(on(rpc_url, tour, "token", "mint", "1", "123456789.123456"))
    env = {"COLUMNS": "80"}
    for args in (
        ("lender", "balance"),
        ("lender", "balance", "1"),
        ("loan", "show", "1"),
        ("loan", "schedule", "1"),
        ("loan", "list"),
        ("policy", "show"),
        ("role", "show"),
        ("token", "balance", "1"),
    ):
        shown = ok(on(rpc_url, tour, *args, env=env))
        assert "…" not in shown, args
        from rich.cells import cell_len

        assert max(cell_len(line) for line in shown.splitlines()) <= 80 or args[0] == "token", args
    balance = json.loads(ok(on(rpc_url, tour, "token", "balance", "1", "--json")))["balance"]
    assert f"{balance // UNIT:,}.{balance % UNIT:06d}" in ok(on(rpc_url, tour, "token", "balance", "1", env=env))
    assert "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" in ok(on(rpc_url, tour, "lender", "balance", env=env))


def test_dates_are_iso_8601_in_the_chosen_zone(chain: Pylender, rpc_url: str, tour: Path) -> None:
    due = json.loads(ok(on(rpc_url, tour, "loan", "show", "1", "--json")))["next_due_date"]
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    utc = datetime.fromtimestamp(due, UTC).isoformat()
    beijing = datetime.fromtimestamp(due, ZoneInfo("Asia/Shanghai")).isoformat()
    assert utc.endswith("+00:00") and beijing.endswith("+08:00")
    assert f"next due date          {utc}" in ok(on(rpc_url, tour, "loan", "show", "1", env={"COLUMNS": "80"}))
    assert beijing in ok(on(rpc_url, tour, "--tz", "Asia/Shanghai", "loan", "show", "1"))
    assert to_checksum_address(chain.account(5).address) in ok(on(rpc_url, tour, "loan", "show", "1"))
    view = json.loads(ok(on(rpc_url, tour, "loan", "show", "1", "--json")))["loan"]
    shown = ok(on(rpc_url, tour, "loan", "show", "1", env={"COLUMNS": "80"}))
    assert f"disburse by            {datetime.fromtimestamp(view['disburse_by'], UTC).isoformat()}" in shown
    assert "default after          90 days overdue (the policy when originated)" in shown
