"""A small demo portfolio runs to the end of its year with every loan settled."""

from __future__ import annotations

from pylender.scenarios.demo import run_demo


def test_small_demo_closes_every_loan_but_the_written_off_one() -> None:
    report = run_demo(n_loans=8, seed=3, show_progress=False)
    assert report.loans == 9  # 8 co-lent + the 助贷 loan
    assert report.by_status == {"Closed": 8, "WrittenOff": 1}
    by_name = {lender.name: lender for lender in report.lenders}
    assert set(by_name) == {"Bank of Example", "City Commercial Bank", "Example Platform"}
    for lender in report.lenders:
        assert (lender.withdrawable, lender.exposure) == (0, 0)  # everything withdrawn, every loan ended
    assert by_name["Bank of Example"].loans == 9
    assert by_name["City Commercial Bank"].loans == 2  # the 50/20/30 mix is every fourth loan
    # the defaulted loan (the middle one) is 70/30 bank/platform: only they carry a loss
    assert by_name["City Commercial Bank"].loss == 0
    assert by_name["Bank of Example"].loss > 0 and by_name["Example Platform"].loss > 0
