"""The compiled build of the audit's hot modules is used only while it matches its sources."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import pylender.native as native
from pylender.native import MODULES


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A build of every compiled module (as far as ``check`` can tell) and a stamp file to write."""
    monkeypatch.delenv(native.ENV, raising=False)
    monkeypatch.setattr(native, "extension_files", lambda: {m: [tmp_path / f"{m}.so"] for m in MODULES})
    stamp = tmp_path / "native.json"
    monkeypatch.setattr(native, "STAMP", stamp)
    return stamp


def _write(stamp: Path, sources: dict[str, str], python: str = sys.implementation.cache_tag) -> None:
    stamp.write_text(json.dumps({"python": python, "sources": sources}))


def test_a_build_matching_its_sources_is_used(built: Path) -> None:
    _write(built, native.source_digests())
    assert native.check() == (True, "compiled")


def test_a_changed_source_turns_the_build_off(built: Path) -> None:
    sources = native.source_digests()
    sources["audit/replay.py"] = "0" * 64  # as if replay.py changed after the build
    _write(built, sources)
    assert native.check() == (False, "sources changed since the build (make rebuilds it)")


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        (None, "no readable stamp"),
        ({"python": sys.implementation.cache_tag, "sources": {"gone.py": "0" * 64}}, "a source it names is gone"),
        ({"python": "cpython-00", "sources": {}}, "built for cpython-00"),
    ],
)
def test_no_stamp_a_vanished_source_or_another_python_turn_it_off(
    built: Path, stamp: dict[str, object] | None, reason: str
) -> None:
    if stamp is not None:
        built.write_text(json.dumps(stamp))
    used, why = native.check()
    assert not used and reason in why


def test_the_environment_forces_the_sources(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(built, native.source_digests())
    monkeypatch.setenv(native.ENV, "0")
    assert native.check() == (False, "PYLENDER_NATIVE=0")


def test_an_incomplete_build_is_not_used(built: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write(built, native.source_digests())
    monkeypatch.setattr(native, "extension_files", lambda: {MODULES[0]: [tmp_path / "x.so"]})
    assert native.check() == (False, "incomplete build")


def test_the_stamp_covers_what_the_compiled_modules_import() -> None:
    names = {str(p.relative_to(native.PACKAGE)) for p in native.dependencies()}
    assert {
        "audit/replay.py",
        "audit/records.py",
        "reference/splitting.py",
        "schedule.py",
        "values.py",
        "errors.py",
    } <= names
    assert not any(n.startswith("audit/cli") for n in names) and "audit/verify.py" not in names


def test_modules_whose_build_is_not_used_load_from_source() -> None:
    finder = native._SourceFirst({"pylender.audit.replay"})
    spec = finder.find_spec("pylender.audit.replay", None)
    assert spec.origin == str(native.source_path("pylender.audit.replay"))
    assert spec.origin.endswith("pylender/audit/replay.py")
    assert finder.find_spec("pylender.audit.views", None) is None


def test_the_modules_imported_are_the_ones_the_check_allowed() -> None:
    """Under ``make`` with a C compiler the build is fresh and in use; under PYLENDER_NATIVE=0 (or without
    a build) every module comes from source."""
    import pylender.audit.replay  # noqa: F401

    used, why = native.STATUS
    assert native.active() == used, why
    if native.STAMP.exists() and native.ENV not in os.environ:
        assert used, why
