"""``pylender audit verify --follow``: one line per verified record, until a finding or Ctrl-C."""

from __future__ import annotations

import json
import signal
import sys
from types import FrameType
from typing import Any

import click
from web3 import Web3

from pylender.audit.cli.source import Source
from pylender.audit.findings import EXIT_FINDINGS, EXIT_INTERRUPTED
from pylender.audit.follow import FindingEvent, Follower, FollowEvent, Verified, follow_ledger

EXIT_TERMINATED = 143  # 128 + SIGTERM


class _Stopped(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _emit(event: FollowEvent | dict[str, Any], as_json: bool) -> None:
    if isinstance(event, dict):
        text = json.dumps(event, default=str) if as_json else str(event["text"])
    else:
        text = json.dumps(event.to_json(), default=str) if as_json else event.line()
    click.echo(text)
    sys.stdout.flush()  # a line as soon as it is verified, piped too


def run_follow(src: Source, w3: Web3, ledger: str, *, poll: float, views: bool, positions: bool, as_json: bool) -> None:
    """Follow until a finding (exit 1) or a signal (SIGINT 130, SIGTERM 143), with a closing summary line."""
    follower = Follower(
        w3,
        ledger,
        abi=src.abi_list(),
        confirmations=src.confirmations,
        index_path=src.index,
        from_block=src.from_block or 0,
        compare_with_views=views,
        positions=positions,
    )

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise _Stopped(EXIT_TERMINATED)

    previous = signal.signal(signal.SIGTERM, terminate)
    code, why, last = 0, "", None
    try:
        for event in follow_ledger(w3, ledger, poll_interval=poll, follower=follower):
            _emit(event, as_json)
            if isinstance(event, Verified):
                last = event.record
            if isinstance(event, FindingEvent):
                code, why = EXIT_FINDINGS, "stopped at a finding"
    except KeyboardInterrupt:
        code, why = EXIT_INTERRUPTED, "stopped (interrupted)"
    except _Stopped as stop:
        code, why = stop.code, "stopped (terminated)"
    finally:
        signal.signal(signal.SIGTERM, previous)
        follower.close()
    where = f", last seq {last.seq} at block {last.block_number}" if last is not None else ""
    summary = f"{why}: {follower.verified} new record(s) verified{where}"
    _emit({"event": "stopped", "text": summary, "exit_code": code, "verified": follower.verified}, as_json)
    raise SystemExit(code)
