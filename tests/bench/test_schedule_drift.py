"""`python -m bench.schedule_drift`: the differences it reports stay inside the bound the schedule tests prove."""

from __future__ import annotations

from click.testing import CliRunner

from bench.schedule_drift import MONTH, PERIODS, main, measure
from pylender.values import BPS, YEAR

MAX_RATE = 2400 * MONTH / (BPS * YEAR)  # the tool draws rates up to 24 % a year


def test_interest_and_principal_stay_inside_the_compounding_bound() -> None:
    drifts = measure(loans=60, seed=3)
    assert [d.periods for d in drifts] == list(PERIODS) and sum(d.loans for d in drifts) == 60
    for d in drifts:
        if not d.loans:
            continue
        # |interest_k - ipmt_k| < (1+r)^(k-1), k <= n-1 (tests/math/test_schedule_math.py, (2)); 1e-6 of float slack
        bound = (1 + MAX_RATE) ** (d.periods - 2) + 1e-6
        assert 0 < d.interest < bound, d
        assert 0 < d.principal < bound + 1, d  # principal_k = A - interest_k and A - pmt in [0, 1)
        assert d.last_principal > 0, d


def test_the_command_prints_one_row_per_number_of_periods() -> None:
    result = CliRunner().invoke(main, ["--loans", "24", "--seed", "5"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [int(r.split("|")[1]) for r in rows] == list(PERIODS)
    assert sum(int(r.split("|")[2]) for r in rows) == 24
