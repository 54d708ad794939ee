"""One exception hierarchy: the tree its docstring draws is the real one, and a contract error is one class whether
the reference model says the contract would revert or the client decoded that it did."""

from __future__ import annotations

import inspect
import pickle
import re

import pytest
from eth_abi import encode
from eth_utils import keccak

from pylender import errors
from pylender.errors import ContractError, ErrorDecoder, PylenderError
from pylender.reference import PolicyParams, ReferenceLedger, Tranche
from pylender.values import ZERO_ADDRESS, LoanTerms

BANK = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
PLATFORM = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
BORROWER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def _docstring_tree() -> dict[str, tuple[str, tuple[str, ...]]]:
    """class -> (parent in the tree, builtins in parentheses), read from the module docstring."""
    tree: dict[str, tuple[str, tuple[str, ...]]] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        found = re.match(r"^(\s*)(?:[│ ]*)(?:├── |└── )?(\w+)(?: \(([\w, ]+)\))?(?:\s{2,}.*)?$", line)
        if not found or not line.strip() or ("──" not in line and found.group(2) != "PylenderError"):
            continue
        depth = line.index(found.group(2))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        builtins = tuple(b.strip() for b in (found.group(3) or "").split(",") if b.strip())
        tree[found.group(2)] = (stack[-1][1] if stack else "", builtins)
        stack.append((depth, found.group(2)))
    return tree


def test_the_docstring_draws_the_real_hierarchy() -> None:
    tree = _docstring_tree()
    defined = {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls) and issubclass(cls, PylenderError) and cls.__module__ == errors.__name__
    }
    assert set(tree) == set(defined), f"drawn but not defined: {set(tree) - set(defined)}; the reverse: " + str(
        set(defined) - set(tree)
    )
    for name, (parent, builtins) in tree.items():
        cls = defined[name]
        ours = [b.__name__ for b in cls.__bases__ if b.__module__ == errors.__name__]
        others = tuple(b.__name__ for b in cls.__bases__ if b.__module__ != errors.__name__)
        assert ours == ([parent] if parent else []), name
        assert others == (builtins if parent else ("Exception",)), name


def test_every_error_is_a_pylender_error_and_the_builtin_it_resembles() -> None:
    assert issubclass(errors.ShareBelowMinimum, errors.PolicyViolation)
    assert issubclass(errors.ShareBelowMinimum, ValueError)
    assert issubclass(errors.AccessControlUnauthorizedAccount, PermissionError)
    assert issubclass(errors.EnforcedPause, RuntimeError)
    assert issubclass(errors.Panic, ArithmeticError)
    for cls in errors.shipped_errors().values():
        assert issubclass(cls, ContractError) and issubclass(cls, PylenderError)


def _originate(model: ReferenceLedger, platform_share: int) -> int:
    terms = LoanTerms(
        borrower=BORROWER,
        borrower_id=b"\x01" * 32,
        principal=1_000_000,
        annual_rate_bps=1200,
        periods=3,
        period_seconds=30 * 86_400,
        funding_deadline=10**9,
    )
    tranches = [Tranche(BANK, 10_000 - platform_share), Tranche(PLATFORM, platform_share)]
    return model.originate(terms, tranches, now=1)


def test_would_revert_and_did_revert_are_one_class() -> None:
    model = ReferenceLedger(PolicyParams())
    model.register_institution(BANK, "Bank", False)
    model.register_institution(PLATFORM, "Platform", True)
    with pytest.raises(errors.ShareBelowMinimum) as would:
        _originate(model, 2000)
    revert = keccak(text="ShareBelowMinimum(uint256,uint256,uint256)")[:4] + encode(["uint256"] * 3, [1, 2000, 3000])
    unknown = ErrorDecoder().decode(revert)  # no ABI given: only Solidity's own errors are known
    assert isinstance(unknown, errors.ContractRevert) and "unknown custom error" in str(unknown)
    did = ErrorDecoder(
        [{"type": "error", "name": "ShareBelowMinimum", "inputs": [{"name": n, "type": "uint256"} for n in "abc"]}]
    ).decode(revert)
    assert type(did) is type(would.value) is errors.ShareBelowMinimum
    assert did.fields == would.value.fields == {"loanId": 1, "platformShareBps": 2000, "minBps": 3000}
    assert (
        str(did)
        == str(would.value)
        == "PolicyViolation: ShareBelowMinimum(loanId=1, platformShareBps=2000, minBps=3000)"
    )


def test_a_class_is_never_changed_by_an_abi_that_decodes_into_it() -> None:
    before = errors.ShareBelowMinimum.field_names
    ErrorDecoder([{"type": "error", "name": "ShareBelowMinimum", "inputs": [{"name": "x", "type": "uint256"}] * 3}])
    assert errors.ShareBelowMinimum.field_names == before == ("loanId", "platformShareBps", "minBps")
    # another error with the same name but other argument types is another class, under the same category
    other = ErrorDecoder([{"type": "error", "name": "ShareBelowMinimum", "inputs": [{"name": "x", "type": "bool"}]}])
    decoded = other.decode(keccak(text="ShareBelowMinimum(bool)")[:4] + encode(["bool"], [True]))
    assert type(decoded) is not errors.ShareBelowMinimum and isinstance(decoded, errors.PolicyViolation)
    assert decoded.fields == {"x": True}


