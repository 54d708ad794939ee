"""pylender.reference: hand-computed scenarios (small numbers) and life-cycle properties.

Common terms unless a test says otherwise: P = 1_000_000 at 1 % a month (1200 bps, period YEAR/12) over 12
equal installments (A = 88_849), tranches bank 70 % (lead) / platform 30 %, service fee 20 % of interest to the
platform, reserve 10 % of each lender's income. Disbursed at t = 0, due_k = k × MONTH.
"""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pylender import errors
from pylender import reference as ref
from pylender.reference import LoanStatus, LoanTerms, ReferenceLedger, Tranche
from pylender.reference.waterfall import first_owing, load
from pylender.values import BPS, DAY, YEAR

MONTH = YEAR // 12
BANK, PLAT, THIRD = "0x" + "0b" * 20, "0x" + "0c" * 20, "0x" + "0d" * 20
BORROWER = "0x" + "01" * 20


def make_ledger(policy: ref.PolicyParams | None = None) -> ReferenceLedger:
    ledger = ReferenceLedger(policy)
    ledger.register_institution(BANK, "bank", False)
    ledger.register_institution(PLAT, "platform", True)
    return ledger


def terms(**overrides) -> LoanTerms:
    base = {
        "borrower": BORROWER,
        "borrower_id": b"borrower-1",
        "principal": 1_000_000,
        "annual_rate_bps": 1200,
        "periods": 12,
        "period_seconds": MONTH,
        "service_fee_bps": 2000,
        "fee_recipient": PLAT,
        "reserve_bps": 1000,
        "funding_deadline": 1000,
    }
    base.update(overrides)
    return LoanTerms(**base)


SHARES_70_30 = [Tranche(BANK, 7000), Tranche(PLAT, 3000)]


def active_loan(ledger: ReferenceLedger | None = None, **overrides) -> tuple[ReferenceLedger, int]:
    ledger = ledger or make_ledger()
    loan_id = ledger.originate(terms(**overrides), SHARES_70_30, now=0)
    ledger.fund(loan_id, BANK, now=0)
    ledger.fund(loan_id, PLAT, now=0)
    ledger.disburse(loan_id, now=0)
    return ledger, loan_id


def balances(ledger: ReferenceLedger, address: str) -> tuple[int, int, int, int]:
    a = ledger.books.accounts[address]
    return a.withdrawable, a.reserve, a.loss, a.exposure


# -- scenarios --------------------------------------------------------------------------------------------------


def test_first_installment_splits_fee_income_reserve_and_principal():
    ledger, loan_id = active_loan()
    assert ledger.books.held == 0  # 1_000_000 in from the lenders, 1_000_000 out to the borrower
    r = ledger.repay(loan_id, 88_849, now=MONTH)
    assert (r.penalty_paid, r.interest_paid, r.fee_paid, r.principal_paid) == (0, 10_000, 2_000, 78_849)
    assert (r.installment, r.outstanding, r.status, r.on_time_completed) == (2, 921_151, LoanStatus.ACTIVE, 1)
    # income I = 10_000 − 2_000 = 8_000: bank 5_600 (560 to reserve), platform 2_400 (240 to reserve)
    # principal 78_849: bank floor(55_194.3) = 55_194, platform floor(23_654.7) = 23_654, 1 unit undistributed
    assert balances(ledger, BANK) == (5_040 + 55_194, 560, 0, 700_000)
    assert balances(ledger, PLAT) == (2_000 + 2_160 + 23_654, 240, 0, 300_000)
    assert ledger.books.undistributed() == 1
    ledger.check_conservation(88_849)


