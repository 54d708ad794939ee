"""The ledger's AccessControl roles: ids and names."""

from __future__ import annotations

from eth_utils import keccak

ROLES = ("DEFAULT_ADMIN_ROLE", "ORIGINATOR_ROLE", "LENDER_ROLE", "SERVICER_ROLE", "PAUSER_ROLE")


def role_id(name: str) -> bytes:
    """The AccessControl role id (``bytes32(0)`` for the admin role, else ``keccak256(name)``)."""
    return b"\x00" * 32 if name == "DEFAULT_ADMIN_ROLE" else keccak(text=name)


ROLE_NAMES: dict[bytes, str] = {role_id(name): name for name in ROLES}


def role_bytes(role: bytes | str) -> bytes:
    """A role id given as bytes or 0x-hex."""
    return role if isinstance(role, bytes) else bytes.fromhex(role.removeprefix("0x"))


def role_name(role: bytes | str) -> str:
    """The role's name, or its 0x-hex id when it is none of the ledger's roles."""
    raw = role_bytes(role)
    return ROLE_NAMES.get(raw, "0x" + raw.hex())
