"""Is this a ledger, or a loan pool? Addresses the auditor types, checked before any work is done on them.

``--ledger 0x1234`` is not an address; an account or a token is not a pylender ledger. Both are said
in one sentence (``no pylender ledger at X on chain N: ...``) instead of a raw RPC error later.
"""

from __future__ import annotations

from eth_utils import is_address, to_checksum_address

from pylender.audit.layout import keccak256
from pylender.audit.rpc import Rpc
from pylender.errors import InvalidAddress, NotALedger, NotAPool, RpcError

AUDIT_HEAD_CALL = "0x" + keccak256(b"auditHead()")[:4].hex()
LEDGER_CALL = "0x" + keccak256(b"ledger()")[:4].hex()


def checksum_address(text: str, what: str = "address") -> str:
    """``text`` as a checksummed address; :class:`InvalidAddress` says why it is not one."""
    value = str(text).strip()
    if not is_address(value):
        digits = value[2:] if value[:2].lower() == "0x" else value
        why = f"{len(digits)} characters after 0x" if value[:2].lower() == "0x" else "no 0x prefix"
        raise InvalidAddress(f"{what} {text!r} is not an address: an address is 0x and 40 hex digits ({why})")
    if value != value.lower() and value[2:] != value[2:].upper() and value != to_checksum_address(value):
        raise InvalidAddress(f"{what} {value} has a bad checksum (expected {to_checksum_address(value)})")
    return to_checksum_address(value)


def require_ledger(rpc: Rpc, address: str, chain_id: int, block: int | str = "latest") -> None:
    """:class:`NotALedger` unless ``address`` holds code at ``block`` that answers ``auditHead()`` with a head."""
    where = f"no pylender ledger at {address} on chain {chain_id}" + (f" at block {block}" if block != "latest" else "")
    if not rpc.code(address, block):
        raise NotALedger(f"{where}: there is no contract code there (an account, or nothing deployed yet)")
    tag = hex(block) if isinstance(block, int) else block
    try:
        answer = rpc.call("eth_call", [{"to": address, "data": AUDIT_HEAD_CALL}, tag])
    except RpcError as exc:
        raise NotALedger(f"{where}: the contract there does not answer auditHead() ({exc.message})") from None
    data = bytes.fromhex(str(answer)[2:]) if isinstance(answer, str) else b""
    if len(data) != 32 or data[0] != 0:
        raise NotALedger(f"{where}: its auditHead() answers {str(answer)[:80]!r}, not a 248-bit head")


def read_head(rpc: Rpc, address: str, block: int | str = "latest") -> int:
    """The ledger's ``auditHead()`` at ``block`` (:class:`RpcError` when the node cannot answer for it)."""
    tag = hex(block) if isinstance(block, int) else block
    answer = rpc.call("eth_call", [{"to": address, "data": AUDIT_HEAD_CALL}, tag])
    data = bytes.fromhex(str(answer)[2:]) if isinstance(answer, str) else b""
    if len(data) != 32:
        raise NotALedger(f"no pylender ledger at {address} at block {block}: auditHead() answered {answer!r}")
    return int.from_bytes(data, "big")


def require_pool(rpc: Rpc, address: str, chain_id: int, block: int | str = "latest") -> str:
    """The ledger of the loan pool at ``address``; :class:`NotAPool` unless code there at ``block`` answers
    ``ledger()`` with an address and ``auditHead()`` with a head."""
    where = f"no loan pool at {address} on chain {chain_id}" + (f" at block {block}" if block != "latest" else "")
    if not rpc.code(address, block):
        raise NotAPool(f"{where}: there is no contract code there (an account, or nothing deployed yet)")
    tag = hex(block) if isinstance(block, int) else block
    answers: list[bytes] = []
    for name, data in (("ledger()", LEDGER_CALL), ("auditHead()", AUDIT_HEAD_CALL)):
        try:
            answer = rpc.call("eth_call", [{"to": address, "data": data}, tag])
        except RpcError as exc:
            raise NotAPool(f"{where}: the contract there does not answer {name} ({exc.message})") from None
        answers.append(bytes.fromhex(str(answer)[2:]) if isinstance(answer, str) else b"")
    ledger, head = answers
    if len(ledger) != 32 or any(ledger[:12]) or not any(ledger[12:]):
        raise NotAPool(f"{where}: its ledger() answers 0x{ledger.hex()[:80]}, not an address")
    if len(head) != 32 or head[0] != 0:
        raise NotAPool(f"{where}: its auditHead() answers 0x{head.hex()[:80]}, not a 248-bit head")
    return to_checksum_address(ledger[12:])
