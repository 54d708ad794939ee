"""What a verification found: findings and the overall result."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    findings: list[Finding] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_seq(self) -> int | None:
        seqs = [f.seq for f in self.findings if f.seq is not None]
        return min(seqs) if seqs else None

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump()
        data["ok"] = self.ok
        data["first_bad_seq"] = self.first_bad_seq
        return data
