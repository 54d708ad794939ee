"""Read the views :func:`pylender.audit.reconcile.compare_views` needs before it needs them.

An audit of a live ledger spends most of its time fetching, decoding and replaying logs; the node
is idle between two log ranges. :class:`ViewPrefetch` uses that time: from the start of the audit a
thread reads what the ledger itself lists (counts, the audit head, every loan with its positions in a
few ``auditSnapshot`` calls, every institution, account and credit record: :func:`prefetch_ledger_views`),
and as each range of records arrives it reads the roles those records name (and, on a ledger older than
``auditSnapshot``, the positions: :func:`view_calls_of`). When the replay ends, the views are
already in hand. Every answer is read at the audit's block, so reading early changes nothing; a key
the records never name is read later by ``compare_views`` itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from pylender.audit.reconcile import _round_one, _round_two_calls
from pylender.audit.replay import LENDER_ROLE, role_hex
from pylender.audit.snapshot import borrower_hex
from pylender.audit.views import SNAPSHOT, LedgerViews, ViewKey, answers

FLUSH_CALLS = 250  # calls per read of the records' views: about one lens call's worth of positionOf
HEAD: ViewKey = ("auditHead", ())
_NAMING = frozenset(("LoanOriginated", "AccessChanged", "InstitutionRegistered"))  # records that name views


def prefetch_views(views: LedgerViews, records: Sequence[Any], *, positions: bool = True) -> dict[ViewKey, Any]:
    """Every view :func:`compare_views` will read, for the loans, lenders, institutions and borrowers the
    records name (anything it misses is fetched later)."""
    cache: dict[ViewKey, Any] = {}
    loan_count, count, token = _round_one(views, None)
    cache.update({("loanCount", ()): loan_count, ("institutionCount", ()): count, ("token", ()): token})
    loans: list[tuple[int, list[str]]] = []
    accounts: list[str] = []
    borrowers: dict[str, None] = {}
    for r in records:
        f = r.fields
        if r.kind == "LoanOriginated":
            try:
                loans.append((int(f["loanId"]), [str(t["lender"]) for t in f["tranches"]]))
                borrowers[str(f["terms"]["borrowerId"])] = None
            except (KeyError, TypeError, ValueError):
                continue
        elif r.kind == "InstitutionRegistered" and isinstance(f.get("account"), str):
            accounts.append(f["account"])
    calls = _round_two_calls(loans, count, sorted(set(accounts)), list(borrowers), positions)
    cache.update(zip(calls, views.call_many(calls), strict=True))
    (cache[("balanceOf", (views.address,))],) = views.call_many([("balanceOf", (views.address,))], to=token)
    return cache


def view_calls_of(records: Iterable[Any], positions: bool = True) -> list[ViewKey]:
    """``positionOf`` of every (loan, lender) the records' ``LoanOriginated`` name (unless ``positions`` is
    off), and ``hasRole`` of every (role, account) their ``AccessChanged`` and ``InstitutionRegistered``
    name: what :func:`compare_views` reads beyond what the ledger lists, without a ``getTranches`` per loan
    to learn the lenders. A record too malformed to name them is skipped (the replay reports it)."""
    calls: list[ViewKey] = []
    for r in records:
        if r.kind not in _NAMING:
            continue
        try:
            if r.kind == "LoanOriginated":
                if not positions:
                    continue
                loan_id = int(r.fields["loanId"])
                calls += [("positionOf", (loan_id, str(t["lender"]))) for t in r.fields["tranches"]]
            elif r.kind == "AccessChanged":
                calls.append(("hasRole", (role_hex(r.fields["role"]), r.fields["account"])))
            elif r.kind == "InstitutionRegistered":
                calls.append(("hasRole", (LENDER_ROLE, r.fields["account"])))
        except (KeyError, TypeError, ValueError):
            continue
    return calls


def prefetch_from_records(views: LedgerViews, records: Sequence[Any]) -> dict[ViewKey, Any]:
    """The views :func:`view_calls_of` names for ``records``, read in a few batches."""
    calls = list(dict.fromkeys(view_calls_of(records)))
    return dict(zip(calls, views.call_many(calls), strict=True)) if calls else {}


def prefetch_ledger_views(views: LedgerViews, *, positions: bool = True) -> dict[ViewKey, Any]:
    """Every view :func:`compare_views` will read, for the loans, lenders, institutions and borrowers the
    ledger itself lists (``loanCount``, ``auditSnapshot`` or on an older ledger ``getLoan`` and
    ``getTranches``, ``institutionAt``, the loans' borrower ids), and the audit head.

    It needs no record, so it runs from the start of an audit while the logs are fetched and replayed.
    The answers are the views at ``views.block`` whatever the records say: a loan or lender that only
    the records name (a forged record) is read later by :func:`compare_views` itself.
    """
    cache: dict[ViewKey, Any] = {}
    counts: list[ViewKey] = [("loanCount", ()), ("institutionCount", ()), ("token", ()), HEAD]
    cache.update(zip(counts, answers(views, counts, None), strict=True))
    loan_count, count, token = int(cache[counts[0]]), int(cache[counts[1]]), str(cache[counts[2]])
    ids = range(1, loan_count + 1)
    snapshot = views.snapshot(loan_count)  # None without the view in the ABI, or on a ledger that predates it
    if views.has_snapshot():
        cache[SNAPSHOT] = snapshot  # None tells compare_views to read the single views, not to try again
    first: list[ViewKey] = []
    if snapshot is None:
        first += [("getLoan", (i,)) for i in ids]
        if positions:
            first += [("getTranches", (i,)) for i in ids]
    first += [("institutionAt", (i,)) for i in range(1, count + 1)]
    cache.update(zip(first, views.call_many(first), strict=True))
    second: list[ViewKey] = []
    if positions and snapshot is None:
        second += [("positionOf", (i, t["lender"])) for i in ids for t in cache.pop(("getTranches", (i,)))]
    second += [("accountOf", (cache[("institutionAt", (i,))],)) for i in range(1, count + 1)]
    if snapshot is not None:
        borrowers = [borrower_hex(words) for words in snapshot.values()]
    else:
        borrowers = [cache[("getLoan", (i,))]["borrowerId"] for i in ids]
    second += [("creditRecord", (b,)) for b in dict.fromkeys(borrowers)]
    cache.update(zip(second, views.call_many(second), strict=True))
    (cache[("balanceOf", (views.address,))],) = views.call_many([("balanceOf", (views.address,))], to=token)
    return cache


class ViewReader(Protocol):
    """What :class:`ViewPrefetch` needs of :class:`LedgerViews`."""

    def call_many(self, calls: Sequence[ViewKey]) -> list[Any]: ...

    def head_value(self, value: Any) -> int: ...


class ViewPrefetch:
    """The views of one audit, read in a thread while the records are fetched and replayed.

    Construct it at the start of the audit (it starts ``ledger_views``, by default
    :func:`prefetch_ledger_views` without positions), hand it each range
    of records with :meth:`feed` as it arrives, and take :meth:`head` and :meth:`cache` once the replay
    is done. With ``positions=False`` it reads no position (and only the roles of the records).
    """

    def __init__(
        self,
        views: ViewReader,
        *,
        positions: bool = True,
        ledger_views: Callable[[Any], dict[ViewKey, Any]] | None = None,
    ) -> None:
        self.views = views
        self.positions = positions
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-views")
        first = ledger_views or functools.partial(prefetch_ledger_views, positions=False)
        self._ledger = self._pool.submit(first, views)
        self._reads: list[Future[dict[ViewKey, Any]]] = []
        self._pending: list[ViewKey] = []  # asked, not yet read (each key once: ``_asked``)
        self._asked: set[ViewKey] = set()

    def feed(self, records: Sequence[Any]) -> None:
        """Queue the views ``records`` name; read them once a lens call's worth is queued."""
        for key in view_calls_of(records, self.positions):
            if key in self._asked:
                continue
            self._asked.add(key)
            self._pending.append(key)
        if len(self._pending) >= FLUSH_CALLS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        calls, self._pending = self._pending, []
        views = self.views
        self._reads.append(self._pool.submit(lambda: dict(zip(calls, views.call_many(calls), strict=True))))

    def head(self) -> int:
        """The ledger's audit head at the audit's block."""
        return self.views.head_value(self._ledger.result()[HEAD])

    def cache(self) -> dict[ViewKey, Any]:
        """Every view read, once the last queued read is done (a failed read raises here)."""
        self._flush()
        out = dict(self._ledger.result())
        for read in self._reads:
            out.update(read.result())
        return out

    def close(self) -> None:
        """Stop the thread; reads not started are dropped."""
        self._pool.shutdown(wait=False, cancel_futures=True)
