"""Where an audit command's records come from: an export file, or a node and a ledger (with an optional index).

The node: ``--rpc``, else ``$PYLENDER_RPC``, else the deployment file's. The ledger: ``--ledger``, else
``$PYLENDER_LEDGER``, else the deployment file's. An export (``--file``) is checked offline unless
``--rpc`` is given on the command line; its ledger comes from its own header (``--ledger`` only for an
export without one), never from the environment or a deployment file that may name another ledger.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from click.core import ParameterSource
from web3 import Web3

from pylender.audit.cli.output import guarded
from pylender.audit.events import EventCatalog
from pylender.audit.export import Export, read_export
from pylender.audit.fetch import FetchConfig
from pylender.audit.probe import checksum_address, require_ledger
from pylender.audit.records import Record
from pylender.audit.rpc import RetryPolicy, Rpc
from pylender.client.transport import ENV_RPC
from pylender.errors import AuditError, InvalidPath, InvalidRpcUrl, NodeUnreachable, NoSource, NothingFinal

ENV_LEDGER = "PYLENDER_LEDGER"
DEFAULT_DEPLOYMENT = Path(".pylender") / "deployment.json"
FIRST_CONTACT = RetryPolicy(attempts=4, backoff=0.25)  # a wrong URL is said in under 2 s


@dataclass
class Loaded:
    """Records read for a command, and what they were read from."""

    records: list[Record]
    catalog: EventCatalog
    w3: Web3 | None = None
    ledger: str | None = None
    chain_id: int | None = None
    final_block: int | None = None
    export: Export | None = None


@dataclass
class Source:
    """The options that say where the records come from, resolved."""

    rpc: str | None
    ledger: str | None
    file: Path | None
    index: Path | None
    abi: Path | None
    confirmations: int
    from_block: int | None
    deployment: Path
    rpc_given: bool = False  # --rpc on a command line (not from the environment or the deployment file)
    _w3: Web3 | None = field(default=None, repr=False)
    _chain_id: int | None = field(default=None, repr=False)

    def resolve(self) -> None:
        """Fill rpc, ledger and from_block from the environment and the deployment file, and validate them."""
        if self.ledger is not None:
            self.ledger = checksum_address(self.ledger, "--ledger")
        if self.file is not None:
            if not self.rpc_given:
                self.rpc = None  # an export is checked offline unless --rpc is given on the command line
            return
        self.rpc = self.rpc or os.environ.get(ENV_RPC) or None
        if self.ledger is None and os.environ.get(ENV_LEDGER):
            self.ledger = checksum_address(os.environ[ENV_LEDGER], f"${ENV_LEDGER}")
        if self.deployment.exists() and (self.ledger is None or self.rpc is None or self.from_block is None):
            from pylender.client.session import load_deployment

            dep = load_deployment(self.deployment)
            if self.ledger is None or self.ledger.lower() == str(dep.ledger).lower():
                self.ledger = self.ledger or str(dep.ledger)
                self.rpc = self.rpc or dep.rpc
                self.from_block = dep.block if self.from_block is None else self.from_block

    def web3(self) -> Web3 | None:
        """The node (None without ``--rpc``); :class:`NodeUnreachable` when nothing answers there."""
        if not self.rpc:
            return None
        if self._w3 is None:
            parts = urlsplit(self.rpc)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidRpcUrl(f"--rpc {self.rpc!r} is not an http(s) URL (e.g. http://127.0.0.1:8545)")
            from pylender.client.transport import make_web3

            w3 = make_web3(self.rpc)
            rpc = Rpc(w3, FIRST_CONTACT)
            try:
                self._chain_id = rpc.chain_id()
            except (AuditError, ValueError) as exc:
                raise NodeUnreachable(self.rpc, str(exc)) from None
            finally:
                rpc.close()
            self._w3 = w3
        return self._w3

    @property
    def chain_id(self) -> int | None:
        self.web3()
        return self._chain_id

    def need_chain(self) -> tuple[Web3, str]:
        """The node and the ledger on it; :class:`NotALedger` when the address holds no pylender ledger."""
        w3 = self.web3()
        if w3 is None or self.ledger is None:
            raise NoSource(
                "no records source: pass --file F, or --rpc URL and --ledger ADDR "
                f"(or set {ENV_RPC}/{ENV_LEDGER}, or run where {DEFAULT_DEPLOYMENT} exists)"
            )
        rpc = Rpc(w3)
        try:
            require_ledger(rpc, self.ledger, self.chain_id or 0)
        finally:
            rpc.close()
        return w3, self.ledger

    def abi_list(self) -> list[dict[str, Any]]:
        from pylender.audit.ingest import load_ledger_abi

        return load_ledger_abi(self.abi)

    def load(self) -> Loaded:
        """The records (chain order) and their catalogue, from the export or from the node up to
        ``latest − confirmations``."""
        if self.file is not None:
            exp = read_export(self.file)
            catalog = EventCatalog.from_abi(self.abi_list()) if self.abi else exp.catalog()
            final = exp.header.final_block if exp.header else None
            return Loaded(exp.records, catalog, None, exp.ledger, exp.chain_id, final, exp)
        w3, ledger = self.need_chain()
        catalog = EventCatalog.from_abi(self.abi_list())
        from pylender.audit.index import AuditIndex
        from pylender.audit.ingest import PIPELINE_LOGS, fetch_records

        config = FetchConfig(confirmations=self.confirmations, target_logs=PIPELINE_LOGS)
        rpc = Rpc(w3)
        try:
            final = rpc.block_number() - self.confirmations
        finally:
            rpc.close()
        if final < 0:
            raise NothingFinal(f"no block is final yet with {self.confirmations} confirmations")
        chain_id = self.chain_id or 0
        index = AuditIndex(self.index, ledger, chain_id) if self.index else None
        try:
            records, _, _ = fetch_records(w3, ledger, catalog, final, index, self.from_block or 0, config, True)
        finally:
            if index is not None:
                index.close()
        return Loaded(records, catalog, w3, ledger, chain_id, final)


def root_option(name: str) -> tuple[Any, bool]:
    """A root-command option (``pylender --rpc URL audit ...``) and whether it was typed on the command line."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    if root is None or root is ctx:
        return None, False
    source = root.get_parameter_source(name)
    return root.params.get(name), source is ParameterSource.COMMANDLINE


