"""The audit chain over a life cycle touching every record kind, pause, and odd tokens
(docs/ledger-spec.md, "Audit trail", "Roles")."""

from __future__ import annotations

import ape
import pytest
from conftest import deploy_ledger, terms_tuple
from ledger_expect import CLOSED, DAY, PERIOD, check_conservation, policy_tuple, recompute_audit_chain

from pylender import schedule

EVERY_RECORD = {
    "AccessChanged",
    "InstitutionRegistered",
    "PolicyUpdated",
    "LoanOriginated",
    "TrancheFunded",
    "LoanCancelled",
    "LoanDisbursed",
    "RepaymentApplied",
    "PrepaymentApplied",
    "Withdrawn",
    "LoanDefaulted",
    "LoanWrittenOff",
    "RecoveryApplied",
    "LedgerPaused",
    "LedgerUnpaused",
}


def test_role_changes_are_audit_records_from_the_deployment_on(ledger, admin, originator, stranger, institutions):
    deployment = ledger.creation_metadata.receipt.events
    assert [e.event_name for e in deployment if e.event_name in EVERY_RECORD] == ["AccessChanged", "PolicyUpdated"]
    first = deployment.filter(ledger.AccessChanged)[0]
    assert (first.role, first.account, first.by, first.granted) == (b"\x00" * 32, admin, admin, True)
    assert tuple(deployment.filter(ledger.PolicyUpdated)[0].policy) == policy_tuple()
    before = recompute_audit_chain(ledger, ape.chain.provider.web3)
    # the fixtures' three grants are records; registerInstitution's LENDER_ROLE grant is not a second record
    assert [n for n, _ in before] == ["AccessChanged", "PolicyUpdated", *["AccessChanged"] * 3] + [
        "InstitutionRegistered"
    ] * 3

    role = ledger.ORIGINATOR_ROLE()
    changes = [
        ledger.grantRole(role, stranger, sender=admin),
        ledger.renounceRole(role, stranger, sender=stranger),
        ledger.grantRole(ledger.SERVICER_ROLE(), stranger, sender=admin),
        ledger.revokeRole(ledger.SERVICER_ROLE(), stranger, sender=admin),
    ]
    events = [tx.events.filter(ledger.AccessChanged) for tx in changes]
    assert [(e[0].role, e[0].account, e[0].by, e[0].granted) for e in events] == [
        (role, stranger, admin, True),
        (role, stranger, stranger, False),
        (ledger.SERVICER_ROLE(), stranger, admin, True),
        (ledger.SERVICER_ROLE(), stranger, admin, False),
    ]
    head = ledger.auditHead()
    noop = ledger.grantRole(ledger.ORIGINATOR_ROLE(), originator, sender=admin)  # already held: nothing changes
    assert not noop.events.filter(ledger.AccessChanged) and ledger.auditHead() == head
    after = recompute_audit_chain(ledger, ape.chain.provider.web3)  # every head recomputes, the last is on chain
    assert [n for n, _ in after[len(before) :]] == ["AccessChanged"] * 4


def test_every_record_kind_chains_into_the_on_chain_head(
    ledger,
    admin,
    originator,
    servicer,
    pauser,
    borrower,
    stranger,
    bank,
    platform,
    make_loan,
    originate,
    chain,
    conserve,
):
    ledger.setPolicy(policy_tuple(), sender=admin)
    cancelled = originate()
    ledger.cancel(cancelled, sender=originator)
    repaid = make_loan(principal=500_000, periods=3, prepaymentFeeBps=50, reserveBps=500)
    loan = ledger.getLoan(repaid)
    rows = schedule.build_schedule(500_000, 1200, PERIOD, 3, 0, start=loan.disbursedAt)
    chain.pending_timestamp = rows[0].due
    ledger.repay(repaid, rows[0].payment, sender=borrower)
    ledger.prepay(repaid, rows[0].outstanding_after, sender=borrower)
    ledger.pause(sender=pauser)
    ledger.grantRole(ledger.PAUSER_ROLE(), stranger, sender=admin)  # governance goes on while paused
    ledger.unpause(sender=stranger)
    ledger.withdraw(sender=bank)
    defaulted = make_loan()
    chain.pending_timestamp = chain.pending_timestamp + PERIOD + 94 * DAY
    ledger.markDefault(defaulted, sender=servicer)
    ledger.recover(defaulted, 1_001, sender=stranger)
    ledger.writeOff(defaulted, sender=servicer)
    ledger.recover(defaulted, 999, sender=stranger)
    conserve()

    records = recompute_audit_chain(ledger, ape.chain.provider.web3)
    assert {name for name, _ in records} == EVERY_RECORD
    seqs = [int.from_bytes(head, "big") & (2**56 - 1) for _, head in records]
    assert seqs == list(range(1, len(records) + 1))  # no gaps, in log order


