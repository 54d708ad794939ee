"""The ledger's governance through the client: roles, the lending policy and the pause, and the logs they need.

Roles and policy fields are read from the ledger's ABI, not listed here: a role (``X_ROLE()``) or a ``PolicyParams``
field the contract gains later is granted, shown and set like the others once the artifacts are rebuilt.
:class:`~pylender.client.ledger.Ledger` inherits these methods.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3

from pylender.client.tx import Call, Receipt
from pylender.errors import TransactionFailed
from pylender.values import Deployment, PolicyParams, validate

Signer = LocalAccount | str | None
"""Who signs: an account, an address whose key the client holds, or None for the default signer."""


def address_of(value: str | LocalAccount) -> str:
    """The checksummed address of an address or an account."""
    return str(to_checksum_address(value if isinstance(value, str) else value.address))


class Governance:
    """Roles, policy and pause of one ledger (a part of :class:`~pylender.client.ledger.Ledger`)."""

    w3: Web3
    address: str
    deployment: Deployment
    ledger_abi: list[dict[str, Any]]
    _topics: dict[str, str]
    _role_ids: dict[str, bytes]

    if TYPE_CHECKING:

        def _view(self, fn: str, *args: Any, target: str = "ledger") -> Any: ...
        def call(self, fn: str, *args: Any, target: str = "ledger") -> Call: ...
        def send(self, call: Call, by: Signer = None) -> Receipt: ...
        def _account(self, by: Signer) -> LocalAccount: ...

    # -- policy --------------------------------------------------------------------------------------------------
    def set_policy(self, policy: PolicyParams, by: Signer = None) -> Receipt:
        return self.send(self.call("setPolicy", validate(PolicyParams, policy).to_abi()), by)

    def policy_fields(self) -> list[tuple[str, str]]:
        """``(name, solidity type)`` of every field of the ledger's policy, in the ABI's order (camelCase names)."""
        [param] = next(i for i in self.ledger_abi if i.get("type") == "function" and i["name"] == "setPolicy")["inputs"]
        return [(c["name"], c["type"]) for c in param["components"]]

    def policy_values(self) -> dict[str, Any]:
        """The ledger's policy now, by the ABI's field names: every field, the ones this package does not know yet
        included."""
        values = self._view("policy")
        return dict(zip([name for name, _ in self.policy_fields()], values, strict=True))

    def update_policy(self, changes: Mapping[str, Any], by: Signer = None) -> Receipt:
        """``setPolicy`` with the current policy changed in ``changes`` (ABI field names); the others stay."""
        current = self.policy_values()
        unknown = set(changes) - set(current)
        if unknown:
            raise ValueError(f"the policy has no field {', '.join(sorted(unknown))}: it has {', '.join(current)}")
        return self.send(self.call("setPolicy", tuple({**current, **changes}.values())), by)

    # -- roles (read from the ABI: a role the contract gains later is handled like the others) -------------
    def role_names(self) -> list[str]:
        """The ledger's roles, as its ABI declares them (``DEFAULT_ADMIN_ROLE``, ``ORIGINATOR_ROLE``, ...)."""
        return sorted(
            item["name"]
            for item in self.ledger_abi
            if item.get("type") == "function"
            and item["name"].endswith("_ROLE")
            and not item.get("inputs")
            and [o["type"] for o in item.get("outputs", [])] == ["bytes32"]
        )

    def role(self, name: str) -> str:
        """The role called ``name`` in any spelling (``servicer``, ``SERVICER_ROLE``, ``default-admin``, ``admin``);
        ``ValueError`` naming the roles otherwise."""
        wanted = re.sub(r"[\s-]+", "_", name.strip()).upper()
        roles = self.role_names()
        for candidate in (wanted, f"{wanted}_ROLE", f"DEFAULT_{wanted}", f"DEFAULT_{wanted}_ROLE"):
            if candidate in roles:
                return candidate
        raise ValueError(f"unknown role {name!r}: one of {', '.join(r.removesuffix('_ROLE').lower() for r in roles)}")

    def role_id(self, name: str) -> bytes:
        """The role's bytes32 id, as the contract computes it."""
        role = self.role(name)
        if role not in self._role_ids:
            self._role_ids[role] = bytes(self._view(role))
        return self._role_ids[role]

    def grant_role(self, role: str, account: str | LocalAccount, by: Signer = None) -> Receipt:
        """Grant ``role`` to ``account`` (the role's admin; for every role here, the admin)."""
        return self.send(self.call("grantRole", self.role_id(role), address_of(account)), by)

    def revoke_role(self, role: str, account: str | LocalAccount, by: Signer = None) -> Receipt:
        """Revoke ``role`` from ``account`` (the role's admin). Revoking a role not held changes nothing."""
        return self.send(self.call("revokeRole", self.role_id(role), address_of(account)), by)

    def renounce_role(self, role: str, by: Signer = None) -> Receipt:
        """``by`` gives up ``role`` itself."""
        account = self._account(by)
        return self.send(self.call("renounceRole", self.role_id(role), account.address), account)

    def has_role(self, role: str, account: str | LocalAccount) -> bool:
        return bool(self._view("hasRole", self.role_id(role), address_of(account)))

    def roles_of(self, account: str | LocalAccount) -> list[str]:
        """The roles ``account`` holds now."""
        return [name for name in self.role_names() if self.has_role(name, account)]

    def role_holders(self) -> dict[str, list[str]]:
        """Every role with the accounts that hold it now: the candidates from the ledger's ``RoleGranted`` logs
        (AccessControl keeps no list), each confirmed with ``hasRole``."""
        names = {self.role_id(name): name for name in self.role_names()}
        topics = [self._topics[e] for e in ("RoleGranted", "RoleRevoked") if e in self._topics]
        seen: dict[str, dict[str, None]] = {name: {} for name in names.values()}
        for entry in self.logs([topics], from_block=self.deployment.block):
            role = names.get(bytes.fromhex(entry["topics"][1][2:]))
            if role is not None:
                seen[role][to_checksum_address("0x" + entry["topics"][2][-40:])] = None
        return {role: [a for a in candidates if self.has_role(role, a)] for role, candidates in seen.items()}

    def logs(self, topics: list[Any], from_block: int = 0, to_block: int | None = None) -> list[dict[str, Any]]:
        """The ledger's logs matching ``topics`` in ``[from_block, to_block]`` (default: the latest block), fetched
        in ranges that halve when the node refuses one as too large."""
        last = to_block if to_block is not None else int(self.w3.eth.block_number)
        out: list[dict[str, Any]] = []
        pending = [(from_block, last)]
        while pending:
            low, high = pending.pop(0)
            params = {"address": self.address, "topics": topics, "fromBlock": hex(low), "toBlock": hex(high)}
            response = self.w3.provider.make_request("eth_getLogs", [params])  # type: ignore[arg-type]
            if "error" in response:
                if high <= low:
                    raise TransactionFailed(f"eth_getLogs refused block {low}: {response['error']}")
                middle = (low + high) // 2
                pending[:0] = [(low, middle), (middle + 1, high)]
                continue
            out += response["result"]
        return out

    def paused(self) -> bool:
        return bool(self._view("paused"))

    def pause(self, by: Signer = None) -> Receipt:
        return self.send(self.call("pause"), by)

    def unpause(self, by: Signer = None) -> Receipt:
        return self.send(self.call("unpause"), by)
