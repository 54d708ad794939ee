"""What a verification found and what it proved: findings, the outcome and its exit code.

Three outcomes, never blurred (``pylender audit verify`` exits with :attr:`Outcome.exit_code`):

- ``verified`` (0): the records are a gapless, untampered hash chain that ends in a *trusted* head (the
  ledger's ``auditHead`` read from a node, or a head the auditor brings with ``--expected-head``), and they
  replay (and, when compared, reconcile) without a difference. Only this proves the trail complete.
- ``findings`` (1): something does not hold; each finding names the check and the seq.
- ``not proven complete`` (3): the records are consistent among themselves, but nothing trusted says where
  the trail ends, so records cut from the end cannot be detected. An export checked offline is this.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Outcome(StrEnum):
    """What a verification proved."""

    VERIFIED = "verified"
    FINDINGS = "findings"
    NOT_PROVEN_COMPLETE = "not proven complete"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self]

    @property
    def headline(self) -> str:
        """One line saying what was proved, for people (CLI, report)."""
        return HEADLINES[self]


EXIT_VERIFIED, EXIT_FINDINGS, EXIT_NOT_PROVEN = 0, 1, 3
EXIT_USAGE = 2  # bad input: an option or argument the command cannot use (click's own usage errors too)
EXIT_ERROR = 4  # the audit could not be carried out (node unreachable, retries exhausted, unreadable file)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_CODES = {
    Outcome.VERIFIED: EXIT_VERIFIED,
    Outcome.FINDINGS: EXIT_FINDINGS,
    Outcome.NOT_PROVEN_COMPLETE: EXIT_NOT_PROVEN,
}
HEADLINES = {
    Outcome.VERIFIED: "VERIFIED: the trail is complete up to a trusted head, untampered, and replays",
    Outcome.FINDINGS: "FINDINGS: the trail does not verify",
    Outcome.NOT_PROVEN_COMPLETE: (
        "NOT PROVEN COMPLETE: the records are consistent, but no trusted head says where the trail ends, "
        "so records cut from the end would go unnoticed"
    ),
}


class Finding(BaseModel):
    """One discrepancy: which check, at which record, on what, expected versus found."""

    model_config = ConfigDict(frozen=True)

    check: str  # "seq", "order", "chain", "head", "replay", "view", "balance"
    seq: int | None = None
    subject: str = ""
    field: str = ""
    expected: str = ""
    found: str = ""
    detail: str = ""

    def describe(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "ledger"
        what = " ".join(x for x in (self.subject, self.field) if x)
        text = f"[{self.check}] {where}: {what}: expected {self.expected}, found {self.found}"
        return f"{text} ({self.detail})" if self.detail else text


def view_finding(subject: str, field: str, expected: Any, found: Any, detail: str = "") -> Finding:
    """A difference between the replayed books and what a ledger view says."""
    return Finding(check="view", subject=subject, field=field, expected=str(expected), found=str(found), detail=detail)


class VerificationResult(BaseModel):
    """The outcome of verifying one ledger's audit trail (or an export of it)."""

    source: str = "ledger"
    """``ledger`` (read from a node) or ``export`` (a file)."""
    ledger: str | None = None
    chain_id: int | None = None
    records: int = 0
    last_seq: int = 0
    computed_head: str = "0x" + "0" * 64
    onchain_head: str | None = None
    final_block: int | None = None
    loans_checked: int = 0
    institutions_checked: int = 0
    replayed: bool = False
    compared_views: bool = False
    first_block: int | None = None
    """The first block the records were read from (the deployment block, or an export's first block)."""
    trusted_head: str | None = None
    """The head the chain was proved to end in (None: no trusted head was given: not proven complete)."""
    trusted_source: str | None = None
    """Where :attr:`trusted_head` comes from (``ledger auditHead at block N``, ``--expected-head``, ...)."""
    proven_complete: bool = False
    """A trusted head was compared with the end of the chain (the comparison's result is in the findings)."""
    notes: list[str] = Field(default_factory=list)
    """What a person should know that is not a finding (e.g. an export header's claim that is not evidence)."""
    findings: list[Finding] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        """No finding: the records hold together (complete only when :attr:`proven_complete` too)."""
        return not self.findings

    @property
    def outcome(self) -> Outcome:
        if self.findings:
            return Outcome.FINDINGS
        return Outcome.VERIFIED if self.proven_complete else Outcome.NOT_PROVEN_COMPLETE

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    @property
    def ok(self) -> bool:
        """Proven complete and matching (exit 0); a consistent trail without a trusted head is not ok."""
        return self.outcome is Outcome.VERIFIED

    @property
    def first_bad_seq(self) -> int | None:
        seqs = [f.seq for f in self.findings if f.seq is not None]
        return min(seqs) if seqs else None

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump()
        data["outcome"] = self.outcome.value
        data["exit_code"] = self.exit_code
        data["verdict"] = self.outcome.headline
        data["ok"] = self.ok
        data["consistent"] = self.consistent
        data["first_bad_seq"] = self.first_bad_seq
        return data
