"""``pylender audit``: verify, export, trail, lender, roles, report (a click group the main CLI mounts).

``verify`` and ``report`` exit with what the verification proved (:class:`pylender.audit.findings.Outcome`):
0 the trail is proven complete (it ends in a trusted head) and everything matches; 1 findings, each
named; 3 the records are consistent but nothing trusted says where the trail ends (an export checked
offline). Every command exits 2 on bad input and 4 when the audit could not be carried out, with one
named error line and no traceback; 130 on Ctrl-C. Every command takes ``--json``.

Modules: ``group`` (the click group), ``source`` (where records come from), ``inputs`` (institutions,
output paths), ``output`` (printing that never truncates, error handling), ``verify_cmd``, ``commands``
(export, trail, roles, lender), ``report_cmd``.
"""

from __future__ import annotations

from pylender.audit.cli import commands, pool_cmd, report_cmd, verify_cmd
from pylender.audit.cli.group import audit

__all__ = ["audit", "commands", "main", "pool_cmd", "report_cmd", "verify_cmd"]

main = audit
