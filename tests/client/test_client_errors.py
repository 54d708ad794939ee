"""Every contract custom error arrives as a named Python exception with its arguments."""

from __future__ import annotations

import pytest
from client_helpers import UNIT, co_lending_terms, seventy_thirty
from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from pylender import artifacts, errors
from pylender.client.ledger import Ledger
from pylender.errors import ErrorDecoder
from pylender.values import Tranche, validate


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


@pytest.fixture(scope="module")
def decoder() -> ErrorDecoder:
    return ErrorDecoder(artifacts.load(artifacts.LEDGER).abi, artifacts.token_artifact().abi)


def test_every_ledger_error_has_a_class_under_a_semantic_base(decoder: ErrorDecoder) -> None:
    abi_errors = [i["name"] for i in artifacts.load(artifacts.LEDGER).abi if i["type"] == "error"]
    assert "ShareBelowMinimum" in abi_errors
    bases = (
        errors.PolicyViolation,
        errors.InvalidRequest,
        errors.LoanStateError,
        errors.AccessDenied,
        errors.InsufficientFunds,
    )
    for name in abi_errors:
        cls = errors.error_class(name)
        assert issubclass(cls, bases), f"{name} has no semantic base"
        assert issubclass(cls, errors.PylenderError)


def test_policy_violation_message_and_fields(decoder: ErrorDecoder) -> None:
    data = _selector("ShareBelowMinimum(uint256,uint256,uint256)") + encode(["uint256"] * 3, [1, 2000, 3000])
    exc = decoder.decode("0x" + data.hex())
    assert type(exc) is errors.ShareBelowMinimum
    assert isinstance(exc, errors.PolicyViolation) and isinstance(exc, ValueError)
    assert str(exc) == "PolicyViolation: ShareBelowMinimum(loanId=1, platformShareBps=2000, minBps=3000)"
    assert (exc.loanId, exc.platformShareBps, exc.minBps) == (1, 2000, 3000)


def test_openzeppelin_token_errors_are_insufficient_funds(decoder: ErrorDecoder) -> None:
    owner = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    data = _selector("ERC20InsufficientAllowance(address,uint256,uint256)") + encode(
        ["address", "uint256", "uint256"], [owner, 5, 7]
    )
    exc = decoder.decode(data)
    assert isinstance(exc, errors.InsufficientFunds)
    assert str(exc) == f"InsufficientFunds: ERC20InsufficientAllowance(spender={owner}, allowance=5, needed=7)"


def test_panic_and_reason_strings_and_unknown_selectors(decoder: ErrorDecoder) -> None:
    panic = decoder.decode(_selector("Panic(uint256)") + encode(["uint256"], [0x11]))
    assert isinstance(panic, errors.ContractPanic)
    assert str(panic) == "ContractPanic: Panic(code=0x11, reason=arithmetic overflow or underflow)"
    reason = decoder.decode(_selector("Error(string)") + encode(["string"], ["nope"]))
    assert str(reason) == "ContractRevert: Error(message=nope)"
    unknown = decoder.decode("0xdeadbeef")
    assert isinstance(unknown, errors.ContractRevert)
    assert "0xdeadbeef" in str(unknown)
    assert str(decoder.decode("0x")) == "ContractRevert: Error(message=reverted without a reason)"


def _loan(ledger: Ledger, accounts: dict[str, LocalAccount], **overrides: object) -> int:
    terms = co_lending_terms(accounts["borrower"].address, **overrides)
    return ledger.originate(terms, seventy_thirty(accounts))


