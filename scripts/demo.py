"""``ape run demo --network ...``: the demo portfolio on ape's network.

On a network with a JSON-RPC endpoint that is a local dev chain (``--network ethereum:local:foundry``: ape's own
anvil) the demo runs there; ape's default ``local:test`` network is py-evm inside ape's process, with no endpoint,
so the demo then runs on pylender's embedded anvil and says so. The report prints whole in 80 columns.
"""

from __future__ import annotations

import logging
from typing import Any

import click
from ape.cli import ConnectedProviderCommand, ape_cli_context

from pylender.cli.reports import print_demo
from pylender.client.session import Pylender
from pylender.scenarios.demo import run_demo


@click.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@click.option("--loans", "n_loans", type=click.IntRange(4, 100_000), default=240, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def cli(cli_ctx: Any, provider: Any, n_loans: int, seed: int) -> None:
    """A year of a co-lending portfolio, then each lender's summary and the audit verification."""
    logging.basicConfig(level=logging.WARNING)
    url = provider.http_uri
    if url is None:
        click.echo(
            f"ape's {provider.network.name} network has no JSON-RPC endpoint: the demo runs on pylender's embedded "
            "anvil (--network ethereum:local:foundry runs it on ape's)",
            err=True,
        )
        print_demo(run_demo(n_loans=n_loans, seed=seed))
        return
    with Pylender.connect(url) as session:
        print_demo(run_demo(n_loans=n_loans, seed=seed, session=session))
