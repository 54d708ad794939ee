"""Read the ledger's views at one block and compare them with the replayed books."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from web3 import Web3

from pylender.audit.findings import Finding
from pylender.audit.records import from_json, to_json
from pylender.audit.replay import AuditBooks, LoanState, Status

ERC20_BALANCE_ABI = [
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]

LOAN_FIELDS = {  # LoanView field -> LoanState attribute (``book.`` ones come from reference.LoanBook)
    "outstandingPrincipal": "outstanding",
    "currentInstallment": "installment",
    "installmentAmount": "installment_amount",
    "interestPaid": "book.interest_paid",
    "feePaid": "book.fee_paid",
    "penaltyPaid": "book.penalty_paid",
    "prepaymentFeePaid": "book.prepayment_fee_paid",
    "principalPaid": "book.principal_paid",
    "recovered": "book.recovered",
    "owedAtDefault": "owed_at_default",
    "writtenOff": "book.written_off",
}
POSITION_FIELDS = {  # PositionView field -> reference.Books.position key
    "incomeCredited": "income_credited",
    "reserveHeld": "reserve_held",
    "principalCredited": "principal_credited",
    "recoveredCredited": "recovered_credited",
}
ACCOUNT_FIELDS = ("withdrawable", "reserve", "loss", "exposure")


class LedgerViews:
    """The ledger's view functions, called at one fixed block, results keyed by the ABI's names."""

    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]], block: int | str = "latest") -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=abi)
        self.block = block
        self._outputs = {e["name"]: e["outputs"] for e in abi if e.get("type") == "function"}

    def call(self, name: str, *args: Any) -> Any:
        """Call a view; a single struct output comes back as a dict keyed by component name."""
        value = getattr(self.contract.functions, name)(*args).call(block_identifier=self.block)
        outputs = self._outputs[name]
        return to_json(outputs[0], value) if len(outputs) == 1 else value

    def audit_head(self) -> int:
        raw = self.contract.functions.auditHead().call(block_identifier=self.block)
        return int.from_bytes(raw, "big") if isinstance(raw, (bytes, bytearray)) else int(raw)

    def token_balance(self) -> int:
        token = self.contract.functions.token().call(block_identifier=self.block)
        erc20 = self.w3.eth.contract(address=token, abi=ERC20_BALANCE_ABI)
        return int(erc20.functions.balanceOf(self.address).call(block_identifier=self.block))


def _finding(subject: str, field: str, expected: Any, found: Any, detail: str = "") -> Finding:
    return Finding(check="view", subject=subject, field=field, expected=str(expected), found=str(found), detail=detail)


def _attr(loan: LoanState, path: str) -> int:
    value: Any = loan
    for part in path.split("."):
        value = getattr(value, part)
    return int(value)


def _compare_loan(views: LedgerViews, books: AuditBooks, loan: LoanState, positions: bool) -> list[Finding]:
    out: list[Finding] = []
    subject = f"loan {loan.loan_id}"
    view: Mapping[str, Any] = views.call("getLoan", loan.loan_id)
    if Status(int(view["status"])) != loan.status:
        out.append(_finding(subject, "status", loan.status.name, Status(int(view["status"])).name))
    for key, attr in LOAN_FIELDS.items():
        if int(view[key]) != _attr(loan, attr):
            out.append(_finding(subject, key, _attr(loan, attr), view[key]))
    if int(view["fundedCount"]) != loan.funded:
        out.append(_finding(subject, "fundedCount", loan.funded, view["fundedCount"]))
    if positions:
        for lender in loan.lenders:
            pos: Mapping[str, Any] = views.call("positionOf", loan.loan_id, lender)
            expected = books.books.position(loan.loan_id, lender)
            for key, ref_key in POSITION_FIELDS.items():
                if int(pos[key]) != expected[ref_key]:
                    out.append(_finding(f"{subject} position {lender}", key, expected[ref_key], pos[key]))
    return out


def expected_credit_records(books: AuditBooks) -> dict[str, dict[str, int]]:
    """Each borrower's credit record (``creditRecord`` view) summed from the replayed loans."""
    out: dict[str, dict[str, int]] = {}
    disbursed = (Status.ACTIVE, Status.CLOSED, Status.DEFAULTED, Status.WRITTEN_OFF)
    for loan in books.loans.values():
        rec = out.setdefault(
            str(loan.terms["borrowerId"]),
            dict.fromkeys(
                (
                    "loansTaken",
                    "active",
                    "closed",
                    "defaulted",
                    "onTimeInstallments",
                    "lateInstallments",
                    "maxDaysLate",
                    "totalDaysLate",
                    "amountWrittenOff",
                ),
                0,
            ),
        )
        rec["loansTaken"] += loan.status in disbursed
        rec["active"] += loan.status == Status.ACTIVE
        rec["closed"] += loan.status == Status.CLOSED
        rec["defaulted"] += loan.status in (Status.DEFAULTED, Status.WRITTEN_OFF)
        rec["onTimeInstallments"] += loan.on_time
        rec["lateInstallments"] += loan.late
        rec["maxDaysLate"] = max(rec["maxDaysLate"], loan.max_days_late)
        rec["totalDaysLate"] += loan.total_days_late
        rec["amountWrittenOff"] += loan.book.written_off
    return out


def compare_views(views: LedgerViews, books: AuditBooks, *, positions: bool = True) -> list[Finding]:
    """Every difference between the replayed books and the ledger's views and token balance."""
    out: list[Finding] = []
    loan_count = int(views.call("loanCount"))
    if loan_count != len(books.loans):
        out.append(_finding("ledger", "loanCount", len(books.loans), loan_count))
    for loan in books.loans.values():
        out.extend(_compare_loan(views, books, loan, positions))
    count = int(views.call("institutionCount"))
    onchain = {Web3.to_checksum_address(views.call("institutionAt", i)) for i in range(1, count + 1)}
    replayed = {a for a, acct in books.accounts.items() if acct.index}
    if onchain != replayed:
        out.append(_finding("ledger", "institutions", sorted(replayed), sorted(onchain)))
    for address in sorted(onchain | set(books.accounts)):
        acct = books.accounts.get(address)
        view = views.call("accountOf", from_json({"type": "address"}, address))
        for key in ACCOUNT_FIELDS:
            expected = getattr(acct, key) if acct else 0
            if int(view[key]) != expected:
                out.append(_finding(f"account {address}", key, expected, view[key]))
    for borrower_id, expected in expected_credit_records(books).items():
        view = views.call("creditRecord", from_json({"type": "bytes32"}, borrower_id))
        for key, value in expected.items():
            if int(view[key]) != value:
                out.append(_finding(f"borrower {borrower_id}", f"creditRecord.{key}", value, view[key]))
    balance = views.token_balance()
    if balance != books.expected_balance:
        out.append(
            Finding(
                check="balance",
                subject="ledger",
                field="token balance",
                expected=str(books.expected_balance),
                found=str(balance),
                detail="token.balanceOf(ledger) ≠ the token flows the records account for",
            )
        )
    return out