def test_full_life_closes_with_reserves_released_and_leftover_to_the_lead():
    ledger, loan_id = active_loan()
    for k in range(1, 13):
        due = ledger.amount_due(loan_id, now=k * MONTH)
        assert due.max_payable == due.total_due + {11: 88_852, 12: 0}.get(k, 88_849)  # + the next installment
        ledger.repay(loan_id, due.total_due, now=k * MONTH)
        ledger.check_conservation()
    assert ledger.loans[loan_id].status == LoanStatus.CLOSED
    # interest 66_191, fee floor(13_238.2) = 13_238, I = 52_953: bank floor(37_067.1) + 1 leftover, platform 15_885
    assert balances(ledger, BANK) == (700_000 + 37_067 + 1, 0, 0, 0)
    assert balances(ledger, PLAT) == (300_000 + 15_885 + 13_238, 0, 0, 0)
    assert ledger.books.held == 1_066_191
    assert ledger.withdraw(BANK) == 737_068
    assert ledger.withdraw(PLAT) == 329_123
    assert ledger.books.held == 0
    with pytest.raises(errors.ZeroAmount):
        ledger.withdraw(BANK)
    record = ledger.credit_record(b"borrower-1")
    assert (record.loans_taken, record.closed, record.on_time_installments, record.late_installments) == (1, 1, 12, 0)


def test_the_1_000_001_example_three_lenders_within_one_unit_and_exact_at_closure():
    ledger = make_ledger(ref.PolicyParams(min_platform_share_bps=3000))
    ledger.register_institution(THIRD, "bank-2", False)
    shares = [Tranche(PLAT, 3333), Tranche(BANK, 3333), Tranche(THIRD, 3334)]
    loan_id = ledger.originate(
        terms(principal=1_000_001, service_fee_bps=0, fee_recipient=ref.ZERO_ADDRESS, reserve_bps=0), shares, now=0
    )
    assert [ledger.fund(loan_id, t.lender, now=0) for t in shares] == [333_301, 333_300, 333_400]
    ledger.disburse(loan_id, now=0)
    for k in range(1, 13):
        ledger.repay(loan_id, ledger.amount_due(loan_id, now=k * MONTH).total_due, now=k * MONTH)
        book = ledger.books.loans[loan_id]
        for t in shares:
            for total in (book.principal_paid, book.income):
                credited = total * t.share_bps // BPS  # the cumulative floor credit, before any closure leftover
                assert 0 <= Fraction(total * t.share_bps, BPS) - credited < 1
        if k < 12:  # while open, positionOf shows exactly the floor credits
            pos = ledger.books.position(loan_id, PLAT)
            assert pos["principal_credited"] == book.principal_paid * 3333 // BPS
        ledger.check_conservation()
    book = ledger.books.loans[loan_id]
    assert (book.principal_paid, book.income) == (1_000_001, 66_192)
    positions = [ledger.books.position(loan_id, t.lender) for t in shares]
    assert [p["principal_credited"] for p in positions] == [333_301, 333_300, 333_400]  # what each one funded
    assert [p["income_credited"] for p in positions] == [22_061 + 2, 22_061, 22_068]  # leftover 2 to the lead
    assert [ledger.books.accounts[t.lender].withdrawable for t in shares] == [355_364, 355_361, 355_468]


def test_overdue_installment_pays_penalty_from_the_due_date():
    # penalty 18.25 %/year = 0.05 % a day; grace 3 days
    ledger, loan_id = active_loan(penalty_rate_bps=1825, grace_period=3 * DAY)
    assert ledger.amount_due(loan_id, now=MONTH + 3 * DAY).penalty == 0  # inside grace
    # 25 days late: ceil(88_849 × 0.0005 × 25) = ceil(1_110.61) = 1_111, accrued from the due date
    due = ledger.amount_due(loan_id, now=MONTH + 25 * DAY)
    assert (due.penalty, due.interest, due.principal, due.total_due) == (1_111, 10_000, 78_849, 89_960)
    assert (due.overdue_installments, due.next_due_date, due.max_payable) == (1, MONTH, 89_960 + 88_849)
    # a partial payment at 10 days: penalty ceil(444.25) = 445 first, then 10_000 interest, 29_555 principal
    r = ledger.repay(loan_id, 40_000, now=MONTH + 10 * DAY)
    assert (r.penalty_paid, r.interest_paid, r.principal_paid, r.installment) == (445, 10_000, 29_555, 1)
    # the rest at 25 days: penalty on the 49_294 still unpaid for 15 days since the checkpoint: ceil(369.7) = 370
    r = ledger.repay(loan_id, 370 + 49_294, now=MONTH + 25 * DAY)
    assert (r.penalty_paid, r.interest_paid, r.principal_paid, r.installment) == (370, 0, 49_294, 2)
    assert (r.late_completed, r.days_late, r.max_days_late) == (1, 25, 25)
    assert ledger.books.loans[loan_id].penalty_paid == 815
    # penalty is lender income with no service fee: I = 8_000 + 815 = 8_815 → bank 6_170 (617 reserve)
    assert balances(ledger, BANK)[:2] == (6_170 - 617 + 55_194, 617)
    ledger.check_conservation()
    record = ledger.credit_record(b"borrower-1")
    assert (record.late_installments, record.max_days_late, record.total_days_late) == (1, 25, 25)


