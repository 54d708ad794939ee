"""End to end on anvil: a real ledger's trail verifies, reconciles, survives interruption, exports and tampering."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from audit_anvil import ANVIL, Chain, InterruptingProvider, anvil, deploy, scenario
from click.testing import CliRunner
from web3 import HTTPProvider, Web3

from pylender.audit.cli import audit
from pylender.audit.export import write_export
from pylender.audit.fetch import FetchConfig
from pylender.audit.frames import lender_flows_frame
from pylender.audit.index import AuditIndex
from pylender.audit.records import build_chain, format_head
from pylender.audit.verify import audit_ledger, verify_file, verify_ledger

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ANVIL.exists(), reason="anvil (npm) not installed")]

# deployment: admin grant + first policy; 3 role grants, 2 institutions, 1 policy, loan 1: 9, loan 2: 9
# (pause/unpause included), loan 3: 3, 1 withdrawal
RECORDS = 29
LOSS = 500_000 - 591 - 123_457  # written off − absorbed by the bank's reserve − recovered


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[str, Chain]]:
    with anvil() as (url, _proc):
        c = deploy(url)
        scenario(c)
        yield url, c


def test_the_trail_verifies_and_reconciles_with_every_view(chain: tuple[str, Chain]) -> None:
    _, c = chain
    run = audit_ledger(c.w3, c.ledger.address, from_block=c.deploy_block)
    assert run.result.ok, [f.describe() for f in run.result.findings]
    assert run.result.compared_views and run.result.replayed
    assert (run.result.records, run.result.last_seq, run.result.loans_checked) == (RECORDS, RECORDS, 3)
    assert (
        run.result.computed_head
        == run.result.onchain_head
        == format_head(int.from_bytes(c.ledger.functions.auditHead().call(), "big"))
    )
    assert run.books.accounts[c.bank].loss == LOSS == c.ledger.functions.accountOf(c.bank).call()[4]
    balance = c.token.functions.balanceOf(c.ledger.address).call()
    assert run.books.expected_balance == run.books.conserved_balance == balance
    flows = lender_flows_frame(run.books)
    principal = flows[flows["loan_id"] == 1].groupby(["account", "component"])["amount"].sum()
    assert (principal[(c.bank, "principal")], principal[(c.platform, "principal")]) == (700_002, 300_000)
    assert run.books.books.position(1, c.bank)["principal_credited"] == 700_003  # the lead took the leftover unit
    assert c.ledger.functions.positionOf(1, c.bank).call()[6] == 700_003


def test_confirmations_verify_the_ledger_as_it_was_at_the_final_block(chain: tuple[str, Chain]) -> None:
    _, c = chain
    result = verify_ledger(c.w3, c.ledger.address, from_block=c.deploy_block, confirmations=2)
    assert result.ok, [f.describe() for f in result.findings]
    assert result.final_block == c.w3.eth.block_number - 2
    assert result.records == RECORDS - 2  # the cancellation and the withdrawal are not final yet


def test_an_interrupted_indexed_verify_resumes_and_a_rerun_reads_only_new_blocks(
    chain: tuple[str, Chain], tmp_path: Path
) -> None:
    url, c = chain
    path = tmp_path / "audit.sqlite"
    config = FetchConfig(chunk_size=8, grow_after=1000)
    broken = Web3(InterruptingProvider(url, interrupt_at=3))
    with pytest.raises(KeyboardInterrupt):
        verify_ledger(broken, c.ledger.address, from_block=c.deploy_block, index_path=path, fetch_config=config)
    with AuditIndex(path, c.ledger.address, 31337) as index:
        stored_through = index.fetched_block
        assert stored_through == c.deploy_block + 15  # two chunks of 8 blocks committed
    resumed = InterruptingProvider(url)
    result = verify_ledger(
        Web3(resumed), c.ledger.address, from_block=c.deploy_block, index_path=path, fetch_config=config
    )
    assert result.ok and result.records == RECORDS
    assert resumed.queries[0][0] == stored_through + 1
    final = result.final_block
    assert final is not None
    c.send(c.ledger.functions.withdraw(), c.bank)
    again = InterruptingProvider(url)
    result = verify_ledger(Web3(again), c.ledger.address, from_block=c.deploy_block, index_path=path)
    assert result.ok and result.records == RECORDS + 1
    assert again.queries == [(final + 1, c.w3.eth.block_number)]


def test_an_export_checks_against_the_chain_and_tampering_is_named(chain: tuple[str, Chain], tmp_path: Path) -> None:
    _, c = chain
    run = audit_ledger(c.w3, c.ledger.address, from_block=c.deploy_block)
    path = write_export(
        run.records, tmp_path / "trail.json", "json", catalog=None, ledger=c.ledger.address, chain_id=31337
    )
    assert verify_file(path, w3=c.w3, ledger=c.ledger.address).ok
    doc = json.loads(path.read_text())
    repayment = next(r for r in doc["records"] if r["kind"] == "RepaymentApplied")
    repayment["fields"]["breakdown"]["principalPaid"] -= 1
    path.write_text(json.dumps(doc))
    result = verify_file(path, w3=c.w3, ledger=c.ledger.address)
    assert [(f.check, f.seq) for f in result.findings if f.check == "chain"] == [("chain", repayment["seq"])]
    # a forger who rehashes an appended record still cannot reach the ledger's head
    honest = write_export(run.records, tmp_path / "honest.json", "json", ledger=c.ledger.address)
    from pylender.audit.events import EventCatalog
    from pylender.audit.ingest import load_ledger_abi

    catalog = EventCatalog.from_abi(load_ledger_abi())
    fields = {"account": c.platform, "to": c.platform, "amount": 1}
    head = build_chain(catalog, [("Withdrawn", fields)], start_head=run.records[-1].head)[0]
    doc = json.loads(honest.read_text())
    doc["records"].append(
        {
            **doc["records"][-1],
            "seq": len(run.records) + 1,
            "kind": "Withdrawn",
            "loan_id": None,
            "fields": fields,
            "head": format_head(head),
        }
    )
    honest.write_text(json.dumps(doc))
    result = verify_file(honest, w3=c.w3, ledger=c.ledger.address)
    assert [(f.check, f.seq) for f in result.findings if f.check != "replay"] == [("head", len(run.records) + 1)]


def test_the_cli_verifies_exports_traces_and_reports(chain: tuple[str, Chain], tmp_path: Path) -> None:
    url, c = chain
    runner = CliRunner()
    base = [
        "--rpc",
        url,
        "--ledger",
        c.ledger.address,
        "--from-block",
        str(c.deploy_block),
        "--deployment",
        str(tmp_path / "none.json"),
    ]
    out = runner.invoke(audit, ["verify", *base, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["ok"] is True
    export = tmp_path / "t.csv"
    assert runner.invoke(audit, ["export", *base, "--format", "csv", "--out", str(export)]).exit_code == 0
    offline = runner.invoke(audit, ["verify", "--file", str(export), "--deployment", str(tmp_path / "none.json")])
    # consistent, but nothing trusted says where the trail ends: never "complete" or "PASSED"
    assert offline.exit_code == 3, offline.output
    assert "NOT PROVEN COMPLETE" in offline.output and "PASSED" not in offline.output
    with export.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[9]["kind"] == "TrancheFunded" and rows[9]["seq"] == "10"  # the bank funds loan 1
    fields = json.loads(rows[9]["fields"])
    fields["amount"] += 1
    rows[9]["fields"] = json.dumps(fields)
    with export.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    bad = runner.invoke(
        audit,
        [
            "verify",
            "--file",
            str(export),
            "--rpc",
            url,
            "--ledger",
            c.ledger.address,
            "--deployment",
            str(tmp_path / "none.json"),
        ],
    )
    assert bad.exit_code == 1 and "seq 10" in bad.output
    trail = runner.invoke(audit, ["trail", "2", *base])
    assert trail.exit_code == 0 and "written off" in trail.output and "LoanDefaulted" in trail.output
    roles = runner.invoke(audit, ["roles", *base, "--json"])
    assert roles.exit_code == 0, roles.output
    held = json.loads(roles.output)
    assert sorted(h["role"] for h in held["holders"]) == sorted(
        ["DEFAULT_ADMIN_ROLE", "ORIGINATOR_ROLE", "SERVICER_ROLE", "PAUSER_ROLE", "LENDER_ROLE", "LENDER_ROLE"]
    )
    assert [(x["seq"], x["role"], x["change"]) for x in held["changes"]] == [
        (1, "DEFAULT_ADMIN_ROLE", "granted"),
        (3, "ORIGINATOR_ROLE", "granted"),
        (4, "SERVICER_ROLE", "granted"),
        (5, "PAUSER_ROLE", "granted"),
    ]
    lender = runner.invoke(audit, ["lender", c.bank, *base, "--json"])
    assert lender.exit_code == 0
    assert sum(x["amount"] for x in json.loads(lender.output) if x["component"] == "recovery") == 123_457
    html = tmp_path / "report.html"
    rep = runner.invoke(audit, ["report", *base, "--html", str(html)])
    assert rep.exit_code == 0, rep.output
    # charts: per institution, by status, overdue buckets, collections over time, losses
    assert "VERIFIED" in html.read_text() and html.read_text().count("<svg") == 5
    roles = html.read_text().split("<h2>Roles</h2>")[1].split("<h2>")[0]
    # the deployment's admin grant and the originator, servicer and pauser grants, each a row of both tables
    assert all(roles.count(name) == 2 for name in ("DEFAULT_ADMIN_ROLE", "ORIGINATOR_ROLE", "PAUSER_ROLE"))
    assert roles.count(">granted</td>") == 4 and roles.count(">LENDER_ROLE</td>") == 2  # two institutions


def test_mounted_under_the_main_cli_it_takes_the_root_rpc(chain: tuple[str, Chain], tmp_path: Path) -> None:
    from pylender.cli import cli

    url, c = chain
    args = [
        "--rpc",
        url,
        "--deployment",
        str(tmp_path / "none.json"),
        "audit",
        "verify",
        "--ledger",
        c.ledger.address,
        "--from-block",
        str(c.deploy_block),
        "--no-positions",
        "--json",
    ]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    full = json.loads(out.output)
    assert full["records"] >= RECORDS and full["compared_views"] is True
    # --no-views: the same proof and replay, no reconciliation; said so in the human output too
    lean = json.loads(CliRunner().invoke(cli, [*args, "--no-views"]).output)
    assert lean["compared_views"] is False and lean["ok"] is True
    assert (lean["records"], lean["computed_head"], lean["loans_checked"]) == (
        full["records"],
        full["computed_head"],
        full["loans_checked"],
    )
    human = CliRunner().invoke(cli, [a for a in args if a != "--json"] + ["--no-views"])
    assert human.exit_code == 0 and "views not compared (--no-views)" in human.output


class RangeLimitedProvider(HTTPProvider):
    """anvil behind a provider that refuses eth_getLogs over more than ``limit`` blocks, as hosted RPCs do.

    (test_fetch covers the 1,000-block limit over 5,000 blocks; mining that many anvil blocks takes ~25 s.)
    """

    def __init__(self, url: str, limit: int = 10) -> None:
        super().__init__(url)
        self.limit = limit
        self.served: list[tuple[int, int]] = []
        self.refused = 0

    def make_request(self, method: Any, params: Any) -> Any:
        if method == "eth_getLogs":
            start, end = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
            if end - start + 1 > self.limit:
                self.refused += 1
                return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": "block range too large"}}
            self.served.append((start, end))
        return super().make_request(method, params)


def test_a_provider_refusing_wide_ranges_still_yields_a_complete_verification(chain: tuple[str, Chain]) -> None:
    url, c = chain
    provider = RangeLimitedProvider(url, limit=10)
    result = verify_ledger(Web3(provider), c.ledger.address, fetch_config=FetchConfig(chunk_size=50_000))
    assert result.ok, [f.describe() for f in result.findings]
    assert result.records == int.from_bytes(c.ledger.functions.auditHead().call(), "big") & (2**56 - 1)
    assert provider.refused >= 1 and all(b - a + 1 <= 10 for a, b in provider.served)
    assert provider.served[0][0] == 0 and provider.served[-1][1] == c.w3.eth.block_number


def test_fast_chain_equals_eth_abi_chain_on_the_real_trail(chain: tuple[str, Chain]) -> None:
    from pylender.audit.chain import ChainChecker
    from pylender.audit.events import EventCatalog
    from pylender.audit.fetch import LogFetcher
    from pylender.audit.ingest import load_ledger_abi
    from pylender.audit.layout import layout_of
    from pylender.audit.records import LogDecoder

    _, c = chain
    catalog = EventCatalog.from_abi(load_ledger_abi())
    fetcher = LogFetcher(c.w3, c.ledger.address, catalog.topics)
    logs = fetcher.fetch(c.deploy_block, fetcher.latest_block())
    records, bodies = LogDecoder(catalog).decode_all_chained(logs)
    assert len(records) >= RECORDS and all(b is not None for b in bodies)
    kinds = {r.kind for r in records}
    assert {"InstitutionRegistered", "LoanOriginated", "RepaymentApplied", "LoanWrittenOff"} <= kinds
    assert all(layout_of(catalog.by_name(k)).fast_chain for k in kinds)
    fast, slow = ChainChecker(catalog), ChainChecker(catalog)
    for record, body in zip(records, bodies, strict=True):
        assert fast.feed(record, body) and slow.feed(record), record.kind
        assert fast.head == slow.head == record.head


def test_batched_views_equal_web3_calls(chain: tuple[str, Chain]) -> None:
    from pylender.audit.ingest import load_ledger_abi
    from pylender.audit.views import LedgerViews

    _, c = chain
    views = LedgerViews(c.w3, c.ledger.address, load_ledger_abi(), batch_size=3)
    calls = [
        ("getLoan", (1,)),
        ("getLoan", (3,)),
        ("positionOf", (1, c.bank)),
        ("accountOf", (c.bank,)),
        ("institutionAt", (2,)),
        ("loanCount", ()),
        ("token", ()),
    ]
    before = views.requests
    batched = views.call_many(calls)
    assert views.requests - before == 3  # 7 calls in batches of 3
    assert batched == [views.call(name, *args) for name, args in calls]


def test_batched_views_through_a_provider_without_http_transport(chain: tuple[str, Chain]) -> None:
    from web3.providers.base import BaseProvider

    from pylender.audit.ingest import load_ledger_abi
    from pylender.audit.views import LedgerViews

    url, c = chain

    class OneByOne(BaseProvider):  # neither raw HTTP nor batch support: one request per call
        def __init__(self) -> None:
            super().__init__()
            self.inner = HTTPProvider(url)

        def make_request(self, method: Any, params: Any) -> Any:
            return self.inner.make_request(method, params)

    views = LedgerViews(Web3(OneByOne()), c.ledger.address, load_ledger_abi())
    calls = [("getLoan", (2,)), ("creditRecord", (c.ledger.functions.getLoan(2).call()[3],)), ("institutionCount", ())]
    reference = LedgerViews(c.w3, c.ledger.address, load_ledger_abi())
    assert views.call_many(calls) == reference.call_many(calls)


def test_views_read_while_replaying_give_the_same_findings_as_read_after(chain: tuple[str, Chain]) -> None:
    from pylender.audit.prefetch import prefetch_views
    from pylender.audit.reconcile import compare_views

    _, c = chain
    run = audit_ledger(c.w3, c.ledger.address, from_block=c.deploy_block)
    cache = prefetch_views(run.views, run.records)
    assert compare_views(run.views, run.books, cache=cache) == compare_views(run.views, run.books) == []
    forged = {**cache, ("accountOf", (c.bank,)): {**cache[("accountOf", (c.bank,))], "loss": 1}}
    [finding] = compare_views(run.views, run.books, cache=forged)
    assert (finding.subject, finding.field, finding.found) == (f"account {c.bank}", "loss", "1")


def test_positions_read_from_the_records_lenders_leave_compare_views_nothing_to_fetch(
    chain: tuple[str, Chain],
) -> None:
    from pylender.audit.prefetch import prefetch_from_records, prefetch_ledger_views
    from pylender.audit.reconcile import compare_views

    _, c = chain
    run = audit_ledger(c.w3, c.ledger.address, from_block=c.deploy_block)
    cache = prefetch_ledger_views(run.views, positions=False)
    assert not any(key[0] in ("positionOf", "getTranches") for key in cache)
    held = prefetch_from_records(run.views, run.records)
    lenders = [(loan.loan_id, lender) for loan in run.books.loans.values() for lender in loan.lenders]
    roles = sorted(run.books.role_history)
    assert len(roles) == 6  # the admin, originator, servicer and pauser grants; two institutions' LENDER_ROLE
    assert sorted(held) == sorted([("positionOf", key) for key in lenders] + [("hasRole", key) for key in roles])
    assert [held[("hasRole", key)] for key in roles] == [True] * 6
    before = run.views.requests
    assert compare_views(run.views, run.books, cache={**cache, **held}) == []
    assert run.views.requests == before  # every view compare_views reads was prefetched


def test_many_views_read_through_the_lens_equal_plain_calls(chain: tuple[str, Chain]) -> None:
    from pylender.audit.ingest import load_ledger_abi
    from pylender.audit.views import LENS_MIN_CALLS, LedgerViews

    _, c = chain
    calls = [("getLoan", (i,)) for i in (1, 2, 3)] + [("positionOf", (1, c.bank)), ("accountOf", (c.platform,))]
    calls = calls * (LENS_MIN_CALLS // len(calls) + 1)
    lensed = LedgerViews(c.w3, c.ledger.address, load_ledger_abi())
    plain = LedgerViews(c.w3, c.ledger.address, load_ledger_abi(), lens=False)
    assert lensed.call_many(calls) == plain.call_many(calls)
    assert lensed.lens is not None and (lensed.lens.calls, lensed.requests) == (1, 1)
    assert plain.requests == 1 and plain.lens is None  # one batch of 35 plain eth_calls


def test_a_view_that_fails_inside_the_lens_raises_the_nodes_own_error(chain: tuple[str, Chain]) -> None:
    from pylender.audit.ingest import load_ledger_abi
    from pylender.audit.views import LENS_MIN_CALLS, LedgerViews
    from pylender.errors import AuditError

    _, c = chain
    views = LedgerViews(c.w3, c.ledger.address, load_ledger_abi())
    calls = [("getLoan", (1,))] * LENS_MIN_CALLS + [("prepaymentQuote", (1, 0))]  # reverts ZeroAmount()
    with pytest.raises(AuditError, match=r"view prepaymentQuote\(1, 0\) failed at block"):
        views.call_many(calls)


def test_a_lens_chunk_refused_for_gas_is_halved_and_a_node_without_the_lens_gets_plain_calls(
    chain: tuple[str, Chain],
) -> None:
    from pylender.audit.ingest import load_ledger_abi
    from pylender.audit.views import LENS_MIN_CALLS, LedgerViews

    _, c = chain
    calls = [("getLoan", (1 + i % 3,)) for i in range(LENS_MIN_CALLS * 2)]
    reference = LedgerViews(c.w3, c.ledger.address, load_ledger_abi(), lens=False).call_many(calls)
    views = LedgerViews(c.w3, c.ledger.address, load_ledger_abi())
    assert views.lens is not None
    sizes: list[int] = []
    send = views.lens.send

    def capped(requests: list[tuple[str, list[Any]]]) -> list[Any]:  # a node whose gas cap fits 20 calls
        out = []
        for request, answer in zip(requests, send(requests), strict=True):
            size = (len(request[1][0]["data"]) - 2) // 2
            sizes.append(size)
            out.append({"error": {"code": -32000, "message": "out of gas"}} if size > 4_000 else answer)
        return out

    views.lens.send = capped
    assert views.call_many(calls) == reference
    assert views.lens.enabled and views.lens.calls > 1 and max(sizes) > 4_000
    refused = LedgerViews(c.w3, c.ledger.address, load_ledger_abi())
    assert refused.lens is not None
    refused.lens.send = lambda requests: [
        {"error": {"code": -32601, "message": "creation not allowed"}} for _ in requests
    ]
    assert refused.call_many(calls) == reference and not refused.lens.enabled


def test_role_members_the_trail_leaves_are_compared_with_has_role(chain: tuple[str, Chain]) -> None:
    from pylender.audit.reconcile import compare_views
    from pylender.values import role_id

    _, c = chain
    run = audit_ledger(c.w3, c.ledger.address, from_block=c.deploy_block)
    admin_role = "0x" + role_id("DEFAULT_ADMIN_ROLE").hex()
    (admin,) = run.books.roles[admin_role]
    assert c.ledger.functions.hasRole(role_id("DEFAULT_ADMIN_ROLE"), admin).call()
    run.books.roles[admin_role].discard(admin)  # as if a revocation were recorded that the chain never made
    findings = compare_views(run.views, run.books)
    assert [(f.check, f.subject, f.field, f.expected, f.found) for f in findings] == [
        ("view", "role DEFAULT_ADMIN_ROLE", admin, "False", "True")
    ]


def test_the_snapshot_says_what_the_single_views_say_and_the_audit_reads_only_it(chain: tuple[str, Chain]) -> None:
    from pylender.audit.reconcile import compare_views
    from pylender.audit.snapshot import LOAN_WORD_NAMES, LOAN_WORDS, TRANCHE_WORDS, expected_words
    from pylender.audit.views import SNAPSHOT

    _, c = chain
    run = audit_ledger(c.w3, c.ledger.address, from_block=c.deploy_block)
    snapshot = run.views.snapshot(3)
    assert snapshot is not None and sorted(snapshot) == [1, 2, 3]
    for loan_id, words in snapshot.items():
        assert words == expected_words(run.books, run.books.loans[loan_id])
        loan = run.views.call("getLoan", loan_id)
        assert words[: LOAN_WORDS - 1] == [loan_id, loan["status"], int(loan["borrowerId"], 16)] + [
            loan[name] for name in LOAN_WORD_NAMES[3:-1]
        ]
        for t, tranche in enumerate(run.views.call("getTranches", loan_id)):
            position = run.views.call("positionOf", loan_id, tranche["lender"])
            assert words[LOAN_WORDS + t * TRANCHE_WORDS :][:TRANCHE_WORDS] == [
                int(tranche["lender"], 16),
                tranche["shareBps"],
                int(tranche["funded"]),
                position["incomeCredited"],
                position["reserveHeld"],
                position["principalCredited"],
                position["recoveredCredited"],
            ]
    before = run.views.requests
    assert compare_views(run.views, run.books) == []
    assert run.views.requests - before == 5  # counts; the snapshot; institutions, accounts, credit; roles; balance
    forged = {1: list(snapshot[1]), 2: snapshot[2], 3: snapshot[3]}
    forged[1][LOAN_WORDS + 6] += 1  # the lead's recoveredCredited
    [finding] = compare_views(run.views, run.books, cache={SNAPSHOT: forged})
    assert (finding.subject, finding.field, finding.found) == (f"loan 1 position {c.bank}", "recoveredCredited", "1")


def test_a_ledger_without_the_snapshot_view_is_reconciled_through_the_single_views(chain: tuple[str, Chain]) -> None:
    from pylender.audit.ingest import load_ledger_abi
    from pylender.audit.reconcile import compare_views
    from pylender.audit.views import LedgerViews

    _, c = chain
    run = audit_ledger(c.w3, c.ledger.address, from_block=c.deploy_block)
    older_abi = [e for e in load_ledger_abi() if e.get("name") != "auditSnapshot"]
    older = LedgerViews(c.w3, c.ledger.address, older_abi)
    assert not older.has_snapshot() and older.snapshot(3) is None
    assert compare_views(older, run.books) == []
    run.books.loans[2].book.recovered += 1  # the same forgery, now found through getLoan
    assert [(f.subject, f.field) for f in compare_views(older, run.books)][:1] == [("loan 2", "recovered")]
    # a contract without the function reverts with no data: the audit falls back instead of failing
    assert LedgerViews(c.w3, c.token.address, load_ledger_abi()).snapshot(3) is None


def test_a_snapshot_call_refused_for_gas_is_halved_until_it_fits(chain: tuple[str, Chain]) -> None:
    from web3.providers.base import BaseProvider

    from pylender.audit.ingest import load_ledger_abi
    from pylender.audit.views import LedgerViews

    url, c = chain
    reference = LedgerViews(c.w3, c.ledger.address, load_ledger_abi()).snapshot(3)
    selector = LedgerViews(c.w3, c.ledger.address, load_ledger_abi()).function("auditSnapshot").calldata((1, 1))[:10]
    asked: list[int] = []

    class OneLoanAtATime(BaseProvider):  # a node whose gas cap fits one loan's snapshot
        def __init__(self) -> None:
            super().__init__()
            self.inner = HTTPProvider(url)

        def make_request(self, method: Any, params: Any) -> Any:
            data = params[0].get("data", "") if method == "eth_call" else ""
            if data.startswith(selector):
                count = int(data[-64:], 16)
                asked.append(count)
                if count > 1:
                    return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "out of gas"}}
            return self.inner.make_request(method, params)

    views = LedgerViews(Web3(OneLoanAtATime()), c.ledger.address, load_ledger_abi())
    assert views.snapshot(3) == reference
    assert asked == [3, 1, 2, 1, 1]  # (1, 3) refused; (1, 1) answered, (2, 2) refused and halved
