"""The HTML report rendered in real headless Chromium: nothing overflows at 1280 px, the key totals are text,
labels are whole, and a screenshot is kept in bench/out/ for people to look at.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it when missing). Without it the test is
skipped on a developer's machine and fails under CI, which must not skip it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_anvil import ANVIL, DAY, Chain, anvil, deploy, scenario
from click.testing import CliRunner

from pylender.audit.cli import audit

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ANVIL.exists(), reason="anvil (npm) not installed")]

LONG_NAME = "Bank of Example Holdings International Co-Lending Partners (Shanghai Branch)"
SCREENSHOT = Path(__file__).resolve().parents[2] / "bench" / "out" / "audit-report-1280.png"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
OVERDUE_DAYS = (120, 75, 45, 10)  # one loan in each bucket: 90+, 61-90, 31-60, 1-30
MEASURE = """<script>
window.addEventListener("load", () => {
  const doc = document.documentElement;
  const right = Math.max(0, ...[...document.querySelectorAll("table, figure, svg, section, p, h1, h2")]
    .map(e => e.getBoundingClientRect().right));
  const out = document.createElement("pre");
  out.id = "pylender-metrics";
  out.textContent = JSON.stringify({scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth,
    scrollHeight: doc.scrollHeight, right: right, text: document.body.innerText});
  document.body.appendChild(out);
});
</script>"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return found


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture(scope="module")
def portfolio() -> Iterator[tuple[str, Chain, str]]:
    """The e2e scenario (a closed, a written-off and a cancelled loan) plus four loans of three lenders, one
    of them with a long name, each unpaid and overdue by one of OVERDUE_DAYS at the final block."""
    with anvil() as (url, _proc):
        c = deploy(url)
        scenario(c)
        L, T = c.ledger.functions, c.token.functions
        third = c.w3.eth.accounts[5]
        c.send(L.registerInstitution(third, LONG_NAME, False), c.admin)
        c.send(T.mint(third, 10_000_000 * 10**6), c.admin)
        c.send(T.approve(c.ledger.address, 2**256 - 1), third)
        tranches = [(c.bank, 4000), (third, 3000), (c.platform, 3000)]
        ids = []
        for principal in (5_000_000_000, 3_000_000_000, 2_000_000_000, 1_234_567_891):
            c.send(L.originate(c.terms(principal, 1500, 6, 0, 500, 300), tranches), c.admin)
            loan_id = L.loanCount().call()
            for lender, _ in tranches:
                c.send(L.fund(loan_id), lender)
            ids.append(loan_id)
        final = c.now + 200 * DAY
        for loan_id, days in zip(ids, OVERDUE_DAYS, strict=True):
            c.at(final - 30 * DAY - days * DAY)  # installment 1 falls due 30 days after the disbursement
            c.send(L.disburse(loan_id), c.admin)
        c.at(final)
        yield url, c, third


def _report(url: str, c: Chain, path: Path, *extra: str) -> dict:
    args = ["report", "--rpc", url, "--ledger", c.ledger.address, "--from-block", str(c.deploy_block)]
    out = CliRunner().invoke(
        audit, [*args, "--deployment", str(path.parent / "none.json"), "--html", str(path), "--json", *extra]
    )
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_the_report_reads_at_1280_px_in_chromium_with_every_total_as_text(
    portfolio: tuple[str, Chain, str], tmp_path: Path
) -> None:
    binary = _chromium()
    url, c, _ = portfolio
    html = tmp_path / "report.html"
    assert _report(url, c, html)["outcome"] == "verified"
    source = html.read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(source.replace("</body>", MEASURE + "</body>"))
    dom = _run_chromium(
        binary,
        tmp_path / "profile-a",
        "--window-size=1280,900",
        "--virtual-time-budget=10000",
        "--dump-dom",
        probe.as_uri(),
    ).stdout
    found = re.search(r'<pre id="pylender-metrics">(.*?)</pre>', dom, re.S)
    assert found is not None, dom[-2000:]
    metrics = json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert metrics["innerWidth"] == 1280
    assert metrics["scrollWidth"] <= metrics["innerWidth"] and metrics["right"] <= metrics["innerWidth"]
    text = metrics["text"]
    # the verdict first, then the facts: chain, token, block range with ISO 8601 times and their zone
    assert text.index("VERIFIED") < text.index("Portfolio totals")
    assert (
        "TUSD, 6 decimals" in text and "ISO 8601 in UTC" in text and re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    )
    # portfolio: four loans of 11,234.567891 TUSD and the scenario's 1.500003 TUSD, every decimal kept
    assert "11,236.067894" in text  # funded: 1.000003 + 0.5 + 11,234.567891
    assert "11,234.567891" in text  # outstanding: the four overdue loans owe all their principal
    for bucket, amount in (
        ("1-30 days", "1,234.567891"),
        ("31-60 days", "2,000.000000"),
        ("61-90 days", "3,000.000000"),
        ("90+ days", "5,000.000000"),
    ):
        assert re.search(rf"{re.escape(bucket)}\s+1\s+{re.escape(amount)}", text), bucket
    assert LONG_NAME in text  # whole, in the tables ...
    assert source.count(LONG_NAME) >= 4  # ... and in the charts, over as many lines as it takes
    chart_text = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", source))
    assert LONG_NAME in chart_text
    assert "1.0G" not in source and "Bank of Exampl<" not in source
    # a screenshot of the whole page, for people to look at
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    height = min(int(metrics["scrollHeight"]) + 40, 16_000)
    _run_chromium(
        binary,
        tmp_path / "profile-b",
        f"--window-size=1280,{height}",
        "--virtual-time-budget=10000",
        f"--screenshot={SCREENSHOT}",
        html.as_uri(),
    )
    assert SCREENSHOT.stat().st_size > 50_000