def test_overpayment_is_rejected_with_the_maximum():
    ledger, loan_id = active_loan()
    with pytest.raises(errors.Overpayment) as info:
        ledger.repay(loan_id, 88_850, now=10 * DAY)  # only installment 1 may be paid early
    assert info.value.error_args == (loan_id, 88_850, 88_849)
    with pytest.raises(errors.ZeroAmount):
        ledger.repay(loan_id, 0, now=10 * DAY)


def test_default_write_off_absorbs_reserves_and_recovery_reduces_loss():
    ledger, loan_id = active_loan(grace_period=3 * DAY)
    for k in (1, 2, 3):
        ledger.repay(loan_id, ledger.amount_due(loan_id, now=k * MONTH).total_due, now=k * MONTH)
    defaultable = 4 * MONTH + 3 * DAY + 90 * DAY
    with pytest.raises(errors.NotOverdueLongEnough) as info:
        ledger.mark_default(loan_id, now=defaultable - 1)
    assert info.value.error_args == (loan_id, 4 * MONTH + 3 * DAY, defaultable)
    with pytest.raises(errors.NotOverdueLongEnough):
        ledger.mark_default(loan_id, now=defaultable, by_servicer=False)  # the public waits 30 days more
    # installments 4..7 are due by then: owed = 761_081 principal + 7_611 + 6_799 + 5_978 + 5_150 interest
    assert ledger.mark_default(loan_id, now=defaultable) == 786_619
    with pytest.raises(errors.LoanNotInStatus):
        ledger.repay(loan_id, 1, now=defaultable)
    # loss 761_081: platform floor(228_324.3), the lead the rest 532_757. Reserves for this loan:
    # I = 27_628 − 5_525 = 22_103 → bank c = 15_472, reserve 1_547; platform c = 6_630, reserve 663
    assert ledger.write_off(loan_id) == 1_547 + 663
    bank, plat = balances(ledger, BANK), balances(ledger, PLAT)
    # bank: income 13_925 + principal floor(167_243.3) + absorbed 1_547 + leftovers (income 1, principal 1)
    assert bank == (13_925 + 167_243 + 1_547 + 2, 0, 532_757 - 1_547, 0)
    assert plat == (5_525 + 5_967 + 71_675 + 663, 0, 228_324 - 663, 0)
    ledger.check_conservation()
    ledger.recover(loan_id, 100_000)
    assert balances(ledger, BANK)[2] == 531_210 - 70_000
    assert balances(ledger, PLAT)[2] == 227_661 - 30_000
    with pytest.raises(errors.Overpayment) as info:
        ledger.recover(loan_id, 686_620)
    assert info.value.error_args == (loan_id, 686_620, 686_619)
    ledger.check_conservation()
    record = ledger.credit_record(b"borrower-1")
    assert (record.defaulted, record.amount_written_off, record.on_time_installments) == (1, 761_081, 3)


