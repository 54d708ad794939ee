"""Participations end to end on anvil: the shipped sale scenario replays and verifies, the audit follows
ownership (credits, the NPL buyer's recoveries and loss) and ``audit trail`` shows the chain of holders."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pylender.audit.cli import audit
from pylender.audit.verify import audit_ledger
from pylender.client.session import Pylender
from pylender.scenarios.runner import run_scenario
from pylender.scenarios.schema import load
from pylender.values import BPS

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "participation-sales.yaml"
UNIT = 10**6


def test_sales_replay_verify_and_the_trail_shows_the_holders(chain: Pylender, tmp_path: Path) -> None:
    result = run_scenario(load(SCENARIO), session=chain)
    run = audit_ledger(chain.w3, result.ledger)
    assert run.result.ok, [f.describe() for f in run.result.findings]
    assert run.result.compared_views and run.result.replayed
    who = {key: lender.address for key, lender in result.lenders.items()}
    kinds = [r.kind for r in run.records]
    assert (kinds.count("PositionOffered"), kinds.count("PositionTransferred"), kinds.count("OfferCancelled")) == (
        3,
        2,
        1,
    )
    # the asset manager bought 2,000 bps of loan H (ledger id 2) while it was defaulted, for 170 tokens; every
    # recovery after that (2,500 + 1,000 tokens) is credited to it for its share: floor(3,500 × 20 %) = 700
    assert run.books.books.position(2, who["amc"])["recovered_credited"] == 3_500 * UNIT * 2000 // BPS
    assert result.lenders["amc"].withdrawn == 700 * UNIT
    # its loss share at the write-off (it held 2,000 bps then), less the later recovery credit (200 tokens)
    written_off = result.loans["H"].written_off
    assert result.lenders["amc"].loss == written_off * 2000 // BPS - 1_000 * UNIT * 2000 // BPS
    assert run.books.accounts[who["amc"]].loss == result.lenders["amc"].loss
    # the platform was paid 170 tokens for the sale: a flow the replay books to its withdrawable
    sales = [f for f in run.books.flows if f.component == "sale"]
    assert [(f.loan_id, f.account, f.amount) for f in sales] == [
        (1, who["bank_a"], 4_100 * UNIT),
        (2, who["platform"], 170 * UNIT),
    ]

    args = ["--rpc", str(chain.url), "--ledger", result.ledger, "--deployment", str(tmp_path / "none.json")]
    trail = CliRunner().invoke(audit, ["trail", "1", *args], terminal_width=80)
    assert trail.exit_code == 0, trail.output
    lines = trail.output.splitlines()
    start = lines.index("holders of loan 1, after each change:")
    assert lines[start + 1 :] == [
        f"  seq {lines[start + 1].split()[1]} LoanOriginated:",
        f"    {who['bank_a']} 6,000 bps",
        f"    {who['platform']} 4,000 bps",
        f"  seq {lines[start + 4].split()[1]} PositionTransferred:",
        f"    {who['bank_a']} 2,000 bps",
        f"    {who['platform']} 4,000 bps",
        f"    {who['bank_b']} 4,000 bps",
    ]
    assert f"{who['bank_a']} sold 4000 bps to {who['bank_b']} for 4,100,000,000 (offer 1)" in trail.output
