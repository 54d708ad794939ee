"""Institutions, policy and origination: every check of docs/ledger-spec.md "Institutions", "Policy", "Origination"."""

from __future__ import annotations

import ape
import pytest
from conftest import ZERO, terms_tuple
from ledger_expect import ORIGINATED, policy_tuple, recompute_audit_chain

from pylender import schedule
from pylender.values import loan_ref, loan_ref_text


def test_register_institution_assigns_indexes_grants_lender_role_and_records(ledger, admin, outsider, institutions):
    count_before = ledger.institutionCount()
    tx = ledger.registerInstitution(outsider, "Microlender", True, sender=admin)

    assert ledger.institutionCount() == count_before + 1 == 4
    assert ledger.institutionAt(4) == outsider.address
    assert ledger.hasRole(ledger.LENDER_ROLE(), outsider)
    account = ledger.accountOf(outsider)
    assert (account.index, account.isPlatform, account.name) == (4, True, "Microlender")
    assert (account.withdrawable, account.reserve, account.loss, account.exposure) == (0, 0, 0, 0)
    [event] = tx.events.filter(ledger.InstitutionRegistered)
    assert (event.index, event.account, event.name, event.isPlatform) == (4, outsider.address, "Microlender", True)
    assert event.head == ledger.auditHead()
    # 9th record: deployment (admin grant, first policy), 3 role grants, 3 institutions, this one - and only one
    # for it: its LENDER_ROLE grant is part of InstitutionRegistered
    assert not tx.events.filter(ledger.AccessChanged)
    assert int.from_bytes(bytes(ledger.auditHead()), "big") & (2**56 - 1) == 9


def test_register_institution_rejects_zero_duplicate_and_non_admin(ledger, admin, bank, outsider, institutions):
    with ape.reverts(ledger.ZeroAddress):
        ledger.registerInstitution(ZERO, "Nobody", False, sender=admin)
    with ape.reverts(ledger.InstitutionExists, account=bank.address):
        ledger.registerInstitution(bank, "Bank again", False, sender=admin)
    with ape.reverts(ledger.AccessControlUnauthorizedAccount, account=outsider.address):
        ledger.registerInstitution(outsider, "Self", False, sender=outsider)


def test_set_policy_replaces_the_policy_and_records_it(ledger, admin, stranger, institutions):
    params = policy_tuple(minPlatformShareBps=2000, maxAnnualRateBps=1800, minReserveBps=100)
    tx = ledger.setPolicy(params, sender=admin)

    assert tuple(ledger.policy()) == params
    [event] = tx.events.filter(ledger.PolicyUpdated)
    assert event.admin == admin.address and tuple(event.policy) == params
    with ape.reverts(ledger.AccessControlUnauthorizedAccount):
        ledger.setPolicy(params, sender=stranger)
    recompute_audit_chain(ledger, ape.chain.provider.web3)


def test_originate_stores_terms_tranches_and_records(ledger, originator, new_terms, bank, platform, third, conserve):
    terms = new_terms(principal=1_000_001)
    tx = ledger.originate(terms_tuple(terms), [(bank, 3334), (platform, 3333), (third, 3333)], sender=originator)

    assert ledger.loanCount() == 1
    loan = ledger.getLoan(1)
    assert loan.status == ORIGINATED
    assert (loan.principal, loan.periods, loan.annualRateBps, loan.borrowerId) == (
        1_000_001,
        12,
        1200,
        terms["borrowerId"],
    )
    tranches = ledger.getTranches(1)
    # non-lead floor(1_000_001 * 3333 / 10_000) = 333_300 each, the lead takes the rest
    assert [(t.lender, t.shareBps, t.amount, t.funded) for t in tranches] == [
        (bank.address, 3334, 1_000_001 - 2 * 333_300, False),
        (platform.address, 3333, 333_300, False),
        (third.address, 3333, 333_300, False),
    ]
    assert list(ledger.loansOf(terms["borrowerId"])) == [1]
    [event] = tx.events.filter(ledger.LoanOriginated)
    assert event.loanId == 1 and event.borrower == terms["borrower"]
    conserve()
    recompute_audit_chain(ledger, ape.chain.provider.web3)


@pytest.mark.parametrize(
    ("overrides", "error", "args"),
    [
        ({"borrower": ZERO}, "ZeroAddress", {}),
        ({"principal": 0}, "ZeroAmount", {}),
        ({"periods": 0}, "PeriodsOutOfRange", {"periods": 0, "maxPeriods": 600}),
        ({"periods": 601}, "PeriodsOutOfRange", {"periods": 601, "maxPeriods": 600}),
        ({"periodSeconds": 0}, "ZeroPeriodSeconds", {}),
        ({"serviceFeeBps": 100}, "FeeRecipientMismatch", {"feeRecipient": ZERO, "serviceFeeBps": 100}),
        ({"serviceFeeBps": 10_001, "feeRecipient": "platform"}, "ServiceFeeAboveWhole", {"serviceFeeBps": 10_001}),
        ({"prepaymentFeeBps": 10_001}, "PrepaymentFeeAboveWhole", {"prepaymentFeeBps": 10_001}),
        ({"reserveBps": 10_001}, "ReserveAboveWhole", {"reserveBps": 10_001}),
        ({"annualRateBps": 2401}, "RateAboveCap", {"rateBps": 2401, "capBps": 2400}),
        ({"penaltyRateBps": 3601}, "PenaltyRateAboveCap", {"rateBps": 3601, "capBps": 3600}),
        ({"principal": 200_000 * 10**6 + 1}, "PrincipalAboveCap", {"principal": 200_000 * 10**6 + 1}),
    ],
)
def test_originate_rejects_invalid_terms(ledger, originator, new_terms, bank, platform, overrides, error, args):
    if overrides.get("feeRecipient") == "platform":
        overrides["feeRecipient"] = platform.address
    terms = new_terms(**overrides)
    with ape.reverts(getattr(ledger, error), **args):
        ledger.originate(terms_tuple(terms), [(bank, 7000), (platform, 3000)], sender=originator)


