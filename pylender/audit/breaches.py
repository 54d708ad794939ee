"""Loans whose terms break a lending policy: the one in force when they were originated, or the latest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from pylender.audit.records import Record


class Breach(BaseModel):
    """A loan whose terms break a policy rule (at origination, or under the latest policy)."""

    loan_id: int
    seq: int
    policy: str  # "at origination" or "latest"
    rule: str
    value: int
    limit: int


def _check_terms(
    loan_id: int,
    seq: int,
    label: str,
    terms: dict[str, Any],
    tranches: list[dict[str, Any]],
    policy: dict[str, Any],
    platforms: set[str],
) -> list[Breach]:
    out: list[Breach] = []

    def add(rule: str, value: int, limit: int) -> None:
        out.append(Breach(loan_id=loan_id, seq=seq, policy=label, rule=rule, value=value, limit=limit))

    if int(terms["annualRateBps"]) > int(policy["maxAnnualRateBps"]):
        add("annual rate above cap", int(terms["annualRateBps"]), int(policy["maxAnnualRateBps"]))
    if int(terms["penaltyRateBps"]) > int(policy["maxPenaltyRateBps"]):
        add("penalty rate above cap", int(terms["penaltyRateBps"]), int(policy["maxPenaltyRateBps"]))
    if int(terms["principal"]) > int(policy["maxPrincipal"]):
        add("principal above cap", int(terms["principal"]), int(policy["maxPrincipal"]))
    if int(terms["reserveBps"]) < int(policy["minReserveBps"]):
        add("reserve below minimum", int(terms["reserveBps"]), int(policy["minReserveBps"]))
    if len(tranches) > 1:
        platform = sum(int(t["shareBps"]) for t in tranches if t["lender"] in platforms)
        if platform < int(policy["minPlatformShareBps"]):
            add("platform share below minimum", platform, int(policy["minPlatformShareBps"]))
    return out


def policy_breaches(records: Sequence[Record], current: dict[str, Any] | None = None) -> list[Breach]:
    """Loans breaching the policy in force when they were originated, or the latest policy.

    The deployment's initial policy is set in the constructor, which writes no record: pass the ledger's
    ``policy()`` view as ``current`` to check against it when the trail has no ``PolicyUpdated`` yet.
    """
    policy: dict[str, Any] | None = None
    platforms: set[str] = set()
    originated: list[Record] = []
    out: list[Breach] = []
    for r in sorted(records, key=lambda r: r.seq):
        if r.kind == "PolicyUpdated":
            policy = dict(r.fields["policy"])
        elif r.kind == "InstitutionRegistered" and r.fields["isPlatform"]:
            platforms.add(r.fields["account"])
        elif r.kind == "LoanOriginated":
            originated.append(r)
            if policy is not None:
                out += _check_terms(
                    int(r.fields["loanId"]),
                    r.seq,
                    "at origination",
                    r.fields["terms"],
                    r.fields["tranches"],
                    policy,
                    platforms,
                )
    policy = current if current is not None else policy
    if policy is not None:
        for r in originated:
            out += _check_terms(
                int(r.fields["loanId"]), r.seq, "latest", r.fields["terms"], r.fields["tranches"], policy, platforms
            )
    return out
