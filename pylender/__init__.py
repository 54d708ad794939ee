"""pylender: a co-lending (联合贷款) ledger on an EVM chain - contracts, client, audit.

The names a script needs first: ``from pylender import LoanTerms, Pylender, Tranche``.
"""

from __future__ import annotations

from typing import Any

from pylender import native

native.install()  # before any compiled module is imported: a stale build must not run (see pylender.native)

__all__ = ["LoanTerms", "Pylender", "Tranche"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `import pylender` stays cheap (make's setup step imports pylender.native).
    if name == "Pylender":
        from pylender.client.session import Pylender

        return Pylender
    if name in ("LoanTerms", "Tranche"):
        from pylender import models

        return getattr(models, name)
    raise AttributeError(f"module 'pylender' has no attribute {name!r}")
