"""Incremental checks of the record stream: seq continuity, order and the hash chain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pylender.audit.events import EventCatalog
from pylender.audit.findings import Finding
from pylender.audit.layout import keccak_256
from pylender.audit.records import HASH_MASK, SEQ_MASK, Record, chain_head, format_head, seq_of
from pylender.errors import AuditError


class ChainChecker:
    """Feeds records one by one and reports the first break of each defect.

    After a finding the checker re-synchronises on the record's own head, so one altered record
    yields one finding at its seq, and the records after it are still checked against it.
    """

    def __init__(self, catalog: EventCatalog, head: int = 0) -> None:
        self.catalog = catalog
        self.head = head
        self.findings: list[Finding] = []
        self.count = 0

    @property
    def seq(self) -> int:
        return seq_of(self.head)

    def feed(self, record: Record, body: bytes | None = None) -> bool:
        """Check one record; True when it extends the chain cleanly.

        ``body`` is the record's chain pre-image after the previous head, taken from the raw log
        (:meth:`pylender.audit.records.LogDecoder.decode_chained`); without it the fields are
        re-encoded with eth-abi.
        """
        self.count += 1
        head = self.head
        expected_seq = (head & SEQ_MASK) + 1
        if body is not None and record.seq == expected_seq and record.head & SEQ_MASK == expected_seq:
            digest = int.from_bytes(keccak_256(head.to_bytes(32, "big") + body).digest(), "big")
            computed = (digest & HASH_MASK) | expected_seq
            if computed == record.head:
                self.head = computed
                return True
            return self._mismatch(record, computed)
        if record.seq != seq_of(record.head):
            self.findings.append(
                Finding(
                    check="seq",
                    seq=record.seq,
                    subject=record.kind,
                    field="seq",
                    expected=str(seq_of(record.head)),
                    found=str(record.seq),
                    detail="the record's seq differs from the seq packed in its head",
                )
            )
            self.head = record.head
            return False
        if record.seq != expected_seq:
            if record.seq > expected_seq:
                missing = f"{expected_seq}" if record.seq == expected_seq + 1 else f"{expected_seq}..{record.seq - 1}"
                detail = f"record(s) {missing} missing"
                seq = expected_seq
            else:
                detail = "record out of order or duplicated"
                seq = record.seq
            self.findings.append(
                Finding(
                    check="seq",
                    seq=seq,
                    subject=record.kind,
                    field="seq",
                    expected=str(expected_seq),
                    found=str(record.seq),
                    detail=detail,
                )
            )
            if record.seq > expected_seq:  # resync after a gap; an out-of-order record leaves the state alone
                self.head = record.head
            return False
        try:
            spec = self.catalog.by_name(record.kind)
            computed = chain_head(self.head, expected_seq, spec, record.fields)
        except (AuditError, ValueError, TypeError, KeyError) as exc:
            self.findings.append(
                Finding(
                    check="chain",
                    seq=record.seq,
                    subject=record.kind,
                    field="fields",
                    expected="a record the ledger ABI can encode",
                    found=str(exc),
                )
            )
            self.head = record.head
            return False
        if computed != record.head:
            return self._mismatch(record, computed)
        self.head = computed
        return True

    def _mismatch(self, record: Record, computed: int) -> bool:
        self.findings.append(
            Finding(
                check="chain",
                seq=record.seq,
                subject=record.kind,
                field="head",
                expected=format_head(computed),
                found=format_head(record.head),
                detail="the record's contents do not hash to its head (altered, reordered or forged)",
            )
        )
        self.head = record.head
        return False

    def feed_all(self, records: Iterable[Record], bodies: Sequence[bytes | None] | None = None) -> None:
        if bodies is None:
            for record in records:
                self.feed(record)
        else:
            for record, body in zip(records, bodies, strict=True):
                self.feed(record, body)

    def check_final(self, trusted_head: int, source: str = "the ledger's auditHead") -> None:
        """Compare the chain's end with a trusted head (the ledger's ``auditHead`` or a known value).

        ``source`` says where the head comes from, as it reads in a sentence ("the ledger's auditHead at
        block 120", "the --expected-head"). Records missing at the end are named by their seqs."""
        trusted_seq = seq_of(trusted_head)
        if self.seq < trusted_seq:
            missing = f"{self.seq + 1}" if trusted_seq == self.seq + 1 else f"{self.seq + 1}..{trusted_seq}"
            self.findings.append(
                Finding(
                    check="head",
                    seq=self.seq + 1,
                    subject=source,
                    field="auditHead seq",
                    expected=str(trusted_seq),
                    found=str(self.seq),
                    detail=f"record(s) {missing} missing at the end: the trail ends at seq {self.seq}, "
                    f"{source} is seq {trusted_seq}",
                )
            )
        elif self.seq > trusted_seq:
            self.findings.append(
                Finding(
                    check="head",
                    seq=trusted_seq + 1,
                    subject=source,
                    field="auditHead seq",
                    expected=str(trusted_seq),
                    found=str(self.seq),
                    detail=f"records {trusted_seq + 1}..{self.seq} are beyond {source} (forged or of another chain)",
                )
            )
        elif self.head != trusted_head:
            self.findings.append(
                Finding(
                    check="head",
                    seq=self.seq,
                    subject=source,
                    field="auditHead",
                    expected=format_head(trusted_head),
                    found=format_head(self.head),
                    detail=f"the recomputed chain does not end in {source}",
                )
            )