def test_recovery_while_defaulted_reduces_outstanding_then_the_write_off():
    # (also the case the contract panicked on: a remainder handed to the lead at write-off can shrink later)
    ledger, loan_id = active_loan(grace_period=0)
    ledger.mark_default(loan_id, now=MONTH + 90 * DAY)
    assert ledger.loans[loan_id].owed_at_default == 1_000_000 + 10_000 + 9_212 + 8_416
    ledger.recover(loan_id, 300_000)
    assert ledger.loans[loan_id].outstanding == 700_000
    assert ledger.books.undistributed() == 0  # 300_000 splits exactly 210_000 / 90_000
    ledger.recover(loan_id, 1)
    assert ledger.books.undistributed() == 1  # the unit waits for the end of the loan
    ledger.write_off(loan_id)
    assert ledger.loans[loan_id].written_off == 699_999
    # recovered 300_001: bank floor(210_000.7); loss: the lead takes 699_999 − floor(209_999.7). The recovered
    # remainder (1) waits: the component may still grow, and a remainder handed out early could shrink later.
    assert balances(ledger, BANK) == (210_000, 0, 490_000, 0)
    assert balances(ledger, PLAT) == (90_000, 0, 209_999, 0)
    assert ledger.books.undistributed() == 1
    ledger.check_conservation()
    # recovering everything owed (1_027_628) makes the component final: the lead gets the remainder
    ledger.recover(loan_id, 1_027_628 - 300_001)
    assert ledger.books.undistributed() == 0
    # bank: floor(1_027_628 × 0.7) = 719_339 (719_339.6) + leftover 1; its loss 490_000 is cleared
    assert balances(ledger, BANK) == (719_340, 0, 0, 0)
    assert balances(ledger, PLAT) == (308_288, 0, 0, 0)
    ledger.check_conservation()


def test_recoveries_after_write_off_never_take_back_a_remainder():
    # 50/25/25 on a 4-unit loss. After recovering 3 the floors are 1, 0, 0 (remainder 2); after 4 they are 2, 1, 1
    # (remainder 0). Had the lead received the 2 at the write-off, the fourth unit would owe −1 to the lead (the
    # contract reverted with panic 0x11 here); the remainder instead waits until the recoveries reach owedAtDefault.
    ledger = make_ledger()
    ledger.register_institution(THIRD, "bank-2", False)
    shares = [Tranche(PLAT, 5000), Tranche(BANK, 2500), Tranche(THIRD, 2500)]
    loan_id = ledger.originate(
        terms(principal=4, annual_rate_bps=0, periods=1, service_fee_bps=0, fee_recipient=ref.ZERO_ADDRESS),
        shares,
        now=0,
    )
    for t in shares:
        ledger.fund(loan_id, t.lender, now=0)
    ledger.disburse(loan_id, now=0)
    assert ledger.mark_default(loan_id, now=MONTH + 90 * DAY) == 4
    assert ledger.write_off(loan_id) == 0
    assert [balances(ledger, t.lender)[2] for t in shares] == [2, 1, 1]
    ledger.recover(loan_id, 3)
    assert [balances(ledger, t.lender)[:3] for t in shares] == [(1, 0, 1), (0, 0, 1), (0, 0, 1)]
    assert ledger.books.undistributed() == 2
    ledger.recover(loan_id, 1)
    assert [balances(ledger, t.lender)[:3] for t in shares] == [(2, 0, 0), (1, 0, 0), (1, 0, 0)]
    assert ledger.books.undistributed() == 0
    ledger.check_conservation()