def test_pause_freezes_outflows_and_admin_but_never_refuses_a_payment(
    ledger, pauser, stranger, borrower, bank, servicer, originator, make_loan, originate, chain, conserve
):
    """docs/ledger-spec.md, "Roles": a pause freezes withdrawals, disbursements, origination, funding, defaults and
    write-offs, but borrower-funded inflows stay open, so the ledger never charges penalty or allows a default for
    time it refused a payment."""
    loan_id = make_loan()
    pending = originate()
    with ape.reverts(ledger.AccessControlUnauthorizedAccount, account=stranger.address):
        ledger.pause(sender=stranger)
    tx = ledger.pause(sender=pauser)
    [event] = tx.events.filter(ledger.LedgerPaused)
    assert event.account == pauser.address and event.head == ledger.auditHead()
    with ape.reverts(ledger.EnforcedPause):
        ledger.withdraw(sender=bank)
    with ape.reverts(ledger.EnforcedPause):
        ledger.withdrawTo(stranger, sender=bank)
    with ape.reverts(ledger.EnforcedPause):
        ledger.fund(pending, sender=bank)
    with ape.reverts(ledger.EnforcedPause):
        ledger.cancel(pending, sender=originator)
    with ape.reverts(ledger.EnforcedPause):
        ledger.markDefault(loan_id, sender=servicer)
    ledger.repay(loan_id, 100, sender=borrower)  # inflows stay open
    ledger.repayBatch([loan_id], [100], sender=servicer)
    assert ledger.getLoan(loan_id).interestPaid == 200
    conserve()
    with ape.reverts(ledger.AccessControlUnauthorizedAccount, account=stranger.address):
        ledger.unpause(sender=stranger)
    ledger.unpause(sender=pauser)
    ledger.withdraw(sender=bank)
    conserve()


def _deploy_with(project, admin, originator, token, unit: int):
    ledger = deploy_ledger(admin, token, policy_tuple(maxPrincipal=200_000 * unit, maxLenderExposure=10_000_000 * unit))
    ledger.grantRole(ledger.ORIGINATOR_ROLE(), originator, sender=admin)
    return ledger


@pytest.mark.parametrize(("kind", "decimals"), [("NoReturnToken", 6), ("DecimalsToken", 0), ("DecimalsToken", 18)])
def test_full_cycle_with_usdt_like_and_odd_decimal_tokens(
    project, admin, originator, bank, platform, borrower, chain, kind, decimals
):
    token = (
        admin.deploy(project.NoReturnToken)
        if kind == "NoReturnToken"
        else admin.deploy(project.DecimalsToken, decimals)
    )
    unit = 10**decimals
    ledger = _deploy_with(project, admin, originator, token, unit)
    ledger.registerInstitution(bank, "Bank", False, sender=admin)
    ledger.registerInstitution(platform, "Platform", True, sender=admin)
    principal = 150_000 * unit + 1
    for who in (bank, platform, borrower):
        token.mint(who, 1_000_000 * unit, sender=admin)
        token.approve(ledger, 2**256 - 1, sender=who)
    terms = {
        "borrower": borrower.address,
        "borrowerId": b"\x22" * 32,
        "principal": principal,
        "annualRateBps": 2300,  # below the cap: a 0-decimal token rounds each interest up by up to a whole unit
        "periods": 2,
        "periodSeconds": PERIOD,
        "method": 0,
        "gracePeriod": 0,
        "penaltyRateBps": 0,
        "prepaymentFeeBps": 0,
        "serviceFeeBps": 0,
        "feeRecipient": "0x" + "00" * 20,
        "reserveBps": 0,
        "fundingDeadline": chain.pending_timestamp + DAY,
    }
    ledger.originate(terms_tuple(terms), [(bank, 6000), (platform, 4000)], sender=originator)
    ledger.fund(1, sender=bank)
    ledger.fund(1, sender=platform)
    ledger.disburse(1, sender=originator)
    check_conservation(ledger, token)
    rows = schedule.build_schedule(principal, 2300, PERIOD, 2, 0, start=ledger.getLoan(1).disbursedAt)
    for row in rows:
        chain.pending_timestamp = row.due
        ledger.repay(1, row.payment, sender=borrower)
        check_conservation(ledger, token)
    assert ledger.getLoan(1).status == CLOSED
    before = token.balanceOf(platform)
    ledger.withdraw(sender=platform)
    interest = sum(r.interest for r in rows)
    assert token.balanceOf(platform) - before == interest * 4000 // 10_000 + principal * 4000 // 10_000
    ledger.withdraw(sender=bank)
    assert token.balanceOf(ledger) == 0
    check_conservation(ledger, token)


def test_fee_on_transfer_tokens_are_rejected(project, admin, originator, bank, borrower, chain):
    token = admin.deploy(project.FeeOnTransferToken)
    ledger = _deploy_with(project, admin, originator, token, 10**6)
    ledger.registerInstitution(bank, "Bank", False, sender=admin)
    token.mint(bank, 10**12, sender=admin)
    token.approve(ledger, 2**256 - 1, sender=bank)
    terms = {
        "borrower": borrower.address,
        "borrowerId": b"\x33" * 32,
        "principal": 100_000,
        "annualRateBps": 1000,
        "periods": 1,
        "periodSeconds": PERIOD,
        "method": 2,
        "gracePeriod": 0,
        "penaltyRateBps": 0,
        "prepaymentFeeBps": 0,
        "serviceFeeBps": 0,
        "feeRecipient": "0x" + "00" * 20,
        "reserveBps": 0,
        "fundingDeadline": chain.pending_timestamp + DAY,
    }
    ledger.originate(terms_tuple(terms), [(bank, 10_000)], sender=originator)
    with ape.reverts(ledger.UnexpectedTransferAmount, expected=100_000, received=99_000):
        ledger.fund(1, sender=bank)


def test_constructor_rejects_zero_addresses(admin, token):
    with ape.reverts():
        deploy_ledger(admin, "0x" + "00" * 20, policy_tuple())
    with ape.reverts():
        deploy_ledger(admin, token, policy_tuple(), admin="0x" + "00" * 20)