def test_the_report_states_its_timezone_and_writes_dates_in_it(
    portfolio: tuple[str, Chain, str], tmp_path: Path
) -> None:
    url, c, _ = portfolio
    html = tmp_path / "report.html"
    _report(url, c, html, "--timezone", "Asia/Shanghai")
    text = html.read_text()
    assert "ISO 8601 in Asia/Shanghai" in text and re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", text)
    out = CliRunner().invoke(audit, ["report", "--html", str(html), "--timezone", "Mars/Olympus"])
    assert out.exit_code == 2 and "unknown timezone 'Mars/Olympus'" in out.output


def test_a_report_of_an_export_says_it_is_not_proven_offline_and_keeps_the_dates(
    portfolio: tuple[str, Chain, str], tmp_path: Path
) -> None:
    url, c, _ = portfolio
    trail = tmp_path / "trail.json"
    base = ["--rpc", url, "--ledger", c.ledger.address, "--from-block", str(c.deploy_block)]
    none = ["--deployment", str(tmp_path / "none.json")]
    assert CliRunner().invoke(audit, ["export", *base, *none, "--format", "json", "--out", str(trail)]).exit_code == 0
    html = tmp_path / "offline.html"
    out = CliRunner().invoke(audit, ["report", "--file", str(trail), *none, "--html", str(html)])
    assert out.exit_code == 3 and "NOT PROVEN COMPLETE" in out.output
    text = html.read_text()
    assert "NOT PROVEN COMPLETE" in text and "PASSED" not in text and "VERIFIED" not in text
    assert re.search(r"90\+ days</td><td class=\"n\">1</td><td class=\"n\">5,000.000000", text)  # block times kept
    proven = CliRunner().invoke(audit, ["report", "--file", str(trail), "--rpc", url, *none, "--html", str(html)])
    assert proven.exit_code == 0 and "VERIFIED" in html.read_text()


RECONCILIATION_SCREENSHOT = SCREENSHOT.with_name("reconciliation-report-1280.png")


def test_the_reconciliation_reads_at_1280_px_matched_totals_then_the_breaks(
    portfolio: tuple[str, Chain, str], tmp_path: Path
) -> None:
    """``pylender reconcile --html``: the bank's books (its statement, one row left out and one amount a unit
    more) in the same browser, the same width and the same checks as the audit report."""
    import csv
    from datetime import UTC, datetime

    from pylender.cli import cli
    from pylender.statements import draw_statement
    from pylender.statements.amounts import units_text

    binary = _chromium()
    url, c, _ = portfolio
    first = datetime.fromtimestamp(int(c.w3.eth.get_block(c.deploy_block)["timestamp"]), UTC).date()
    last = datetime.fromtimestamp(c.now, UTC).date()
    drawn = draw_statement(c.w3, c.ledger.address, "Bank", first, last)
    rows = [[r.loan_id or "", r.date, r.component, units_text(r.amount, 6)] for r in drawn.rows]
    left_out = next(i for i, r in enumerate(rows) if r[2] == "interest")
    interest = rows.pop(left_out)
    changed = next(r for r in rows if r[2] == "principal")
    chain_principal = changed[3]
    changed[3] = units_text(int(changed[3].replace(".", "")) + 1, 6)
    books = tmp_path / "books.csv"
    with books.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["loan_id", "date", "component", "amount"])
        writer.writerows(rows)
    html = tmp_path / "reconciliation.html"
    source = ["--rpc", url, "--ledger", c.ledger.address, "--deployment", str(tmp_path / "none.json")]
    period = ["--from", first.isoformat(), "--to", last.isoformat()]
    out = CliRunner().invoke(cli, ["reconcile", *source, "Bank", "--books", str(books), *period, "--html", str(html)])
    assert out.exit_code == 1, out.output
    probe = tmp_path / "probe.html"
    probe.write_text(html.read_text().replace("</body>", MEASURE + "</body>"))
    dom = _run_chromium(
        binary, tmp_path / "profile-r", "--window-size=1280,900", "--virtual-time-budget=10000", "--dump-dom",
        probe.as_uri(),
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="pylender-metrics">(.*?)</pre>', dom, re.S)
    assert found is not None, dom[-2000:]
    metrics = json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert metrics["innerWidth"] == 1280
    assert metrics["scrollWidth"] <= metrics["innerWidth"] and metrics["right"] <= metrics["innerWidth"]
    text = metrics["text"]
    # the verdict, then the matched totals, then the breaks
    assert text.index("2 BREAKS") < text.index("Matched totals") < text.index("Breaks (2)")
    assert f"{len(rows) - 1} of {len(rows)} books entries matched" in text
    assert "VERIFIED: drawn from a trail proven complete" in text
    breaks = text[text.index("Breaks (2)") :]
    assert re.search(rf"missing from books\s+{interest[0]}\s+interest\s+{interest[1]}\s+{interest[3]}", breaks)
    principal = f"{int(chain_principal.split('.')[0]):,}.{chain_principal.split('.')[1]}"
    assert re.search(
        rf"amount differs\s+\d+\s+principal\s+\S+\s+\S+\s+{re.escape(principal)}\s+\S+\s+0\.000001", breaks
    )
    RECONCILIATION_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    RECONCILIATION_SCREENSHOT.unlink(missing_ok=True)
    _run_chromium(
        binary, tmp_path / "profile-s", f"--window-size=1280,{min(int(metrics['scrollHeight']) + 40, 16_000)}",
        "--virtual-time-budget=10000", f"--screenshot={RECONCILIATION_SCREENSHOT}", html.as_uri(),
    )  # fmt: skip
    assert RECONCILIATION_SCREENSHOT.stat().st_size > 20_000