def test_prepayment_charges_current_interest_and_fee_and_reamortizes():
    ledger, loan_id = active_loan(prepayment_fee_bps=100)
    # 10 days in: interest of installment 1 in full (10_000) + 200_000 + fee 1 % = 2_000
    assert ledger.prepayment_quote(loan_id, 200_000, now=10 * DAY) == 212_000
    r = ledger.prepay(loan_id, 200_000, now=10 * DAY)
    assert (r.amount, r.interest_paid, r.principal_paid, r.prepayment_fee, r.installment) == (
        212_000,
        10_000,
        200_000,
        2_000,
        2,
    )
    r_exact = Fraction(1, 100)
    assert ledger.loans[loan_id].installment_amount == -(-800_000 * r_exact / (1 - (1 + r_exact) ** -11) // 1)
    # the fee is lender income, no service fee on it: I = 8_000 + 2_000
    assert balances(ledger, BANK)[:2] == (6_300 + 140_000, 700)
    assert balances(ledger, PLAT)[:2] == (2_000 + 2_700 + 60_000, 300)
    with pytest.raises(errors.Overpayment) as info:
        ledger.prepay(loan_id, 800_001, now=20 * DAY)
    assert info.value.error_args == (loan_id, 800_001, 800_000)
    # paying all of it closes the loan: installment 2 interest 8_000 + 800_000 + 8_000 fee
    assert ledger.prepayment_quote(loan_id, 800_000, now=20 * DAY) == 816_000
    r = ledger.prepay(loan_id, 800_000, now=20 * DAY)
    assert (r.status, r.outstanding, r.installment) == (LoanStatus.CLOSED, 0, 13)
    ledger.check_conservation()
    assert ledger.books.accounts[BANK].reserve == 0


def test_prepayment_on_the_last_installment_must_clear_it():
    ledger, loan_id = active_loan(periods=1)
    with pytest.raises(errors.PrepaymentBelowSchedule) as below:  # the last installment owes all the principal
        ledger.prepay(loan_id, 100, now=DAY)
    assert below.value.args == (loan_id, 100, 1_000_000)
    ledger.prepay(loan_id, 1_000_000, now=DAY)
    assert ledger.loans[loan_id].status == LoanStatus.CLOSED


def test_zero_dues_installments_do_not_block_closure():
    # rate 0, P = 5 over 4: A = ceil(5/4) = 2 → principals 2, 2, 1 and a last installment with nothing due
    ledger, loan_id = active_loan(
        principal=5, annual_rate_bps=0, periods=4, service_fee_bps=0, fee_recipient=ref.ZERO_ADDRESS
    )
    r = ledger.repay(loan_id, 5, now=3 * MONTH)
    assert (r.status, r.installment) == (LoanStatus.CLOSED, 5)
    ledger.check_conservation()


def test_cancel_refunds_funded_tranches():
    ledger = make_ledger()
    loan_id = ledger.originate(terms(), SHARES_70_30, now=0)
    ledger.fund(loan_id, BANK, now=0)
    with pytest.raises(errors.CancelNotAllowed):
        ledger.cancel(loan_id, now=1000, by_originator=False, caller=BORROWER)  # the deadline has not passed
    assert ledger.cancel(loan_id, now=1001, by_originator=False) == 700_000
    assert balances(ledger, BANK) == (700_000, 0, 0, 0)
    ledger.check_conservation(700_000)
    with pytest.raises(errors.LoanNotInStatus) as info:
        ledger.fund(loan_id, PLAT, now=0)
    assert info.value.error_args == (loan_id, LoanStatus.CANCELLED)


def test_funding_errors():
    ledger = make_ledger(ref.PolicyParams(max_lender_exposure=800_000))
    loan_id = ledger.originate(terms(), SHARES_70_30, now=0)
    with pytest.raises(errors.AccessControlUnauthorizedAccount):
        ledger.fund(loan_id, THIRD, now=0)
    ledger.register_institution(THIRD, "other", False)
    with pytest.raises(errors.NotATrancheLender):
        ledger.fund(loan_id, THIRD, now=0)
    with pytest.raises(errors.DeadlinePassed):
        ledger.fund(loan_id, BANK, now=1001)
    ledger.fund(loan_id, BANK, now=0)
    with pytest.raises(errors.AlreadyFunded):
        ledger.fund(loan_id, BANK, now=0)
    second = ledger.originate(terms(principal=200_000), SHARES_70_30, now=0)
    with pytest.raises(errors.ExposureAboveCap) as info:
        ledger.fund(second, BANK, now=0)
    assert info.value.error_args == (BANK, 840_000, 800_000)


@pytest.mark.parametrize(
    ("overrides", "tranches", "error", "args"),
    [
        ({"borrower": ref.ZERO_ADDRESS}, SHARES_70_30, errors.ZeroAddress, ()),
        ({"principal": 0}, SHARES_70_30, errors.ZeroAmount, ()),
        ({"periods": 601}, SHARES_70_30, errors.PeriodsOutOfRange, (601, 600)),
        ({"period_seconds": 0}, SHARES_70_30, errors.ZeroPeriodSeconds, ()),
        ({"service_fee_bps": 0}, SHARES_70_30, errors.FeeRecipientMismatch, (PLAT, 0)),
        ({"service_fee_bps": 10_001}, SHARES_70_30, errors.ServiceFeeAboveWhole, (10_001,)),
        ({"prepayment_fee_bps": 10_001}, SHARES_70_30, errors.PrepaymentFeeAboveWhole, (10_001,)),
        ({"reserve_bps": 10_001}, SHARES_70_30, errors.ReserveAboveWhole, (10_001,)),
        ({"funding_deadline": 0}, SHARES_70_30, errors.DeadlinePassed, (1, 0)),
        ({"fee_recipient": THIRD}, SHARES_70_30, errors.UnknownInstitution, (THIRD,)),
        ({"annual_rate_bps": 2401}, SHARES_70_30, errors.RateAboveCap, (2401, 2400)),
        ({"penalty_rate_bps": 3601}, SHARES_70_30, errors.PenaltyRateAboveCap, (3601, 3600)),
        (
            {"principal": 200_000 * 10**6 + 1},
            SHARES_70_30,
            errors.PrincipalAboveCap,
            (200_000 * 10**6 + 1, 200_000 * 10**6),
        ),
        ({}, [], errors.InvalidTrancheCount, (0,)),
        ({}, [Tranche(BANK, 7000), Tranche(THIRD, 3000)], errors.UnknownInstitution, (THIRD,)),
        ({}, [Tranche(BANK, 7000), Tranche(BANK, 3000)], errors.DuplicateLender, (BANK,)),
        ({}, [Tranche(BANK, 7000), Tranche(PLAT, 2999)], errors.SharesNotWhole, (9999,)),
        ({}, [Tranche(BANK, 10_000), Tranche(PLAT, 0)], errors.SharesNotWhole, (10_000,)),
        ({}, [Tranche(BANK, 7001), Tranche(PLAT, 2999)], errors.ShareBelowMinimum, (1, 2999, 3000)),
    ],
)
def test_origination_errors(overrides, tranches, error, args):
    ledger = make_ledger()
    with pytest.raises(error) as info:
        ledger.originate(terms(**overrides), tranches, now=0)
    assert info.value.error_args == args
    assert ledger.loans == {}


def test_single_lender_loan_needs_no_platform_share_and_pause_freezes_everything():
    ledger = make_ledger()
    loan_id = ledger.originate(terms(service_fee_bps=500), [Tranche(BANK, 10_000)], now=0)
    ledger.pause()
    with pytest.raises(errors.EnforcedPause):
        ledger.fund(loan_id, BANK, now=0)
    with pytest.raises(errors.EnforcedPause):
        ledger.pause()
    ledger.unpause()
    assert ledger.fund(loan_id, BANK, now=0) == 1_000_000
    with pytest.raises(errors.ExpectedPause):
        ledger.unpause()


def test_repay_batch_is_all_or_nothing():
    ledger, first = active_loan()
    second = ledger.originate(terms(borrower_id=b"borrower-2"), SHARES_70_30, now=0)
    with pytest.raises(errors.LengthMismatch):
        ledger.repay_batch([first, second], [1], now=MONTH)
    before = copy.deepcopy((ledger.books.accounts, ledger.books.loans, ledger.loans))
    with pytest.raises(errors.LoanNotInStatus):  # the second loan is not active: the first payment is undone too
        ledger.repay_batch([first, second], [88_849, 1], now=MONTH)
    assert (ledger.books.accounts, ledger.books.loans, ledger.loans) == before
    results = ledger.repay_batch([first], [88_849], now=MONTH)
    assert results[0].principal_paid == 78_849


# -- properties -------------------------------------------------------------------------------------------------


def _state(ledger: ReferenceLedger) -> str:
    return repr((ledger.books.accounts, ledger.books.loans, ledger.books.held, ledger.loans))


@st.composite
def loan_setups(draw):
    n = draw(st.integers(1, 4))
    cuts = sorted(draw(st.lists(st.integers(1, BPS - 1), min_size=n - 1, max_size=n - 1, unique=True)))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, BPS], strict=True)]
    fee = draw(st.sampled_from([0, 0, 1500, 3000]))
    # Small principals with interest round every period's interest up to whole units, far above any rate cap
    # (EffectiveRateAboveCap): they are drawn interest-free; the cap's rejection has its own tests.
    principal = draw(st.one_of(st.integers(1, 1000), st.integers(10**6, 10**9)))
    rate = draw(st.integers(0, 2300)) if principal >= 10**6 else 0
    return {
        "shares": shares,
        "terms": {
            "principal": principal,
            "annual_rate_bps": rate,
            "periods": draw(st.integers(1, 18)),
            "period_seconds": draw(st.sampled_from([MONTH, 7 * DAY, DAY])),
            "method": draw(st.integers(0, 2)),
            "grace_period": draw(st.sampled_from([0, 3 * DAY])),
            "penalty_rate_bps": draw(st.integers(0, 3600)),
            "prepayment_fee_bps": draw(st.sampled_from([0, 100, 250])),
            "service_fee_bps": fee,
            "fee_recipient": PLAT if fee else ref.ZERO_ADDRESS,
            "reserve_bps": draw(st.sampled_from([0, 500, 1000, 10_000])),
            "funding_deadline": 10**9,
        },
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups=st.lists(loan_setups(), min_size=1, max_size=3), data=st.data())
def test_life_cycle_conserves_every_unit(setups, data):
    lenders = [BANK, PLAT, THIRD, "0x" + "0e" * 20]
    ledger = ReferenceLedger(ref.PolicyParams(min_platform_share_bps=0, default_after=20 * DAY))
    for i, lender in enumerate(lenders):
        ledger.register_institution(lender, f"inst-{i}", i == 1)
    now = 0
    token_in = token_out = 0
    ids = []
    for s in setups:
        tranches = [Tranche(lenders[i], share) for i, share in enumerate(s["shares"])]
        loan_id = ledger.originate(terms(**s["terms"]), tranches, now=now)
        for t in tranches:
            token_in += ledger.fund(loan_id, t.lender, now=now)
        ledger.disburse(loan_id, now=now)
        token_out += s["terms"]["principal"]
        ids.append(loan_id)

    for _ in range(data.draw(st.integers(10, 60))):
        action = data.draw(
            st.sampled_from(["time", "repay", "repay", "prepay", "withdraw", "default", "writeoff", "recover"])
        )
        loan_id = data.draw(st.sampled_from(ids))
        loan = ledger.loans[loan_id]
        before = _state(ledger)
        try:
            if action == "time":
                now += data.draw(st.integers(0, 60 * DAY))
            elif action == "repay" and loan.status == LoanStatus.ACTIVE:
                max_payable = ledger.amount_due(loan_id, now).max_payable
                amount = data.draw(st.one_of(st.just(max_payable), st.integers(1, max_payable + 1)))
                r = ledger.repay(loan_id, amount, now)
                assert 0 < amount <= max_payable and r.amount == amount
                token_in += amount
            elif action == "prepay" and loan.status == LoanStatus.ACTIVE:
                principal = data.draw(st.integers(1, max(1, loan.outstanding_principal)))
                quote = ledger.prepayment_quote(loan_id, principal, now)
                r = ledger.prepay(loan_id, principal, now)
                assert r.amount == quote
                token_in += quote
            elif action == "withdraw":
                token_out += ledger.withdraw(data.draw(st.sampled_from(lenders)))
            elif action == "default":
                ledger.mark_default(loan_id, now)
            elif action == "writeoff":
                ledger.write_off(loan_id)
            elif action == "recover" and loan.status in (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF):
                room = loan.owed_at_default - ledger.books.loans[loan_id].recovered
                amount = data.draw(st.integers(1, max(1, room)))
                ledger.recover(loan_id, amount)
                token_in += amount
            else:
                action = "skip"
            event(f"{action} applied")
        except errors.ContractError as exc:
            event(f"{action} rejected: {type(exc).__name__}")
            assert _state(ledger) == before  # a rejected call changes nothing
        # conservation: what came in minus what went out is exactly what the books account for
        assert ledger.books.held == token_in - token_out
        ledger.check_conservation()
        for book in ledger.books.loans.values():
            for total in (book.income, book.principal_paid, book.recovered):
                leftover = total - sum(total * s // BPS for s in book.shares)
                assert 0 <= leftover < len(book.shares)
            assert book.fee_paid == book.interest_paid * book.service_fee_bps // BPS
            assert book.principal_paid + ledger.loans[book.loan_id].outstanding_principal <= book.principal
            if book.status == LoanStatus.CLOSED:
                assert book.principal_paid == book.principal
                principal_credits = [ledger.books.position(book.loan_id, x)["principal_credited"] for x in book.lenders]
                assert principal_credits == book.amounts  # every lender got back exactly what it funded
    event(f"final statuses {sorted(x.status.name for x in ledger.loans.values())}")
    assert sum(a.exposure for a in ledger.books.accounts.values()) == sum(
        book.principal
        for book in ledger.books.loans.values()
        if book.status in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED)
    )