def source_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say where the records come from, resolved into a :class:`Source` first argument."""
    options = [
        click.option("--rpc", help=f"JSON-RPC URL of a node (default ${ENV_RPC} or the deployment file's)."),
        click.option("--ledger", help=f"Ledger address (default ${ENV_LEDGER} or the deployment file's)."),
        click.option("--file", "file", type=click.Path(path_type=Path), help="An export (.csv/.json/.parquet)."),
        click.option("--index", type=click.Path(path_type=Path), help="SQLite index to read/extend incrementally."),
        click.option("--abi", type=click.Path(path_type=Path), help="Ledger ABI or artifact JSON."),
        click.option(
            "--confirmations",
            default=0,
            show_default=True,
            type=click.IntRange(min=0),
            help="Blocks below the head treated as final.",
        ),
        click.option(
            "--from-block",
            type=click.IntRange(min=0),
            help="First block to scan (default: the deployment block or 0).",
        ),
        click.option(
            "--deployment",
            type=click.Path(path_type=Path),
            default=DEFAULT_DEPLOYMENT,
            show_default=True,
            help="Deployment file naming the ledger.",
        ),
    ]

    @functools.wraps(fn)
    @guarded
    def wrapper(**kwargs: Any) -> Any:
        keys = ("rpc", "ledger", "file", "index", "abi", "confirmations", "from_block", "deployment")
        src = Source(**{k: kwargs.pop(k) for k in keys})
        src.rpc = src.rpc or None  # an empty --rpc (or $PYLENDER_RPC="") is no RPC
        ctx = click.get_current_context()
        src.rpc_given = src.rpc is not None and ctx.get_parameter_source("rpc") is ParameterSource.COMMANDLINE
        root_rpc, root_typed = root_option("rpc")
        if src.rpc is None and isinstance(root_rpc, str) and root_rpc:
            src.rpc, src.rpc_given = root_rpc, root_typed
        root_deployment, _ = root_option("deployment")
        if src.deployment == DEFAULT_DEPLOYMENT and root_deployment:
            src.deployment = Path(root_deployment)
        if src.abi is not None and not src.abi.is_file():
            raise InvalidPath(f"--abi {src.abi}: no such file")
        src.resolve()
        return fn(src, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
