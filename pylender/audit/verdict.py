"""What a verification proved, in words: the verdict line and one statement per check (CLI and report).

Each check is stated as proved, not proved (with why), or failed, so neither the command line nor the
HTML report can say "complete" for a trail that was not compared with a trusted head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pylender.audit.findings import Outcome, VerificationResult

State = Literal["proved", "not proved", "failed", "not checked"]


@dataclass(frozen=True)
class Statement:
    """One check and what came of it."""

    state: State
    text: str

    @property
    def mark(self) -> str:
        return {"proved": "[x]", "failed": "[!]", "not proved": "[ ]", "not checked": "[-]"}[self.state]


def _checks(result: VerificationResult, check: str) -> int:
    return sum(1 for f in result.findings if f.check == check)


def statements(result: VerificationResult) -> list[Statement]:
    """Each check of ``result`` as a sentence, in the order they build on each other."""
    out: list[Statement] = []
    n = result.last_seq
    seq_bad = _checks(result, "seq")
    if seq_bad:
        out.append(Statement("failed", f"sequence: {seq_bad} break(s) in the seq numbers (see the findings)"))
    elif result.records:
        out.append(Statement("proved", f"sequence: records 1 to {n}, no gap, no duplicate, in order"))
    else:
        out.append(Statement("not proved", "sequence: there is no record"))
    chain_bad = _checks(result, "chain")
    if chain_bad:
        out.append(Statement("failed", f"hash chain: {chain_bad} record(s) do not hash to their head"))
    elif result.records:
        text = f"hash chain: recomputed from record 1 to {n}, ending in {result.computed_head}"
        out.append(Statement("proved", text))
    head_bad = _checks(result, "head")
    if not result.proven_complete:
        out.append(
            Statement(
                "not proved",
                "end of the trail: no trusted head (the ledger's auditHead, or --expected-head) was compared, "
                "so records removed from the end would not show",
            )
        )
    elif head_bad:
        out.append(Statement("failed", f"end of the trail: the chain does not end in {result.trusted_source}"))
    else:
        out.append(
            Statement("proved", f"end of the trail: the chain ends in {result.trusted_source} ({result.trusted_head})")
        )
    if not result.replayed:
        out.append(Statement("not checked", "replay: not run"))
    elif _checks(result, "replay") or _checks(result, "balance"):
        out.append(Statement("failed", "replay: the records contradict the rules or do not conserve the tokens"))
    else:
        out.append(
            Statement(
                "proved",
                f"replay: {result.loans_checked} loan(s) and {result.institutions_checked} institution(s) rebuilt "
                "by the ledger's rules, every token unit accounted for",
            )
        )
    if not result.compared_views:
        why = "--no-views"
        if result.source == "export":
            why = "an export: `audit verify --rpc URL --ledger ADDR` compares the views"
        out.append(Statement("not checked", f"reconciliation: views not compared ({why})"))
    elif _checks(result, "view") or _checks(result, "balance"):
        out.append(Statement("failed", "reconciliation: the contract's views differ from the replay (findings)"))
    else:
        out.append(
            Statement(
                "proved",
                f"reconciliation: every loan, position, account, credit record, role and the token balance equal "
                f"the contract's views at block {result.final_block}",
            )
        )
    return out


def headline(result: VerificationResult) -> str:
    """The verdict in one line: what the outcome is and the one fact that decides it."""
    outcome = result.outcome
    if outcome is Outcome.FINDINGS:
        first = result.first_bad_seq
        where = f", first bad seq {first}" if first is not None else ""
        return f"FINDINGS: {len(result.findings)} finding(s){where}"
    return outcome.headline


def verdict_lines(result: VerificationResult) -> list[str]:
    """The CLI's human output: the facts, each check as proved or not, the verdict, then the findings."""
    lines = ["audit verification"]
    facts: list[tuple[str, object]] = [
        ("ledger", result.ledger or "(not named)"),
        ("chain id", "(not named)" if result.chain_id is None else result.chain_id),
    ]
    if result.first_block is not None or result.final_block is not None:
        first = "?" if result.first_block is None else result.first_block
        last = "?" if result.final_block is None else result.final_block
        facts.append(("blocks", f"{first} to {last}"))
    facts += [
        ("records", f"{result.records} (last seq {result.last_seq})"),
        ("computed head", result.computed_head),
        ("trusted head", f"{result.trusted_head} ({result.trusted_source})" if result.trusted_head else "none"),
    ]
    width = max(len(k) for k, _ in facts)
    lines += [f"  {k.ljust(width)}  {v}" for k, v in facts]
    lines += [f"  {s.mark} {s.text}" for s in statements(result)]
    lines += [f"  note: {note}" for note in result.notes]
    lines.append(headline(result) + f" (exit {result.exit_code})")
    lines += [" - " + f.describe() for f in result.findings]
    return lines
