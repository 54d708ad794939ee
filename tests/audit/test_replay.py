"""Replaying a synthetic trail rebuilds every balance exactly; frames, trail, statement and report."""

from __future__ import annotations

import re

from audit_synthetic import ADMIN, BANK, PLATFORM, SERVICER, records

from pylender.audit.findings import VerificationResult
from pylender.audit.frames import accounts_frame, lender_flows_frame, loans_frame, records_frame
from pylender.audit.records import Record
from pylender.audit.replay import Status, replay
from pylender.audit.report import build_report, policy_breaches
from pylender.audit.trail import describe, lender_statement, loan_trail
from pylender.audit.verify import StreamReplay, verify_records
from pylender.values import role_id

# Loan 1 (1,000,003 at 12 %, 3 × 30 days, equal installments): interest 9,864 + 6,608 + 3,320 = 19,792;
# fee floor(19,792 × 10 %) = 1,979; lender income I = 17,813 -> bank floor(70 %) 12,469, platform 5,343,
# leftover 1 to the lead; principal: bank 700,002, platform 300,000, leftover 1 to the lead.
# Loan 2 (500,000 at 18 %, interest first, bank alone): interest 7,398, fee 20 % = 1,479, income 5,919 of which
# 591 (10 %) reserved; written off: loss 500,000, 591 absorbed, 100,000 recovered -> loss 399,409.
BANK_WITHDRAWABLE = 12_469 + 1 + 700_002 + 1 + 5_919 + 100_000
PLATFORM_WITHDRAWN = 1_979 + 5_343 + 300_000 + 1_479


def test_replay_rebuilds_every_institution_exactly(synthetic_records: list[Record]) -> None:
    books, findings = replay(synthetic_records)
    assert findings == []
    bank, platform = books.accounts[BANK], books.accounts[PLATFORM]
    assert (bank.withdrawable, bank.reserve, bank.loss, bank.exposure) == (BANK_WITHDRAWABLE, 0, 399_409, 0)
    assert (platform.withdrawable, platform.reserve, platform.loss) == (0, 0, 0)
    assert books.withdrawn(PLATFORM) == PLATFORM_WITHDRAWN
    assert books.expected_balance == books.conserved_balance == BANK_WITHDRAWABLE


def test_replay_rebuilds_every_loan(synthetic_records: list[Record]) -> None:
    books, _ = replay(synthetic_records)
    one, two = books.loans[1], books.loans[2]
    assert (one.status, one.outstanding, one.installment, one.book.undistributed()) == (Status.CLOSED, 0, 4, 0)
    assert (one.book.interest_paid, one.book.fee_paid, one.book.principal_paid) == (19_792, 1_979, 1_000_003)
    positions = [books.books.position(1, lender) for lender in (BANK, PLATFORM)]
    assert [(p["income_credited"], p["principal_credited"], p["reserve_held"]) for p in positions] == [
        (12_469 + 1, 700_002 + 1, 0),  # the lead took both leftover units at closure
        (5_343, 300_000, 0),
    ]
    assert (two.status, two.outstanding, two.book.written_off, two.book.recovered) == (
        Status.WRITTEN_OFF,
        0,
        500_000,
        100_000,
    )
    assert two.owed_at_default == 500_000 + 7_398 + 1_234
    assert books.books.position(2, BANK)["reserve_held"] == 0  # absorbed by the write-off


def test_a_record_that_contradicts_the_rules_is_a_replay_finding(synthetic_records: list[Record]) -> None:
    rec = synthetic_records[8]  # seq 9, a repayment of loan 1
    fields = {**rec.fields, "breakdown": {**rec.fields["breakdown"], "feePaid": rec.fields["breakdown"]["feePaid"] + 1}}
    altered = [*synthetic_records[:8], rec.model_copy(update={"fields": fields}), *synthetic_records[9:]]
    _, findings = replay(altered)
    assert [(f.seq, f.field, f.expected, f.found) for f in findings] == [
        (9, "feePaid", str(rec.fields["breakdown"]["feePaid"]), str(rec.fields["breakdown"]["feePaid"] + 1))
    ]


def test_replay_findings_are_part_of_the_verification(synthetic_records, synthetic_catalog) -> None:
    result, books = verify_records(synthetic_records, synthetic_catalog, trusted_head=synthetic_records[-1].head)
    assert result.ok and books is not None
    assert result.summary["loss"] == 399_409 and result.summary["expected_token_balance"] == BANK_WITHDRAWABLE


def _stream(chunks: list[list[Record]], everything: list[Record]) -> tuple[StreamReplay, VerificationResult]:
    stream, result = StreamReplay(), VerificationResult()
    for chunk in chunks:
        stream.feed(chunk)
    stream.finish(result, everything)
    return stream, result


def test_records_replayed_as_they_arrive_give_the_books_of_a_replay_at_the_end(
    synthetic_records, synthetic_catalog
) -> None:
    stream, streamed = _stream([synthetic_records[:4], [], synthetic_records[4:]], synthetic_records)
    at_end, _ = verify_records(synthetic_records, synthetic_catalog)
    assert stream.in_order
    assert streamed.summary == at_end.summary and streamed.summary["withdrawable"] == BANK_WITHDRAWABLE
    assert streamed.findings == [] and streamed.loans_checked == 2