def test_an_error_the_contracts_add_needs_no_python_edit() -> None:
    """A restructured ledger's named errors (say InvalidTerms(uint8) split into PeriodsOutOfRange, ...) are classes
    with their ABI's fields as soon as an ABI declares them, under the category their names call for."""
    abi = [
        {"type": "error", "name": "PeriodsOutOfRange", "inputs": [{"name": "periods", "type": "uint16"}]},
        {"type": "error", "name": "FeeAboveCap", "inputs": [{"name": "feeBps", "type": "uint16"}]},
        {"type": "error", "name": "LoanNotActive", "inputs": [{"name": "loanId", "type": "uint256"}]},
    ]
    decoder = ErrorDecoder(abi)
    decoded = decoder.decode(keccak(text="PeriodsOutOfRange(uint16)")[:4] + encode(["uint16"], [601]))
    assert type(decoded).__name__ == "PeriodsOutOfRange" and decoded.periods == 601
    assert isinstance(decoded, errors.InvalidRequest)
    assert errors.category_of("FeeAboveCap") is errors.PolicyViolation
    assert errors.category_of("LoanNotActive") is errors.LoanStateError


def test_every_shipped_error_lands_under_the_category_it_had() -> None:
    expected = {
        "RateAboveCap": errors.PolicyViolation,
        "ShareBelowMinimum": errors.PolicyViolation,
        "ExposureAboveCap": errors.PolicyViolation,
        "ZeroAmount": errors.InvalidRequest,
        "InvalidTerms": errors.InvalidRequest,
        "SharesNotWhole": errors.InvalidRequest,
        "Overpayment": errors.InvalidRequest,
        "InstitutionExists": errors.InvalidRequest,
        "SafeCastOverflowedUintDowncast": errors.InvalidRequest,
        "LoanNotInStatus": errors.LoanStateError,
        "AlreadyFunded": errors.LoanStateError,
        "DeadlinePassed": errors.LoanStateError,
        "NotOverdueLongEnough": errors.LoanStateError,
        "PrepaymentBelowSchedule": errors.InvalidRequest,
        "EnforcedPause": errors.LoanStateError,
        "ReentrancyGuardReentrantCall": errors.LoanStateError,
        "AccessControlUnauthorizedAccount": errors.AccessDenied,
        "NotATrancheLender": errors.AccessDenied,
        "CancelNotAllowed": errors.AccessDenied,
        "ERC20InsufficientBalance": errors.InsufficientFunds,
        "SafeERC20FailedOperation": errors.InsufficientFunds,
        "UnexpectedTransferAmount": errors.InsufficientFunds,
        "Panic": errors.ContractPanic,
        "Error": errors.ContractRevert,
    }
    shipped = errors.shipped_errors()
    for name, category in expected.items():
        if name in shipped:
            assert shipped[name].__bases__ == (category,), name


def test_raising_checks_the_abi_arguments() -> None:
    with pytest.raises(TypeError, match="takes"):
        errors.Overpayment(1, 2)
    with pytest.raises(TypeError, match="takes"):
        errors.Overpayment(1, 2, 3, 4)
    with pytest.raises(TypeError, match="by name"):
        errors.Overpayment(1, 2, max_payable=3)
    exc = errors.Overpayment(1, amount=2, maxPayable=3)
    assert exc.error_args == (1, 2, 3) and exc.args == (1, 2, 3)
    with pytest.raises(AttributeError, match="no field 'loan_id'"):
        _ = exc.loan_id


def test_errors_survive_pickling_and_show_names_not_codes() -> None:
    exc = errors.LoanNotInStatus(7, 5)
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is errors.LoanNotInStatus and again.fields == exc.fields
    assert str(again) == "LoanStateError: LoanNotInStatus(loanId=7, status=5 (CANCELLED))"
    role = errors.AccessControlUnauthorizedAccount(ZERO_ADDRESS, keccak(text="SERVICER_ROLE"))
    assert str(role).endswith("neededRole=SERVICER_ROLE)")
    assert str(errors.Panic(0x12)) == "ContractPanic: Panic(code=0x12, reason=division or modulo by zero)"


def test_an_unknown_name_is_not_an_error_class() -> None:
    with pytest.raises(AttributeError):
        _ = errors.NoSuchContractError  # type: ignore[attr-defined]
    made = errors.error_class("NotInAnyAbi")
    assert made is errors.error_class("NotInAnyAbi") and made.field_names is None
    assert made("x").fields == {"arg0": "x"}


def test_missing_extra_names_the_pip_install() -> None:
    exc = errors.MissingExtra("pandas", "frames", "pylender.audit.frames")
    assert isinstance(exc, ImportError) and isinstance(exc, PylenderError)
    assert str(exc) == (
        "MissingExtra: pylender.audit.frames needs pandas, which is not installed: pip install 'pylender[frames]'"
    )
