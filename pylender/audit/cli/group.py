"""The ``audit`` click group; the commands register themselves on it."""

from __future__ import annotations

import click


@click.group("audit", context_settings={"help_option_names": ["-h", "--help"]})
def audit() -> None:
    """Prove the ledger's audit trail complete and untampered, replay it, reconcile, export."""
