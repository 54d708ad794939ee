"""README's command-line tour runs literally: its shell blocks, as printed, in bash, in 80 columns, piped to a file.

The one change is the port (a free one instead of 8545, so that the test never meets another node), and the test
waits for the node the tour starts in the background before the next line, as a person typing would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pylender.client.node import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def tour_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### From the command line") : text.index("### From Python")]
    pools = text[text.index("### Loan pools") : text.index("An auditor needs only the package")]
    return re.findall(r"```sh\n(.*?)```", section, re.S) + re.findall(r"```sh\n(.*?)```", pools, re.S)


def test_the_tour_reaches_a_default_with_chain_advance_and_no_curl() -> None:
    script = "\n".join(tour_blocks())
    assert "curl" not in script and "evm_increaseTime" not in script
    assert re.search(r"^pylender chain advance \S+ .*\n(.*\n)*pylender loan default 1", script, re.M)


def test_every_tour_command_works_as_printed(tmp_path: Path) -> None:
    port = str(free_port())
    node = "pylender node --port 8545 &"
    script = "\n".join(tour_blocks())
    assert script.count(node) == 1 and script.count("8545") == 2
    probe = f"pylender --rpc http://127.0.0.1:{port} chain info >/dev/null 2>&1"
    wait = f"for _ in $(seq 100); do {probe} && break; sleep 0.1; done"
    script = script.replace(node, f"{node}\nNODE=$!; trap 'kill $NODE' EXIT\n{wait}").replace("8545", port)
    (tmp_path / "tour.sh").write_text("set -euo pipefail\n" + script)
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)  # `source .venv/bin/activate`
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYLENDER_")}
    env.update(COLUMNS="80", PYLENDER_NODE_MODULES=str(ROOT / "node_modules"))
    out = tmp_path / "tour.out"
    with out.open("w") as piped:
        done = subprocess.run(
            ["bash", "tour.sh"], cwd=tmp_path, env=env, stdout=piped, stderr=subprocess.STDOUT, timeout=600
        )
    text = out.read_text()
    assert done.returncode == 0, text
    assert "Traceback" not in text and "Error:" not in text
    # Every figure whole: the audit's own table (pylender.audit.cli) aside, nothing is cut with an ellipsis.
    audit = text[text.index("audit verification") : text.index("VERIFIED: the trail is complete")]
    assert "…" not in text.replace(audit, "")
    assert "withdrawable  745.684017" in text  # lender balance 1: the bank's 70 % of the first installment
    assert "the ledger may pull 0.000000 from 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc" in text
    assert "loan 1 defaulted owing" in text and "loan 1 written off" in text
    assert "loan 2 cancelled, 5,000.000000 back to its lenders" in text
    assert "+08:00" in text  # --tz Asia/Shanghai
    assert "accepted offer 1: 2,000 bps of loan 1 for 1,500.000000" in text  # a position changed hands
    assert "VERIFIED: pool 0x" in text and "    <- loan 3 principal " in text  # the pool's trail, traced
    assert (tmp_path / ".pylender" / "deployment.json").exists()
