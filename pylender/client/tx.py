"""Sending transactions fast: local nonces, local signing, raw sends, tight receipt polling.

:class:`TxSender` owns one account's nonce. :meth:`TxSender.send` estimates gas (which also
surfaces a revert *before* sending, decoded into a named exception), signs, sends raw and waits.
:meth:`TxSender.send_many` pipelines: it signs and sends up to ``window`` transactions, then
collects their receipts, with a cached per-function gas limit (estimated once, with margin).
With ``journal=path`` it is idempotent: each signed transaction is journaled and fsynced before it is
broadcast (:mod:`pylender.client.journal`), and a rerun of the same calls with that journal after a crash
lands every call exactly once.

Fees: EIP-1559 when the latest block has a base fee, legacy ``gasPrice`` otherwise; a fixed
``gas_price`` (0 is allowed, for permissioned networks) overrides both.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from pylender.client.journal import JournalEntry, WriteAheadJournal
from pylender.client.signing import FastSigner
from pylender.errors import ContractError, ErrorDecoder, JournalError, TransactionFailed

log = logging.getLogger(__name__)

GAS_MARGIN_NUM, GAS_MARGIN_DEN = 3, 2  # +50 % on estimates cached for the bulk path
MIN_GAS = 100_000
# The bulk path reuses one estimate for many calls of a function, but a call's cost depends on
# state: a loan's first repayment writes zero slots (~50k gas more than a later one), and a batch
# pays that once per loan. The cached limit therefore adds this much per 64 bytes of calldata
# (one (loanId, amount) pair of a batch). A limit is an upper bound: only gas used is charged.
FIRST_WRITE_PAD_PER_64_BYTES = 60_000
FEE_TTL = 30.0  # seconds a fee quote is reused (base fees move block by block on real networks)


@dataclass(frozen=True)
class Call:
    """One contract call to send: target, calldata and a label for gas caching and messages."""

    to: str
    data: str
    label: str
    value: int = 0


@dataclass
class Receipt:
    """The parts of a receipt pylender uses."""

    tx_hash: str
    block_number: int
    gas_used: int
    status: int
    logs: list[dict[str, Any]] = field(default_factory=list, repr=False)
    contract_address: str | None = None


def _gas_key(call: Call) -> tuple[str, int]:
    """Calls of one function with calldata of one length (a batch of n loans) share a gas limit."""
    return (call.label, len(call.data))


_RETURN_DATA = re.compile(r"return data: (0x[0-9a-fA-F]{8,})")


def revert_data(err: Any) -> str | None:
    """The revert data of a JSON-RPC error, however the node gives it: ``error.data`` as hex (anvil, geth),
    ``error.data.data`` (hardhat, ganache), or only inside the message (hardhat's "unrecognized custom error
    (return data: 0x...)"); None when there is none."""
    if not isinstance(err, dict):
        return None
    data = err.get("data")
    if isinstance(data, dict):
        data = data.get("data") or data.get("result")
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        return data
    found = _RETURN_DATA.search(str(err.get("message", "")))
    return found.group(1) if found else None


def _hex_int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(str(value), 16)


class TxSender:
    """Signs and sends transactions for one account with a locally managed nonce."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        decoder: ErrorDecoder,
        *,
        chain_id: int | None = None,
        confirmations: int = 0,
        gas_price: int | None = None,
        poll_interval: float = 0.002,
        receipt_timeout: float = 120.0,
        on_sent: Callable[[Call, Receipt], None] | None = None,
    ) -> None:
        self.w3 = w3
        self.on_sent = on_sent
        """Told of every transaction :meth:`send` and :meth:`deploy` land (the command line prints hash, block, gas)."""
        self.account = account
        self.address: str = account.address
        self.decoder = decoder
        self.chain_id = chain_id if chain_id is not None else w3.eth.chain_id
        self.confirmations = confirmations
        self.gas_price = gas_price
        self.poll_interval = poll_interval
        self.receipt_timeout = receipt_timeout
        self._nonce: int | None = None
        self._signer = FastSigner(account)  # eth_account's exact bytes, a fifth of its time
        # (label, calldata length) -> limit from estimates; label -> limit set by set_gas_limit
        self._gas_cache: dict[tuple[str, int] | str, int] = {}
        self._fees: dict[str, int] | None = None
        self._fees_at = 0.0

    # -- raw RPC ---------------------------------------------------------------------------------
    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            err = response["error"]
            data = revert_data(err)
            if data is not None:
                raise self.decoder.decode(data)
            message = err.get("message", err) if isinstance(err, dict) else err
            raise TransactionFailed(f"{method} failed: {message}")
        return response["result"]

    # -- nonce and fees ------------------------------------------------------------------------
    def next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = _hex_int(self._rpc("eth_getTransactionCount", [self.address, "pending"]))
        nonce = self._nonce
        self._nonce += 1
        return nonce

    def resync_nonce(self) -> None:
        self._nonce = None

    def fee_fields(self) -> dict[str, int]:
        """EIP-1559 fields when the chain has a base fee, else a legacy gas price (cached for 30 s)."""
        if self._fees is not None and time.monotonic() - self._fees_at < FEE_TTL:
            return self._fees
        block = self._rpc("eth_getBlockByNumber", ["latest", False])
        base = block.get("baseFeePerGas")
        if base is not None:
            if self.gas_price is not None:
                fees = {"maxFeePerGas": self.gas_price, "maxPriorityFeePerGas": self.gas_price}
            else:
                try:
                    tip = _hex_int(self._rpc("eth_maxPriorityFeePerGas", []))
                except (TransactionFailed, ValueError):
                    tip = 10**9
                fees = {"maxFeePerGas": 2 * _hex_int(base) + tip, "maxPriorityFeePerGas": tip}
        else:
            price = self.gas_price if self.gas_price is not None else _hex_int(self._rpc("eth_gasPrice", []))
            fees = {"gasPrice": price}
        self._fees = fees
        self._fees_at = time.monotonic()
        return fees

    def refresh_fees(self) -> None:
        self._fees = None

    # -- gas -------------------------------------------------------------------------------------
    def estimate(self, call: Call) -> int:
        """``eth_estimateGas``; a revert is raised as its decoded named exception."""
        params: dict[str, Any] = {"from": self.address, "to": call.to, "data": call.data}
        if call.value:
            params["value"] = hex(call.value)
        gas = _hex_int(self._rpc("eth_estimateGas", [params]))
        key = _gas_key(call)
        margin = self._margin(gas, call)
        if margin > self._gas_cache.get(key, 0):
            self._gas_cache[key] = margin
        return gas

    @staticmethod
    def _margin(gas: int, call: Call) -> int:
        pad = FIRST_WRITE_PAD_PER_64_BYTES * max(1, (len(call.data) - 2) // 128)  # hex chars: 2 per byte
        return max(MIN_GAS, gas * GAS_MARGIN_NUM // GAS_MARGIN_DEN + pad)

    def gas_for(self, call: Call) -> int:
        """The cached generous limit for this function (estimating it the first time)."""
        if call.label in self._gas_cache:  # fixed by set_gas_limit: wins over any estimate
            return self._gas_cache[call.label]
        key = _gas_key(call)
        if key not in self._gas_cache:
            self.estimate(call)
        return self._gas_cache[key]

    def set_gas_limit(self, label: str, gas: int) -> None:
        """Fix the bulk path's gas limit for every call labelled ``label`` (no estimate)."""
        self._gas_cache[label] = gas

    # -- signing and sending ------------------------------------------------------------------
    def _sign(self, call: Call, gas: int, nonce: int) -> bytes:
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": call.to,
            "data": call.data,
            "value": call.value,
            "gas": gas,
            **self.fee_fields(),
        }
        if call.to == "":
            del tx["to"]
        return self._signer.sign(tx)

    def _send_raw(self, raw: bytes) -> str:
        tx_hash = "0x" + keccak(raw).hex()
        try:
            return str(self._rpc("eth_sendRawTransaction", ["0x" + raw.hex()]))
        except (TransactionFailed, ContractError):
            # A lost reply makes the transport send again, and the node refuses the copy ("nonce too low",
            # "already known"): the transaction itself is in. Reporting it as failed would make the caller
            # post the payment twice.
            if self._known(tx_hash):
                return tx_hash
            self.resync_nonce()
            raise
        except OSError:  # NodeUnreachable and other transport errors: the nonce may or may not be used
            self.resync_nonce()
            raise

    def _known(self, tx_hash: str) -> bool:
        """Whether the node has the transaction (mined or pending)."""
        try:
            return self._rpc("eth_getTransactionByHash", [tx_hash]) is not None
        except (TransactionFailed, ContractError, OSError):
            return False

    def send(self, call: Call, *, gas: int | None = None) -> Receipt:
        """Estimate (raising a decoded revert), sign, send, wait; raise if the receipt fails."""
        if gas is None:
            gas = self.estimate(call)
            gas = gas + gas // 5 + 20_000
        tx_hash = self._send_raw(self._sign(call, gas, self.next_nonce()))
        receipt = self.wait(tx_hash)
        if receipt.status != 1:
            raise self._explain_failure(call, receipt, gas)
        if self.on_sent is not None:
            self.on_sent(call, receipt)
        return receipt

    def deploy(self, bytecode: str, label: str) -> Receipt:
        """Send a contract creation and return its receipt (``contract_address`` set)."""
        call = Call(to="", data=bytecode, label=label)
        params = {"from": self.address, "data": bytecode}
        gas = _hex_int(self._rpc("eth_estimateGas", [params]))
        tx_hash = self._send_raw(self._sign(call, gas + gas // 5, self.next_nonce()))
        receipt = self.wait(tx_hash)
        if receipt.status != 1 or not receipt.contract_address:
            raise TransactionFailed(f"deployment of {label} failed in tx {tx_hash}")
        if self.on_sent is not None:
            self.on_sent(call, receipt)
        return receipt

    def send_many(
        self,
        calls: Sequence[Call],
        *,
        window: int = 64,
        on_receipt: Callable[[int, Receipt], None] | None = None,
        journal: str | Path | None = None,
    ) -> list[Receipt]:
        """Pipeline: sign and send up to ``window`` transactions, then collect their receipts.

        Gas comes from the per-function cache (estimated once, +50 % and a pad), estimated for a
        whole window before any of it is sent, so a reverting estimate leaves nothing unreported.
        A call that still runs out of gas (it did more work than the one estimated: more overdue
        installments, say) reverted and changed nothing; it is estimated afresh and sent again.
        If one fails otherwise, the rest already sent still land; the first failure is raised
        after the window drains.

        ``journal`` makes the run idempotent: every signed transaction (index in ``calls``, label,
        nonce, hash, raw bytes) is appended to that file and fsynced *before* it is broadcast. Run
        the same ``calls`` with the same journal again after a crash and each call lands exactly
        once: a journaled transaction that was mined counts as done (reported to ``on_receipt``
        with its index, not resent); one not mined whose nonce is still free is rebroadcast
        byte for byte (same hash, so it can land at most once); one whose nonce another
        transaction used can never land and is signed afresh. Calls without an entry are then
        sent. A journal written for other calls raises :class:`JournalMismatch`.
        """
        if journal is None:
            return self._pipeline(calls, list(range(len(calls))), window, on_receipt, None, {})
        book = WriteAheadJournal.open(Path(journal), self.address, self.chain_id, calls)
        done: dict[int, Receipt] = {}
        first_error: BaseException | None = None
        if book.entries:
            done, first_error = self._recover(calls, book, on_receipt)
        todo = [i for i in range(len(calls)) if i not in done]
        try:
            receipts = self._pipeline(calls, todo, window, on_receipt, book, done)
        except BaseException:
            if first_error is not None:
                raise first_error from None
            raise
        if first_error is not None:
            raise first_error
        return receipts

    def _pipeline(
        self,
        calls: Sequence[Call],
        indices: list[int],
        window: int,
        on_receipt: Callable[[int, Receipt], None] | None,
        book: WriteAheadJournal | None,
        done: dict[int, Receipt],
    ) -> list[Receipt]:
        """Send ``calls[i]`` for every i in ``indices`` (pipelined); ``done`` holds the other receipts."""
        results = dict(done)
        first_error: BaseException | None = None
        for start in range(0, len(indices), window):
            chunk = indices[start : start + window]
            limits = [self.gas_for(calls[index]) for index in chunk]
            hashes: list[tuple[int, str, int]] = []
            for index, gas in zip(chunk, limits, strict=True):
                hashes.append((index, self._broadcast(index, calls[index], gas, book), gas))
            for index, tx_hash, gas in hashes:
                call = calls[index]
                receipt = self.wait(tx_hash)
                if receipt.status != 1 and receipt.gas_used >= gas and first_error is None:
                    log.info(
                        "%s ran out of its cached %d gas in %s; estimating and sending again", call.label, gas, tx_hash
                    )
                    try:
                        retry_gas = self._margin(self.estimate(call), call)
                        receipt = self.wait(self._broadcast(index, call, retry_gas, book))
                        gas = retry_gas
                    except Exception as exc:  # decoded revert or transport error: report after the window
                        first_error = exc
                results[index] = receipt
                if receipt.status != 1 and first_error is None:
                    first_error = self._explain_failure(call, receipt, gas)
                if on_receipt is not None:
                    on_receipt(index, receipt)
            if first_error is not None:
                raise first_error
        return [results[i] for i in range(len(calls))]

    def _broadcast(self, index: int, call: Call, gas: int, book: WriteAheadJournal | None) -> str:
        """Sign with the next nonce, journal it (write-ahead) when journaling, send raw; the tx hash."""
        nonce = self.next_nonce()
        raw = self._sign(call, gas, nonce)
        if book is not None:
            book.append(index, call, nonce, gas, raw)
        return self._send_raw(raw)

    def _recover(
        self, calls: Sequence[Call], book: WriteAheadJournal, on_receipt: Callable[[int, Receipt], None] | None
    ) -> tuple[dict[int, Receipt], BaseException | None]:
        """Settle a journal's entries after a crash: mined ones are done, the others are rebroadcast
        unchanged while their nonce is free (and waited for); the rest are left to be signed afresh."""
        chain_nonce = _hex_int(self._rpc("eth_getTransactionCount", [self.address, "latest"]))
        done: dict[int, Receipt] = {}
        first_error: BaseException | None = None
        rebroadcast: list[JournalEntry] = []
        for index, entries in sorted(book.by_index().items()):
            mined: tuple[JournalEntry, Receipt] | None = None
            for entry in entries:
                receipt = self._receipt_if_mined(entry.tx_hash)
                if receipt is not None and (mined is None or mined[1].status != 1):  # a success wins, else the latest
                    mined = (entry, receipt)
            if mined is not None and (mined[1].status == 1 or mined[0] is entries[-1]):
                entry, receipt = mined
                if receipt.status == 1 or receipt.gas_used < entry.gas:
                    done[index] = receipt  # landed (a revert other than out-of-gas is reported, not retried)
                    if receipt.status != 1 and first_error is None:
                        first_error = self._explain_failure(calls[index], receipt, entry.gas)
                    if on_receipt is not None:
                        on_receipt(index, receipt)
                # out of gas: it changed nothing; it is signed afresh like a call that never landed
                continue
            last = entries[-1]
            if last.nonce >= chain_nonce:
                rebroadcast.append(last)
            else:
                log.info(
                    "journal: %s (index %d) lost nonce %d to another transaction; signing it afresh",
                    last.label,
                    index,
                    last.nonce,
                )
        rebroadcast.sort(key=lambda e: e.nonce)
        expected = chain_nonce
        for entry in rebroadcast:
            if entry.nonce != expected:
                raise JournalError(
                    f"journal {book.path}: nonce {expected} is neither on chain nor journaled, so the journaled "
                    f"transaction {entry.tx_hash} (index {entry.index}, nonce {entry.nonce}) cannot be mined"
                )
            expected += 1
        self.resync_nonce()
        for entry in rebroadcast:
            log.info("journal: rebroadcasting %s (index %d, nonce %d)", entry.tx_hash, entry.index, entry.nonce)
            self._send_raw(bytes.fromhex(entry.raw[2:]))
        for entry in rebroadcast:
            receipt = self.wait(entry.tx_hash)
            call = calls[entry.index]
            if receipt.status != 1 and receipt.gas_used >= entry.gas:
                log.info("journal: %s ran out of gas on rebroadcast; it is sent again", entry.tx_hash)
                continue
            done[entry.index] = receipt
            if receipt.status != 1 and first_error is None:
                first_error = self._explain_failure(call, receipt, entry.gas)
            if on_receipt is not None:
                on_receipt(entry.index, receipt)
        self.resync_nonce()
        return done, first_error

    def _receipt_if_mined(self, tx_hash: str) -> Receipt | None:
        if self._rpc("eth_getTransactionReceipt", [tx_hash]) is None:
            return None
        return self.wait(tx_hash)

    # -- receipts --------------------------------------------------------------------------------
    def wait(self, tx_hash: str) -> Receipt:
        """Poll for the receipt (2 ms, backing off to 100 ms), then for ``confirmations`` blocks."""
        deadline = time.monotonic() + self.receipt_timeout
        delay = self.poll_interval
        while True:
            raw = self._rpc("eth_getTransactionReceipt", [tx_hash])
            if raw is not None:
                break
            if time.monotonic() > deadline:
                raise TransactionFailed(f"no receipt for {tx_hash} after {self.receipt_timeout:.0f} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.1)
        receipt = Receipt(
            tx_hash=tx_hash,
            block_number=_hex_int(raw["blockNumber"]),
            gas_used=_hex_int(raw["gasUsed"]),
            status=_hex_int(raw["status"]),
            logs=raw.get("logs", []),
            contract_address=raw.get("contractAddress"),
        )
        if self.confirmations > 0:
            self._wait_confirmations(receipt)
        return receipt

    def _wait_confirmations(self, receipt: Receipt) -> None:
        target = receipt.block_number + self.confirmations
        deadline = time.monotonic() + self.receipt_timeout
        while _hex_int(self._rpc("eth_blockNumber", [])) < target:
            if time.monotonic() > deadline:
                raise TransactionFailed(f"{receipt.tx_hash} not confirmed {self.confirmations} times in time")
            time.sleep(0.2)
        again = self._rpc("eth_getTransactionReceipt", [receipt.tx_hash])
        if again is None or _hex_int(again["blockNumber"]) != receipt.block_number:
            raise TransactionFailed(f"{receipt.tx_hash} was reorganised out of block {receipt.block_number}")

    def _explain_failure(self, call: Call, receipt: Receipt, gas: int) -> BaseException:
        """Why a mined transaction failed: replay it as a call on the parent block's state."""
        self.resync_nonce()
        if receipt.gas_used >= gas:
            return TransactionFailed(f"{call.label} ran out of gas ({gas}) in tx {receipt.tx_hash}")
        params = {"from": self.address, "to": call.to, "data": call.data, "gas": hex(gas)}
        try:
            self._rpc("eth_call", [params, hex(max(receipt.block_number - 1, 0))])
        except ContractError as exc:
            return exc
        except TransactionFailed as exc:
            return exc
        return TransactionFailed(f"{call.label} reverted in tx {receipt.tx_hash}")
