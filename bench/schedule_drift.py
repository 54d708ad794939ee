"""How far the ledger's equal-installment schedules fall from numpy-financial's float annuity.

``python -m bench.schedule_drift [--loans N] [--seed S]`` draws random monthly loans (principal up to
10^12 base units, 0.01-24 % a year) and prints, per number of periods, the largest difference between
each installment of :func:`pylender.schedule.build_schedule` (the contract's rounding: A rounded up,
each interest rounded up, the last installment takes the remaining principal) and ``npf.ipmt`` /
``npf.ppmt``. docs/ledger-spec.md ("Schedule") quotes its output; tests/math/test_schedule_math.py
proves the bound it stays under.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import click
import numpy_financial as npf

from pylender import schedule as sm
from pylender.values import BPS, YEAR, RepaymentMethod

MONTH = YEAR // 12
PERIODS = (6, 12, 24, 36, 48, 60)


@dataclass
class Drift:
    """Largest |ours − numpy-financial| over the loans drawn with one number of periods."""

    periods: int
    loans: int = 0
    interest: float = 0.0  # installments 1..n-1 against ipmt
    principal: float = 0.0  # installments 1..n-1 against ppmt
    last_principal: float = 0.0  # installment n (takes the remaining principal) against ppmt

    def add(self, principal: int, rate_bps: int) -> None:
        rows = sm.build_schedule(principal, rate_bps, MONTH, self.periods, RepaymentMethod.EQUAL_INSTALLMENT)
        rate = rate_bps * MONTH / (BPS * YEAR)
        for row in rows[:-1]:
            self.interest = max(
                self.interest, abs(row.interest + float(npf.ipmt(rate, row.index, self.periods, principal)))
            )
            self.principal = max(
                self.principal, abs(row.principal + float(npf.ppmt(rate, row.index, self.periods, principal)))
            )
        last = rows[-1]
        self.last_principal = max(
            self.last_principal, abs(last.principal + float(npf.ppmt(rate, self.periods, self.periods, principal)))
        )
        self.loans += 1


def measure(loans: int, seed: int) -> list[Drift]:
    rng = random.Random(seed)
    drifts = {n: Drift(n) for n in PERIODS}
    for _ in range(loans):
        n = rng.choice(PERIODS)
        principal = rng.randint(1, 10**6) if rng.random() < 0.5 else rng.randint(10**6, 10**12)
        drifts[n].add(principal, rng.randint(1, 2400))
    return [drifts[n] for n in PERIODS]


@click.command()
@click.option("--loans", default=6_000, show_default=True, help="Random loans to draw.")
@click.option("--seed", default=7, show_default=True)
def main(loans: int, seed: int) -> None:
    """Print the largest differences from numpy-financial, per number of monthly periods."""
    click.echo(f"{loans} random monthly equal-installment loans (seed {seed}); largest |ours - numpy-financial|:")
    click.echo("| periods | loans | interest vs ipmt (k < n) | principal vs ppmt (k < n) | last principal vs ppmt |")
    click.echo("|---:|---:|---:|---:|---:|")
    for d in measure(loans, seed):
        click.echo(f"| {d.periods} | {d.loans} | {d.interest:.2f} | {d.principal:.2f} | {d.last_principal:.2f} |")


if __name__ == "__main__":
    main()
