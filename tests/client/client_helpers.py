"""Terms and tranches the client tests share."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from pylender.values import DAY, LoanTerms, Tranche

UNIT = 10**6  # the test stablecoin has 6 decimals


def co_lending_terms(borrower: str, principal: int = 12_000 * UNIT, **overrides: object) -> LoanTerms:
    """12 monthly equal installments at 12 %; overrides replace any field."""
    fields: dict[str, object] = {
        "borrower": borrower,
        "borrower_id": "customer-1",
        "principal": principal,
        "annual_rate_bps": 1200,
        "periods": 12,
        "period_seconds": 30 * DAY,
        "grace_period": 3 * DAY,
        "penalty_rate_bps": 3600,
    }
    fields.update(overrides)
    return LoanTerms(**fields)  # type: ignore[arg-type]


def seventy_thirty(accounts: dict[str, LocalAccount]) -> list[Tranche]:
    return [
        Tranche(lender=accounts["bank"].address, share_bps=7000),
        Tranche(lender=accounts["platform"].address, share_bps=3000),
    ]
