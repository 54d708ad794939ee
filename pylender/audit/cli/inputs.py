"""What the auditor types, read strictly: institutions, output paths.

An institution is named the way the lending commands name parties: by its index (``1``, the first
registered institution in the trail), by its registered name (``Bank``, any case) or by its address.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pylender.audit.probe import checksum_address
from pylender.errors import InstitutionNotInTrail, InvalidAddress, InvalidPath
from pylender.reference.records import Account


def _listing(accounts: Mapping[str, Account]) -> str:
    known = sorted(accounts.values(), key=lambda a: a.index)
    return ", ".join(f"{a.index} {a.name} {a.address}" for a in known) or "none registered"


def resolve_institution(accounts: Mapping[str, Account], text: str) -> str:
    """The address of the institution ``text`` names (index, name or address) among ``accounts``."""
    value = text.strip()
    if value.isdigit():
        for account in accounts.values():
            if account.index == int(value):
                return account.address
        raise InstitutionNotInTrail(f"no institution {value} in the trail (institutions: {_listing(accounts)})")
    if value[:2].lower() == "0x":
        stem = value.rstrip(".…")
        if stem != value and len(stem) > 2:  # an abbreviation such as 0x7099...: say which it may mean
            matches = [a for a in accounts.values() if a.address.lower().startswith(stem.lower())]
            hint = "; did you mean " + " or ".join(f"{a.address} ({a.name})" for a in matches) if matches else ""
            raise InvalidAddress(f"{text!r} is an abbreviated address: give all 40 hex digits{hint}")
        address = checksum_address(value, "institution")
        if address not in accounts:
            raise InstitutionNotInTrail(
                f"{address} is not an institution in the trail (institutions: {_listing(accounts)})"
            )
        return address
    named = [a for a in accounts.values() if a.name.casefold() == value.casefold()]
    if len(named) == 1:
        return named[0].address
    if named:
        options = ", ".join(f"{a.index} ({a.address})" for a in named)
        raise InstitutionNotInTrail(f"{len(named)} institutions are named {value!r}: give the index: {options}")
    raise InstitutionNotInTrail(
        f"{text!r} is neither an institution index, a name nor an address in the trail "
        f"(institutions: {_listing(accounts)})"
    )


def writable_file(path: Path, what: str) -> Path:
    """``path`` if a file can be created or replaced there; :class:`InvalidPath` saying why not.

    Checked before the audit runs, so that an hour's work is not lost to a typo in ``--out``."""
    if path.exists() and path.is_dir():
        raise InvalidPath(f"{what} {path} is a directory, not a file")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise InvalidPath(f"{what} {path}: the directory {parent} does not exist")
    if not parent.is_dir():
        raise InvalidPath(f"{what} {path}: {parent} is not a directory")
    target = path if path.exists() else parent
    if not os.access(target, os.W_OK):
        raise InvalidPath(f"{what} {path}: not writable ({target} does not allow writing)")
    return path
