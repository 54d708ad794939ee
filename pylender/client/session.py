"""A pylender session: a chain connection (embedded anvil or ``--rpc``), keys, and deployments.

``Pylender.local()`` starts anvil and uses its dev accounts; ``Pylender.connect(rpc, ...)``
talks to any EVM node with a key from ``PYLENDER_PRIVATE_KEY`` or a keystore.

Anvil's dev accounts derive from a public mnemonic: anyone can sign with them. They are used only on a chain
pylender recognises as a local dev chain - the embedded anvil, or a node with chain id 31337 that says
(``web3_clientVersion``) it is anvil or hardhat - and only the ones that chain has. Elsewhere a dev account index is
refused with :class:`~pylender.errors.NotADevChain`, and nothing signs but a key the caller gave.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Final, cast

from eth_account.signers.local import LocalAccount
from eth_utils import collapse_if_tuple, to_checksum_address
from web3 import Web3

from pylender import artifacts
from pylender.client import accounts
from pylender.client.ledger import ERC20_ABI, Ledger
from pylender.client.node import ANVIL_CHAIN_ID, LocalNode
from pylender.client.transport import ENV_RPC, connect
from pylender.client.tx import Call, Receipt, TxSender
from pylender.errors import DeploymentNotFound, ErrorDecoder, NotADevChain, PylenderError, WrongChainId
from pylender.values import Deployment, PolicyParams, adapter, validate

log = logging.getLogger(__name__)

DEFAULT_DEPLOYMENT_FILE = Path(".pylender") / "deployment.json"
TOKEN_NAME, TOKEN_SYMBOL, TOKEN_DECIMALS = "Test Stablecoin", "TUSD", 6
EIP170_LIMIT = 24_576
DEV_CLIENTS: Final = ("anvil", "hardhatnetwork")
"""``web3_clientVersion`` prefixes (lower case) of local dev nodes, whose accounts derive from the public mnemonic."""


def is_dev_chain(w3: Web3) -> bool:
    """Whether the node is a local dev chain: chain id 31337 and a client version that says anvil or hardhat."""
    if int(w3.eth.chain_id) != ANVIL_CHAIN_ID:
        return False
    response = w3.provider.make_request("web3_clientVersion", [])  # type: ignore[arg-type]
    version = response.get("result") if isinstance(response, dict) else None
    return isinstance(version, str) and version.lower().startswith(DEV_CLIENTS)


class Pylender:
    """A connection plus the keys that sign on it."""

    def __init__(
        self,
        w3: Web3,
        signer: LocalAccount,
        *,
        node: LocalNode | None = None,
        url: str | None = None,
        local: bool = True,
        confirmations: int = 0,
        gas_price: int | None = None,
    ) -> None:
        self.w3 = w3
        self.signer = signer
        self.node = node
        self.url = url or (node.url if node else None)
        self.is_local = local
        self.chain_id = int(w3.eth.chain_id)
        self.confirmations = confirmations
        self.gas_price = gas_price
        self._dev_addresses: list[str] | None = None
        self.on_sent: Callable[[str, Receipt], None] | None = None
        """Called with ``(label, receipt)`` for every transaction this session and its ledgers land."""

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def local(cls, **node_options: Any) -> Pylender:
        """Start an embedded anvil and sign with its first dev account (stopped by :meth:`close`)."""
        node_options = {**node_options}
        limit = _code_size_needed()
        if limit is not None:
            extra = tuple(node_options.pop("extra_args", ()))
            node_options["extra_args"] = (*extra, "--code-size-limit", str(limit))
        node = LocalNode(**node_options).start()
        try:
            return cls(node.web3(), accounts.dev_account(0), node=node, local=True)
        except BaseException:
            node.stop()
            raise

    @classmethod
    def connect(
        cls,
        rpc: str | None = None,
        *,
        chain_id: int | None = None,
        keystore: str | Path | None = None,
        confirmations: int = 0,
        gas_price: int | None = None,
        node_options: dict[str, Any] | None = None,
    ) -> Pylender:
        """``rpc`` (or ``$PYLENDER_RPC``); with neither, an embedded anvil."""
        rpc = rpc or os.environ.get(ENV_RPC)
        if not rpc:
            session = cls.local(**(node_options or {}))
            if chain_id is not None and chain_id != session.chain_id:
                session.close()
                raise WrongChainId(chain_id, ANVIL_CHAIN_ID, "the embedded anvil")
            return session
        w3 = connect(rpc, chain_id)
        local = is_dev_chain(w3)
        signer = accounts.resolve_signer(keystore, local=local)
        return cls(w3, signer, url=rpc, local=local, confirmations=confirmations, gas_price=gas_price)

    def close(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None

    def __enter__(self) -> Pylender:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- accounts ---------------------------------------------------------------------------------
    def account(self, index: int) -> LocalAccount:
        """Dev account ``index``: only on a local dev chain (see the module's docstring) and only one it has.

        :class:`NotADevChain` elsewhere (``no dev accounts on chain 4242: give an address and a key``) and for an
        index past the chain's accounts (``no dev account 42: this chain has 10``)."""
        if not self.is_local:
            raise NotADevChain(
                f"no dev accounts on chain {self.chain_id}: give an address and a key "
                f"(${accounts.ENV_PRIVATE_KEY} or --keystore)"
            )
        addresses = self.dev_addresses()
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(addresses):
            raise NotADevChain(f"no dev account {index}: this chain has {len(addresses)}")
        account = accounts.dev_account(index)
        if account.address != addresses[index]:
            raise NotADevChain(
                f"dev account {index} is not this node's account {index} ({addresses[index]}): the node derives its "
                "accounts from another mnemonic; give an address and a key"
            )
        return account

    def dev_addresses(self) -> list[str]:
        """The addresses of the chain's dev accounts, in order (empty off a local dev chain)."""
        if not self.is_local:
            return []
        if self._dev_addresses is None:
            found: list[str]
            if self.node is not None:
                found = [a.address for a in accounts.dev_accounts(self.node.options.accounts)]
            else:
                response = self.w3.provider.make_request("eth_accounts", [])  # type: ignore[arg-type]
                found = [to_checksum_address(a) for a in response.get("result") or []]
            self._dev_addresses = found
        return self._dev_addresses

    def keyring(self, count: int = 10) -> dict[str, LocalAccount]:
        if not self.is_local:
            return {self.signer.address: self.signer}
        dev = self.dev_addresses()
        return {a.address: a for a in accounts.dev_accounts(min(count, len(dev))) if a.address in dev}

    # -- the chain's clock (local dev chains) -------------------------------------------------------------
    def client_version(self) -> str | None:
        """What the node says it is (``web3_clientVersion``), or None."""
        response = self.w3.provider.make_request("web3_clientVersion", [])  # type: ignore[arg-type]
        version = response.get("result") if isinstance(response, dict) else None
        return version if isinstance(version, str) else None

    def latest(self) -> tuple[int, int]:
        """The latest block's number and timestamp."""
        block = self.w3.eth.get_block("latest")
        return int(block["number"]), int(block["timestamp"])

    def advance(self, seconds: int) -> tuple[int, int]:
        """Move a local dev chain's clock ``seconds`` forward from the latest block and mine a block there; the new
        block's number and timestamp. :class:`NotADevChain` elsewhere."""
        self.require_dev_chain("moving the clock")
        if seconds <= 0:
            raise ValueError(f"time only moves forward: {seconds} s")
        _, now = self.latest()
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [now + seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        return self.latest()

    def mine(self, blocks: int = 1) -> tuple[int, int]:
        """Mine ``blocks`` empty blocks on a local dev chain; the last one's number and timestamp."""
        self.require_dev_chain("mining blocks")
        for _ in range(blocks):
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        return self.latest()

    def require_dev_chain(self, what: str) -> None:
        if not self.is_local:
            raise NotADevChain(
                f"{what} works only on a local dev chain (anvil or hardhat, chain id 31337): chain {self.chain_id} "
                "is not one"
            )

    def _notify(self, call: Call, receipt: Receipt) -> None:
        if self.on_sent is not None:
            self.on_sent(call.label, receipt)

    def _sender(self) -> TxSender:
        decoder = ErrorDecoder(artifacts.load(artifacts.LEDGER).abi, artifacts.token_artifact().abi)
        return TxSender(
            self.w3,
            self.signer,
            decoder,
            chain_id=self.chain_id,
            confirmations=self.confirmations,
            gas_price=self.gas_price,
            on_sent=self._notify,
        )

    # -- deployment -------------------------------------------------------------------------------
    def deploy(
        self,
        *,
        policy: PolicyParams | None = None,
        token: str | None = None,
        decimals: int = TOKEN_DECIMALS,
        originator: str | None = None,
        servicer: str | None = None,
        pauser: str | None = None,
    ) -> Ledger:
        """Deploy the test token (unless ``token`` is given) and the ledger; grant the roles.

        The deployer is admin; originator, servicer and pauser default to the deployer.
        """
        sender = self._sender()
        if token is None:
            token_art = artifacts.token_artifact()
            args = token_constructor_args(token_art, self.signer.address, decimals)
            receipt = sender.deploy(_with_args(token_art, args), token_art.name)
            token = to_checksum_address(receipt.contract_address or "")
            decimals = _decimals_of(self.w3, token)
            log.info("deployed %s at %s", token_art.name, token)
        else:
            token = to_checksum_address(token)
            decimals = _decimals_of(self.w3, token)
        policy = policy or PolicyParams.defaults(decimals)

        def deploy_library(art: artifacts.Artifact, code: str) -> str:
            address = sender.deploy(code, art.name).contract_address or ""
            log.info("deployed library %s at %s", art.name, address)
            return address

        ledger_art = artifacts.load(artifacts.LEDGER)
        code, libraries = artifacts.link_with_libraries(artifacts.LEDGER, deploy_library)
        linked = replace(ledger_art, bytecode=code)
        receipt = sender.deploy(
            _with_args(linked, ledger_constructor_args(ledger_art, token, self.signer.address, policy)), ledger_art.name
        )
        deployment = Deployment(
            chain_id=self.chain_id,
            ledger=to_checksum_address(receipt.contract_address or ""),
            token=token,
            deployer=self.signer.address,
            block=receipt.block_number,
            token_decimals=decimals,
            rpc=None if self.node else self.url,
            libraries=libraries,
        )
        log.info("deployed %s at %s", ledger_art.name, deployment.ledger)
        ledger = self.ledger(deployment)
        wanted = {
            "ORIGINATOR_ROLE": originator or self.signer.address,
            "SERVICER_ROLE": servicer or self.signer.address,
            "PAUSER_ROLE": pauser or self.signer.address,
        }
        for role, account in wanted.items():
            if not ledger.has_role(role, account):
                ledger.grant_role(role, account)
        return ledger

    def ledger(self, deployment: Deployment | str | Path) -> Ledger:
        """A client for an existing deployment (a :class:`Deployment` or its JSON file)."""
        if not isinstance(deployment, Deployment):
            deployment = load_deployment(deployment)
        if deployment.chain_id != self.chain_id:
            raise WrongChainId(deployment.chain_id, self.chain_id, self.url or "")
        ledger = Ledger(
            self.w3,
            deployment,
            self.signer,
            keyring=self.keyring(),
            confirmations=self.confirmations,
            gas_price=self.gas_price,
            local=self.is_local,
        )
        ledger.on_sent = self.on_sent
        return ledger


def _code_size_needed() -> int | None:
    """A code size limit for the embedded anvil when the shipped ledger exceeds EIP-170 (24,576 bytes).

    Such a ledger deploys only on chains without the limit; the embedded chain is one, with a warning.
    """
    try:
        art = artifacts.load(artifacts.LEDGER)
    except PylenderError:
        return None
    size = max(len(art.deployed_bytecode) - 2, 0) // 2
    if size <= EIP170_LIMIT:
        return None
    log.warning(
        "%s is %d bytes, above the EIP-170 limit of %d: raising the embedded anvil's limit",
        art.name,
        size,
        EIP170_LIMIT,
    )
    return size + 1024


def _with_args(art: artifacts.Artifact, args: list[Any]) -> str:
    from eth_abi import encode

    ctor = next((i for i in art.abi if i.get("type") == "constructor"), None)
    if ctor is None or not ctor.get("inputs"):
        return art.bytecode
    types = [collapse_if_tuple(p) for p in ctor["inputs"]]
    return art.bytecode + encode(types, args).hex()


def _ctor_inputs(art: artifacts.Artifact) -> list[dict[str, Any]]:
    ctor = next((i for i in art.abi if i.get("type") == "constructor"), None)
    return list(ctor.get("inputs", [])) if ctor else []


def token_constructor_args(art: artifacts.Artifact, owner: str, decimals: int) -> list[Any]:
    """Constructor arguments for the test token, matched by type and name."""
    args: list[Any] = []
    strings = [TOKEN_NAME, TOKEN_SYMBOL]
    for param in _ctor_inputs(art):
        t = param["type"]
        if t == "string":
            args.append(strings.pop(0) if strings else "")
        elif t == "uint8":
            args.append(decimals)
        elif t == "address":
            args.append(owner)
        elif t.startswith("uint"):
            args.append(0)
        else:
            raise PylenderError(f"cannot build {art.name}'s constructor argument {param}")
    return args


def ledger_constructor_args(art: artifacts.Artifact, token: str, admin: str, policy: PolicyParams) -> list[Any]:
    """Constructor arguments for the ledger, matched by type and name."""
    args: list[Any] = []
    for param in _ctor_inputs(art):
        t, name = param["type"], param.get("name", "").lower()
        if t.startswith("tuple"):
            args.append(validate(PolicyParams, policy).to_abi())
        elif t == "address" and ("token" in name or "asset" in name):
            args.append(token)
        elif t == "address":
            args.append(admin)
        else:
            raise PylenderError(f"cannot build {art.name}'s constructor argument {param}")
    return args


def _decimals_of(w3: Web3, token: str) -> int:
    contract = w3.eth.contract(address=to_checksum_address(token), abi=cast(Any, ERC20_ABI))
    return int(contract.functions.decimals().call())


# -- deployment files -------------------------------------------------------------------------------


def save_deployment(deployment: Deployment, path: str | Path = DEFAULT_DEPLOYMENT_FILE) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(adapter(Deployment).dump_json(deployment, indent=2).decode() + "\n")
    return path


def load_deployment(path: str | Path = DEFAULT_DEPLOYMENT_FILE) -> Deployment:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DeploymentNotFound(f"no deployment file at {path}: run `pylender deploy` first") from exc
    except json.JSONDecodeError as exc:
        raise DeploymentNotFound(f"{path} is not valid JSON ({exc})") from exc
    try:
        return validate(Deployment, data)
    except ValueError as exc:
        raise DeploymentNotFound(f"{path} is not a pylender deployment file: {exc}") from exc


__all__ = [
    "Pylender",
    "is_dev_chain",
    "ledger_constructor_args",
    "load_deployment",
    "save_deployment",
    "token_constructor_args",
]