def test_live_policy_violation(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    with pytest.raises(errors.RateAboveCap) as info:
        _loan(ledger, accounts, annual_rate_bps=3000)
    assert str(info.value) == "PolicyViolation: RateAboveCap(rateBps=3000, capBps=2400)"
    terms = co_lending_terms(accounts["borrower"].address)
    low_platform = [
        Tranche(lender=accounts["bank"].address, share_bps=8000),
        Tranche(lender=accounts["platform"].address, share_bps=2000),
    ]
    with pytest.raises(errors.ShareBelowMinimum) as share:
        ledger.originate(terms, low_platform)
    assert (share.value.platformShareBps, share.value.minBps) == (2000, 3000)


def test_live_access_denied_names_the_role(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    outsider = accounts["outsider"]
    with pytest.raises(errors.AccessDenied) as info:
        _loan_as(ledger, accounts, outsider)
    assert isinstance(info.value, PermissionError)
    assert str(info.value) == (
        f"AccessDenied: AccessControlUnauthorizedAccount(account={outsider.address}, neededRole=ORIGINATOR_ROLE)"
    )


def _loan_as(ledger: Ledger, accounts: dict[str, LocalAccount], who: LocalAccount) -> int:
    return ledger.originate(co_lending_terms(accounts["borrower"].address), seventy_thirty(accounts), by=who)


def test_live_state_and_overpayment_errors(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    loan_id = _loan(ledger, accounts)
    with pytest.raises(errors.LoanNotInStatus) as status:
        ledger.disburse(loan_id)
    assert (status.value.loanId, status.value.status) == (loan_id, 1)
    ledger.fund(loan_id, accounts["bank"])
    with pytest.raises(errors.AlreadyFunded) as funded:
        ledger.fund(loan_id, accounts["bank"])
    assert funded.value.lender == accounts["bank"].address
    ledger.register_institution(accounts["outsider"], "Other Bank")
    with pytest.raises(errors.NotATrancheLender) as stranger:
        ledger.fund(loan_id, accounts["outsider"])
    assert stranger.value.caller == accounts["outsider"].address
    ledger.fund_all(loan_id)
    ledger.disburse(loan_id)
    due = ledger.amount_due(loan_id)
    with pytest.raises(errors.Overpayment) as over:
        ledger.repay(loan_id, due.max_payable + 1, by=accounts["borrower"])
    assert (over.value.amount, over.value.maxPayable) == (due.max_payable + 1, due.max_payable)


def test_live_insufficient_allowance_and_balance(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    loan_id = _loan(ledger, accounts)
    ledger.fund_all(loan_id)
    ledger.disburse(loan_id)
    amount = ledger.amount_due(loan_id).max_payable
    with pytest.raises(errors.ERC20InsufficientAllowance) as allowance:
        ledger.repay(loan_id, amount, by=accounts["borrower2"], approve=False)
    assert allowance.value.needed == amount
    with pytest.raises(errors.ERC20InsufficientBalance) as balance:
        ledger.repay(loan_id, amount, by=accounts["borrower2"])
    assert (balance.value.sender, balance.value.balance, balance.value.needed) == (
        accounts["borrower2"].address,
        0,
        amount,
    )


def test_client_side_checks_send_nothing(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    nonce = ledger.w3.eth.get_transaction_count(ledger.default_signer.address)
    bad = [
        Tranche(lender=accounts["bank"].address, share_bps=7000),
        Tranche(lender=accounts["platform"].address, share_bps=2000),
    ]
    with pytest.raises(errors.SharesNotWhole) as info:
        ledger.originate(co_lending_terms(accounts["borrower"].address), bad)
    assert str(info.value) == "InvalidRequest: SharesNotWhole(sum=9000)"
    dup = [Tranche(lender=accounts["bank"].address, share_bps=5000)] * 2
    with pytest.raises(errors.DuplicateLender):
        ledger.originate(co_lending_terms(accounts["borrower"].address), dup)
    assert ledger.w3.eth.get_transaction_count(ledger.default_signer.address) == nonce


def test_bad_checksum_is_rejected_at_the_boundary(ledger: Ledger, accounts: dict[str, LocalAccount]) -> None:
    good = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    bad = "0x70997970c51812dc3A010C7d01b50e0d17dc79C8"
    assert validate(Tranche, Tranche(lender=good.lower(), share_bps=1)).lender == good
    with pytest.raises(ValueError, match="checksum"):
        validate(Tranche, {"lender": bad, "share_bps": 1})
    nonce = ledger.w3.eth.get_transaction_count(ledger.default_signer.address)
    with pytest.raises(ValueError, match="checksum"):  # the client checks before it signs
        ledger.originate(co_lending_terms(accounts["borrower"].address), [Tranche(lender=bad, share_bps=10_000)])
    assert ledger.w3.eth.get_transaction_count(ledger.default_signer.address) == nonce


def test_unknown_loan(ledger: Ledger) -> None:
    with pytest.raises(errors.UnknownLoan, match="no loan 999"):
        ledger.loan(999)
    assert 10**ledger.decimals == UNIT
