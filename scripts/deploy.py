"""``ape run deploy --network ...``: deploy the test token (or use ``--token``) and the ledger on ape's network,
signed by an ape account.

ape connects to the network (``--network ethereum:local:foundry`` starts ape's own anvil) and signs every
transaction with the account (``--account ALIAS``; on a local network ape's first test account by default).
pylender supplies what ape cannot: the ledger's linked libraries, deployed first and spliced into its creation code
at the artifacts' link references (``pylender.artifacts.link_with_libraries``), and the constructor arguments.

The addresses are saved to the deployment file (``--deployment``, default ``.pylender/deployment.json``) when the
node outlives the script; a node ape started for the script stops with it, so nothing is saved then - connect ape
to a node that stays (``pylender node``, then ``APE_FOUNDRY_HOST=http://127.0.0.1:8545``) to keep it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from ape.cli import ConnectedProviderCommand, ape_cli_context

from pylender import artifacts
from pylender.client.session import (
    DEFAULT_DEPLOYMENT_FILE,
    TOKEN_DECIMALS,
    ledger_constructor_args,
    save_deployment,
    token_constructor_args,
)
from pylender.values import Deployment, PolicyParams, Role


def _container(art: artifacts.Artifact, bytecode: str) -> Any:
    from ape.contracts import ContractContainer
    from ethpm_types import ContractType

    contract_type = ContractType.model_validate(
        {"contractName": art.name, "abi": art.abi, "deploymentBytecode": {"bytecode": bytecode}}
    )
    return ContractContainer(contract_type)


def _account(alias: str | None, provider: Any) -> Any:
    """``--account`` (an alias, or ``TEST::n``); on a local network ape's first test account, elsewhere ape asks."""
    from ape import accounts
    from ape.cli.choices import AccountAliasPromptChoice

    choice = AccountAliasPromptChoice()
    if alias:
        return choice.convert(alias, None, None)
    if provider.network.is_local:
        return accounts.test_accounts[0]
    return choice.select_account()


@click.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@click.option("--account", "alias", help="ape account alias or TEST::n (default on a local network: TEST::0).")
@click.option("--token", "token_address", help="Use this ERC-20 instead of deploying the test token.")
@click.option("--decimals", type=click.IntRange(0, 36), default=TOKEN_DECIMALS, show_default=True)
@click.option("--deployment", type=click.Path(dir_okay=False), default=str(DEFAULT_DEPLOYMENT_FILE), show_default=True)
def cli(
    cli_ctx: Any, provider: Any, alias: str | None, token_address: str | None, decimals: int, deployment: str
) -> None:
    """Deploy the test token and the ledger with ape's network and account."""
    account = _account(alias, provider)
    sender = {"sender": account}

    if token_address is None:
        token_art = artifacts.token_artifact()
        token = account.deploy(
            _container(token_art, token_art.bytecode), *token_constructor_args(token_art, account.address, decimals)
        )
    else:
        from ape import Contract

        token = Contract(token_address, abi=artifacts.token_artifact().abi)
    decimals = int(token.decimals())

    def deploy_library(art: artifacts.Artifact, code: str) -> str:
        return str(account.deploy(_container(art, code)).address)

    ledger_art = artifacts.load(artifacts.LEDGER)
    code, libraries = artifacts.link_with_libraries(artifacts.LEDGER, deploy_library)
    policy = PolicyParams.defaults(decimals)
    args = ledger_constructor_args(ledger_art, str(token.address), account.address, policy)
    ledger = account.deploy(_container(ledger_art, code), *args)
    for role in (Role.ORIGINATOR, Role.SERVICER, Role.PAUSER):
        if not ledger.hasRole(role.id, account.address):
            ledger.grantRole(role.id, account.address, **sender)

    receipt = provider.get_receipt(ledger.txn_hash)
    record = Deployment(
        chain_id=provider.chain_id,
        ledger=str(ledger.address),
        token=str(token.address),
        deployer=str(account.address),
        block=int(receipt.block_number),
        token_decimals=decimals,
        rpc=provider.http_uri,
        libraries=libraries,
    )
    click.echo(f"ledger {record.ledger}, token {record.token} (chain {record.chain_id}, block {record.block})")
    if getattr(provider, "process", None) is not None or not provider.http_uri:
        click.echo(
            f"not saved to {deployment}: ape started this node for the script and stops it with it "
            "(run a node that stays, e.g. `pylender node`, and point ape at it: "
            "APE_FOUNDRY_HOST=http://127.0.0.1:8545)"
        )
        return
    path = save_deployment(record, Path(deployment))
    click.echo(f"saved to {path}")
