"""The pure-Python reference model of the co-lending ledger (docs/ledger-spec.md), in exact integers.

Two layers:

* :class:`Books` — bookkeeping only. Told what a payment paid per component (penalty, interest, principal,
  prepayment fee, recovery), it does the cumulative-floor split to the lenders, the service fee, the reserves,
  the closure leftovers and reserve release, write-off absorption, recoveries against loss, exposures, and keeps
  the ledger's token balance. The audit replay can drive it from decoded events alone.
* :class:`ReferenceLedger` — the simulator: policy, origination checks, funding, the schedule cursor, penalty
  accrual, the payment waterfall, prepayment, default, write-off, recovery, credit records. It decides what each
  payment pays and hands that to its :class:`Books`.

Every call the contract would reject raises the contract's custom error: the very class of :mod:`pylender.errors` the
client decodes that revert into (a :class:`~pylender.errors.ContractError`), with the same arguments in the same
order (``exc.error_args``), so one ``except`` catches both and differential tests compare reverts directly.
Time is explicit: every time-dependent method takes ``now`` (the block timestamp).

Where the spec leaves a point open, the model follows the ledger contract's reading (noted as "Reading:"). One
exception, where the contract's reading misbehaves: remainders go to the lead when their component is final —
income and principal at closure or write-off, recovered at closure or once recoveries reach owedAtDefault. (Handing
the recovered remainder out at write-off and updating it on later recoveries can call for a negative credit:
50/25/25 shares, a 4-unit loss, recoveries of 3 then 1.) The loan closes as soon as no principal remains ("the last
principal is paid"), skipping installments with nothing due (rate 0, P = 5 over 4 periods: the 4th owes nothing).

Layout: ``values`` (the model's results; limits, statuses, terms and policy are :mod:`pylender.values`'),
``records`` (credits, the journal, accounts, loan books), ``splitting`` (:class:`Books`: the split, closure, write-off
and recovery bookkeeping), ``waterfall`` (a loan's schedule state and the payment waterfall), ``origination`` (the
origination checks), ``participations`` (positions that change hands), ``pool`` (loan pools), ``ledger``
(:class:`ReferenceLedger`). Each is named after the spec section (and the Solidity library) it mirrors.
The model's own names are re-exported here (``from pylender.reference import X``); its errors are
:mod:`pylender.errors`'.
"""

from __future__ import annotations

from pylender.reference.ledger import ReferenceLedger
from pylender.reference.records import Account, Component, Credit, Journal, LoanBook, Totals
from pylender.reference.splitting import Books
from pylender.reference.values import (
    MAX_PERIODS,
    MAX_TRANCHES,
    ZERO_ADDRESS,
    AmountDue,
    CreditRecord,
    LoanStatus,
    LoanTerms,
    PolicyParams,
    RepaymentBreakdown,
    Tranche,
    is_zero,
)
from pylender.reference.waterfall import Loan

__all__ = [
    "MAX_PERIODS",
    "MAX_TRANCHES",
    "ZERO_ADDRESS",
    "Account",
    "AmountDue",
    "Books",
    "Component",
    "Credit",
    "CreditRecord",
    "Journal",
    "Loan",
    "LoanBook",
    "LoanStatus",
    "LoanTerms",
    "PolicyParams",
    "ReferenceLedger",
    "RepaymentBreakdown",
    "Totals",
    "Tranche",
    "is_zero",
]