def test_originate_rejects_fee_recipient_without_fee_and_unknown_recipient(
    ledger, originator, new_terms, bank, platform, outsider
):
    with ape.reverts(ledger.FeeRecipientMismatch, feeRecipient=platform.address, serviceFeeBps=0):
        ledger.originate(terms_tuple(new_terms(feeRecipient=platform.address)), [(bank, 10_000)], sender=originator)
    terms = new_terms(feeRecipient=outsider.address, serviceFeeBps=500)
    with ape.reverts(ledger.UnknownInstitution, account=outsider.address):
        ledger.originate(terms_tuple(terms), [(bank, 10_000)], sender=originator)


def test_originate_rejects_a_deadline_not_in_the_future(ledger, originator, new_terms, bank, chain):
    deadline = chain.pending_timestamp - 1
    with ape.reverts(ledger.DeadlinePassed, loanId=1, deadline=deadline):
        ledger.originate(terms_tuple(new_terms(fundingDeadline=deadline)), [(bank, 10_000)], sender=originator)


@pytest.mark.parametrize(
    ("tranches", "error", "args"),
    [
        ([], "InvalidTrancheCount", {"count": 0}),
        ([("bank", 625)] * 16 + [("bank", 0)], "InvalidTrancheCount", {"count": 17}),
        ([("bank", 7000), ("platform", 2999)], "SharesNotWhole", {"sum": 9999}),
        ([("bank", 10_000), ("platform", 0)], "SharesNotWhole", {"sum": 10_000}),
        ([("bank", 5000), ("bank", 5000)], "DuplicateLender", {}),
        ([("bank", 5000), ("outsider", 5000)], "UnknownInstitution", {}),
        ([("bank", 8000), ("platform", 2000)], "ShareBelowMinimum", {"loanId": 1, "platformShareBps": 2000}),
    ],
)
def test_originate_rejects_invalid_tranches(
    ledger, originator, new_terms, accounts, institutions, tranches, error, args
):
    named = {**institutions, "outsider": accounts[9]}
    with ape.reverts(getattr(ledger, error), **args):
        ledger.originate(terms_tuple(new_terms()), [(named[n], s) for n, s in tranches], sender=originator)


def test_single_tranche_needs_no_platform_share_but_reserve_policy_applies(ledger, admin, originator, new_terms, bank):
    ledger.originate(terms_tuple(new_terms()), [(bank, 10_000)], sender=originator)  # 助贷: bank alone
    ledger.setPolicy(policy_tuple(minReserveBps=500), sender=admin)
    with ape.reverts(ledger.ReserveBelowMinimum, reserveBps=499, minBps=500):
        ledger.originate(terms_tuple(new_terms(reserveBps=499)), [(bank, 10_000)], sender=originator)


def test_originate_needs_the_originator_role(ledger, stranger, new_terms, bank, institutions):
    with ape.reverts(ledger.AccessControlUnauthorizedAccount, account=stranger.address):
        ledger.originate(terms_tuple(new_terms()), [(bank, 10_000)], sender=stranger)


def test_terms_whose_installment_amount_cannot_be_stored_are_refused_at_origination(
    ledger, admin, originator, new_terms, bank, platform
):
    """With the principal cap raised near 2^96, an equal-installment loan's A (principal plus a period's interest
    for one period) passes the cursor's 96 bits: refused now, not at disbursement with the lenders' funds in."""
    limit = 2**96 - 1
    ledger.setPolicy(policy_tuple(maxPrincipal=limit, maxLenderExposure=2**128 - 1), sender=admin)
    terms = new_terms(principal=limit, periods=1, annualRateBps=1200)
    a = schedule.installment_amount(0, limit, 1200, terms["periodSeconds"], 1)
    assert a > limit
    with ape.reverts(ledger.InstallmentAboveLimit, installmentAmount=a, limit=limit):
        ledger.originate(terms_tuple(terms), [(bank, 7000), (platform, 3000)], sender=originator)
    # the same principal over 12 periods has an A that fits: accepted
    ledger.originate(
        terms_tuple(new_terms(principal=limit, periods=12)), [(bank, 7000), (platform, 3000)], sender=originator
    )


def test_a_loan_reference_finds_its_loan_and_is_unique(ledger, originator, new_terms, bank, platform):
    """The institutions know a loan by their shared contract number: origination records it (in the terms, so in
    the audit record), loanByRef finds the loan, and a second loan cannot take the same reference."""
    ref = loan_ref("CL-2026-000123")
    tranches = [(bank, 7000), (platform, 3000)]
    ledger.originate(terms_tuple(new_terms(loanRef=ref)), tranches, sender=originator)
    loan_id = ledger.loanCount()
    assert ledger.loanByRef(ref) == loan_id
    assert bytes(ledger.getLoan(loan_id).loanRef) == ref
    assert loan_ref_text(ref) == "CL-2026-000123"
    with ape.reverts(ledger.LoanRefTaken, loanRef=ref, loanId=loan_id):
        ledger.originate(terms_tuple(new_terms(loanRef=ref)), tranches, sender=originator)
    ledger.originate(terms_tuple(new_terms()), tranches, sender=originator)  # no reference: any number of loans
    ledger.originate(terms_tuple(new_terms()), tranches, sender=originator)
    assert ledger.loanByRef(b"\x00" * 32) == 0