def test_records_arriving_out_of_seq_order_are_replayed_sorted_as_a_whole(synthetic_records) -> None:
    # seq 9 (a repayment) altered and moved before seq 8: arrival order is no longer seq order
    rec = synthetic_records[8]
    fields = {**rec.fields, "breakdown": {**rec.fields["breakdown"], "feePaid": rec.fields["breakdown"]["feePaid"] + 1}}
    altered = rec.model_copy(update={"fields": fields})
    arrived = [*synthetic_records[:7], altered, synthetic_records[7], *synthetic_records[9:]]
    stream, streamed = _stream([arrived[:8], arrived[8:]], arrived)
    assert not stream.in_order
    books, findings = replay(sorted(arrived, key=lambda r: r.seq))
    assert [(f.seq, f.field) for f in streamed.findings] == [(f.seq, f.field) for f in findings] == [(9, "feePaid")]
    assert streamed.summary["withdrawable"] == sum(a.withdrawable for a in books.accounts.values())


def test_frames_hold_exact_integers(synthetic_records: list[Record]) -> None:
    frame = records_frame(synthetic_records)
    assert len(frame) == 20 and list(frame["seq"]) == list(range(1, 21))
    assert frame.loc[frame["seq"] == 9, "breakdown.interestPaid"].item() == 6_608
    flows = lender_flows_frame(synthetic_records, BANK)
    assert flows.groupby("component")["amount"].sum().to_dict() == {
        "absorbed": 591,
        "income": 12_469 - 623 + 5_919 - 591,
        "leftover": 1 + 1,
        "loss": -499_409 + 100_000,  # recorded at write-off, reduced by the recovery
        "principal": 700_002,
        "recovery": 100_000,
        "reserve": 623 + 591,
        "reserve-release": 623,
    }
    loans = loans_frame(synthetic_records)
    assert loans.set_index("loan_id")["status"].to_dict() == {1: "CLOSED", 2: "WRITTEN_OFF"}
    assert accounts_frame(synthetic_records).set_index("address").loc[BANK, "loss"] == 399_409


def test_trail_and_statement_follow_every_unit(synthetic_records: list[Record]) -> None:
    books, _ = replay(synthetic_records)
    trail = loan_trail(synthetic_records, books, 2)
    assert [e.kind for e in trail] == [
        "LoanOriginated",
        "TrancheFunded",
        "LoanDisbursed",
        "RepaymentApplied",
        "LoanDefaulted",
        "LoanWrittenOff",
        "RecoveryApplied",
    ]
    assert trail[3].credits == {f"{BANK} reserve": 591, f"{BANK} income": 5_328, f"{PLATFORM} fee": 1_479}
    assert "loss 500,000, 591 absorbed" in trail[5].text
    statement = lender_statement(books, PLATFORM)
    assert statement[-1].component == "withdrawal" and statement[-1].amount == -PLATFORM_WITHDRAWN
    assert statement[-1].balance == 0
    assert lender_statement(books, BANK)[-1].balance == BANK_WITHDRAWABLE


def test_report_is_self_contained_html_with_charts(synthetic_records, synthetic_catalog) -> None:
    result, books = verify_records(synthetic_records, synthetic_catalog)
    assert books is not None
    html = build_report(result, synthetic_records, books)
    # charts: per institution, by status, losses (no block times here: no overdue buckets, no time chart)
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 3
    # no trusted head was given: consistent, never "PASSED"
    assert "NOT PROVEN COMPLETE" in html and "PASSED" not in html and "399,409" in html
    # self-contained: no script, nothing fetched (the charts' only references are to their own elements)
    assert "<script" not in html and "@import" not in html and re.findall(r"url\((?!#)", html) == []
    assert re.findall(r'(?:href|src)="([^"#][^"]*)"', html) == []
    assert policy_breaches(synthetic_records) == []


def test_a_tightened_policy_lists_the_loans_that_now_breach_it(synthetic_catalog) -> None:
    from audit_synthetic import ADMIN, POLICY, events, records

    tighter = {**POLICY, "maxAnnualRateBps": 1_500, "minReserveBps": 600}
    trail = records([*events(), ("PolicyUpdated", {"admin": ADMIN, "policy": tighter})], synthetic_catalog)
    breaches = [(b.loan_id, b.policy, b.rule, b.value, b.limit) for b in policy_breaches(trail)]
    assert breaches == [
        (1, "latest", "reserve below minimum", 500, 600),
        (2, "latest", "annual rate above cap", 1_800, 1_500),
    ]


def test_role_changes_replay_to_each_roles_members_and_an_impossible_one_is_a_finding(synthetic_catalog) -> None:
    admin, servicer, lender = (
        "0x" + role_id(name).hex() for name in ("DEFAULT_ADMIN_ROLE", "SERVICER_ROLE", "LENDER_ROLE")
    )
    grant = ("AccessChanged", {"role": admin, "account": ADMIN, "by": ADMIN, "granted": True})
    life = [
        grant,
        ("AccessChanged", {"role": servicer, "account": SERVICER, "by": ADMIN, "granted": True}),
        ("InstitutionRegistered", {"index": 1, "account": BANK, "name": "Bank", "isPlatform": False}),
        ("AccessChanged", {"role": servicer, "account": SERVICER, "by": SERVICER, "granted": False}),
    ]
    recs = records(life, synthetic_catalog)
    books, findings = replay(recs)
    assert findings == [] and books.roles == {admin: {ADMIN}, servicer: set(), lender: {BANK}}
    assert describe(recs[3]).startswith("SERVICER_ROLE revoked from 0x15d3")

    # the ledger writes no record for a grant of a role already held: a second one contradicts the trail
    _, findings = replay(records([grant, grant], synthetic_catalog))
    assert [(f.seq, f.subject, f.field, f.expected, f.found) for f in findings] == [
        (2, f"role DEFAULT_ADMIN_ROLE of {ADMIN}", "held before", "False", "True")
    ]
