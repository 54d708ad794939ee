"""The audit's hot modules compiled to C with mypyc, used only while they match the sources.

An audit runs Python per record (decode, hash chain, replay of the books) and per view (the lens's
calldata and answers, the result readers, the comparison); a statement, per movement of its
institution. mypyc (part of mypy) compiles those modules, unchanged, into extension modules: about
a third less CPU for a whole audit.
``python -m tools.native build`` (``make`` runs it) builds them next to their sources and writes
a stamp with the SHA-256 of their sources and of every pylender module they import.

Python imports an extension module in preference to the ``.py`` beside it, so a build left over
from older sources would run old code. :func:`install` (run by ``import pylender``) prevents that:
unless every source still matches the stamp, it puts a finder in front of the import system that
loads the compiled modules from their ``.py`` files. Compiled modules call each other directly, so
the build is used whole or not at all. ``PYLENDER_NATIVE=0`` forces the sources.

Where no C compiler is available the build fails with a message and everything runs from source:
same results, slower audits.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = Path(__file__).resolve().parent
STAMP = PACKAGE / "native.json"
# The modules compiled together (one mypyc group): what an audit runs per record (decoding, hash chain,
# replay, the reference books) and per view (the lens, the readers, the comparison), and what a statement
# runs per movement (its institution's credits, the dated rows).
MODULES = (
    "pylender.reference.records",
    "pylender.reference.splitting",
    "pylender.audit.layout",
    "pylender.audit.chain",
    "pylender.audit.records",
    "pylender.audit.replay",
    "pylender.audit.lens",
    "pylender.audit.snapshot",
    "pylender.audit.views",
    "pylender.audit.reconcile",
    "pylender.audit.prefetch",
    "pylender.statements.movements",
)
GROUP = "pylender.native_group"  # the shared library: pylender/native_group__mypyc.*.so
ENV = "PYLENDER_NATIVE"


def source_path(module: str) -> Path:
    return PACKAGE.parent.joinpath(*module.split(".")).with_suffix(".py")


def _module_file(module: str) -> Path | None:
    path = source_path(module)
    if path.exists():
        return path
    package = path.with_suffix("") / "__init__.py"
    return package if package.exists() else None


def dependencies() -> list[Path]:
    """The compiled modules' sources and every pylender module they import, directly or not (mypyc may
    build constants and types of those into the compiled code)."""
    files: dict[str, Path | None] = {}
    todo = list(MODULES)
    while todo:
        module = todo.pop()
        if module in files:
            continue
        file = files[module] = _module_file(module)
        if file is not None:
            todo += _imports(file, module if file.name == "__init__.py" else module.rpartition(".")[0])
    return sorted({file for file in files.values() if file is not None})


def _imports(path: Path, package: str) -> list[str]:
    """The pylender modules ``path`` imports (``from pylender.x import y`` may name a module ``y``)."""
    import ast

    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if not node.level else f"{package.rsplit('.', node.level - 1)[0]}.{node.module}"
            out += [base, *(f"{base}.{a.name}" for a in node.names)]
    return [m for m in out if m == "pylender" or m.startswith("pylender.")]


def source_digests(paths: list[Path] | None = None) -> dict[str, str]:
    """SHA-256 of ``paths`` (default: :func:`dependencies`), by path relative to the package."""
    import hashlib

    return {
        str(path.relative_to(PACKAGE)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in (dependencies() if paths is None else paths)
    }


def extension_files() -> dict[str, list[Path]]:
    """Every extension module file in the package (a build's, maybe an older one's), by module name."""
    out: dict[str, list[Path]] = {}
    for path in sorted([*PACKAGE.rglob("*.so"), *PACKAGE.rglob("*.pyd")]):
        parts = path.relative_to(PACKAGE.parent).with_name(path.name.split(".")[0]).parts
        out.setdefault(".".join(parts), []).append(path)
    return out


def check() -> tuple[bool, str]:
    """Whether the compiled modules may be used, and why not."""
    if os.environ.get(ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False, f"{ENV}=0"
    extensions = extension_files()
    if not any(m in extensions for m in MODULES):
        return False, "not built (python -m tools.native build)"
    if not all(m in extensions for m in MODULES):
        return False, "incomplete build"
    import json

    try:
        stamp = json.loads(STAMP.read_text())
        sources = stamp["sources"]
        current = source_digests([PACKAGE / p for p in sources])
    except (OSError, ValueError, KeyError, TypeError):
        return False, f"no readable stamp {STAMP.name}, or a source it names is gone: rebuild"
    if stamp.get("python") != sys.implementation.cache_tag:
        return False, f"built for {stamp.get('python')}, running {sys.implementation.cache_tag}"
    if sources != current:
        return False, "sources changed since the build (make rebuilds it)"
    return True, "compiled"


class _SourceFirst:
    """Loads the named modules from their ``.py`` files, whatever extension module lies beside them."""

    def __init__(self, modules: set[str]) -> None:
        self.modules = modules

    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> Any:
        if fullname not in self.modules:
            return None
        import importlib.machinery
        import importlib.util

        source = source_path(fullname)
        loader = importlib.machinery.SourceFileLoader(fullname, str(source))
        return importlib.util.spec_from_file_location(fullname, source, loader=loader)


STATUS: tuple[bool, str] = (False, "not checked")


def install() -> tuple[bool, str]:
    """Use the compiled modules only when :func:`check` allows (any other extension module in the package,
    a leftover, never); return its answer (also in ``STATUS``)."""
    global STATUS
    STATUS = check()
    for finder in [f for f in sys.meta_path if isinstance(f, _SourceFirst)]:
        sys.meta_path.remove(finder)
    allowed = set(MODULES) if STATUS[0] else set()
    shadowed = {m for m in extension_files() if m not in allowed and source_path(m).exists()}
    if shadowed:
        sys.meta_path.insert(0, _SourceFirst(shadowed))
    return STATUS


def active() -> bool:
    """Whether the audit's hot modules run compiled in this process."""
    replay = sys.modules.get("pylender.audit.replay")
    return replay is not None and not str(getattr(replay, "__file__", "")).endswith(".py")


def describe() -> str:
    """One line for reports: compiled or from source, and why."""
    used, why = STATUS
    return "compiled (mypyc)" if used else f"from source ({why})"