@settings(max_examples=150, deadline=None)
@given(setup=loan_setups(), data=st.data())
def test_default_write_off_and_recoveries_conserve_and_book_the_loss(setup, data):
    lenders = [BANK, PLAT, THIRD, "0x" + "0e" * 20]
    ledger = ReferenceLedger(ref.PolicyParams(min_platform_share_bps=0))
    for i, lender in enumerate(lenders):
        ledger.register_institution(lender, f"inst-{i}", i == 1)
    tranches = [Tranche(lenders[i], share) for i, share in enumerate(setup["shares"])]
    loan_id = ledger.originate(terms(**setup["terms"]), tranches, now=0)
    for t in tranches:
        ledger.fund(loan_id, t.lender, now=0)
    ledger.disburse(loan_id, now=0)
    loan, book = ledger.loans[loan_id], ledger.books.loans[loan_id]
    seconds = setup["terms"]["period_seconds"]
    for k in range(1, data.draw(st.integers(1, setup["terms"]["periods"]))):  # pay some installments, maybe partly
        due = ledger.amount_due(loan_id, now=k * seconds)
        if due.total_due:
            ledger.repay(loan_id, data.draw(st.integers(1, due.total_due)), now=k * seconds)
        if loan.status != LoanStatus.ACTIVE:
            return  # repaid in full (a short loan): nothing to default
    # overdue from the oldest installment that owes something (those owing nothing are never overdue)
    _, due = first_owing(loan, load(loan, loan.disbursed_at))
    now = due + loan.terms.grace_period + 90 * DAY
    owed = ledger.mark_default(loan_id, now)
    principal_left = loan.outstanding
    assert owed >= principal_left and owed == loan.owed_at_default
    assert principal_left == book.principal - book.principal_paid
    if data.draw(st.booleans()):
        early = data.draw(st.integers(1, owed))
        ledger.recover(loan_id, early)
        assert loan.outstanding == max(0, principal_left - early)
        if early == owed:  # recovered in full before a write-off: the loan ends as a closure does
            assert loan.status == book.status == LoanStatus.RECOVERED
            assert sum(a.exposure for a in ledger.books.accounts.values()) == 0
            assert all(a.reserve == 0 for a in ledger.books.accounts.values())
            assert book.undistributed() == 0
            ledger.check_conservation()
            return
    ledger.check_conservation()
    absorbed = ledger.write_off(loan_id)
    loss = loan.written_off
    assert sum(a.loss for a in ledger.books.accounts.values()) == loss - absorbed
    assert sum(a.exposure for a in ledger.books.accounts.values()) == 0
    # the only loan has ended: its provisions were absorbed or released, nothing stays stranded in reserve
    assert all(a.reserve == 0 for a in ledger.books.accounts.values())
    # income and principal are final: the lead took their remainders; recoveries may still grow
    pending = 0 if book.recovered == owed else book.remainder(ref.Component.RECOVERY)
    assert book.undistributed() == pending < len(book.shares)
    ledger.check_conservation()
    for _ in range(data.draw(st.integers(0, 3))):
        room = owed - book.recovered
        if not room:
            break
        amount = data.draw(st.one_of(st.integers(1, room), st.just(room)))
        losses_before = {x: ledger.books.accounts[x].loss for x in book.lenders}
        credits_before = {x: ledger.books.accounts[x].withdrawable for x in book.lenders}
        pending_before = book.undistributed()
        ledger.recover(loan_id, amount)
        credits = {x: ledger.books.accounts[x].withdrawable - credits_before[x] for x in book.lenders}
        assert all(c >= 0 for c in credits.values())  # a recovery never takes anything back from a lender
        for x in book.lenders:
            assert ledger.books.accounts[x].loss == max(0, losses_before[x] - credits[x])
        assert sum(credits.values()) == amount + pending_before - book.undistributed()
        assert book.undistributed() == (0 if book.recovered == owed else book.remainder(ref.Component.RECOVERY))
        ledger.check_conservation()
    with pytest.raises(errors.Overpayment):
        ledger.recover(loan_id, owed - book.recovered + 1)
