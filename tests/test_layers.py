"""The package's layers, read from its source: no import cycle, one home per name, a leaf of domain values, a
typed public API, and a README map that matches the folder tree."""

from __future__ import annotations

import ast
import itertools
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pylender"


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (``pylender.client.ledger``; a package is its ``__init__``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """(module, line) of every pylender module ``name`` imports: at the top, inside functions, under TYPE_CHECKING
    - every import statement counts, because a cycle through a function-level import is still a cycle.

    ``from a import b`` names module ``a.b`` when that is a module, else ``a``. The parent packages Python imports
    on the way (``pylender`` for ``pylender.values``) are not edges: every module would otherwise close a cycle
    through the package ``__init__`` that imports it.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in MODULES:
                    yield target, node.lineno
                elif base in MODULES:
                    yield base, node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for name, path in MODULES.items():
        edges = graph.setdefault(name, {})
        for target, line in _imports(name, path):
            if target != name:
                edges.setdefault(target, line)
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that starts and ends at the same module, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, {})):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    # errors -> reference.values -> schedule -> errors, the cycle this layout removed
    graph = {"errors": {"reference.values": 90}, "reference.values": {"schedule": 9}, "schedule": {"errors": 21}}
    assert find_cycle(graph) == ["errors", "reference.values", "schedule", "errors"]
    assert find_cycle({"a": {"b": 1}, "b": {}}) is None


def test_no_import_cycle_inside_pylender() -> None:
    graph = import_graph()
    assert len(graph) > 40 and graph["pylender.client.session"], "the walker found the package's modules and imports"
    cycle = find_cycle(graph)
    if cycle:
        steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in itertools.pairwise(cycle)]
        pytest.fail("import cycle:\n  " + "\n  ".join(steps))


def test_the_domain_values_are_a_leaf() -> None:
    """pylender.values imports nothing from pylender; the errors import only the values."""
    graph = import_graph()
    assert graph["pylender.values"] == {}
    assert set(graph["pylender.errors"]) == {"pylender.values"}


_CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")


def _definitions(path: Path) -> Iterator[tuple[str, str, int]]:
    """(kind, name, line) of the classes and UPPER_CASE constants a module defines at its top level (inside
    top-level ``if``/``try`` blocks too)."""

    def walk(body: list[ast.stmt]) -> Iterator[tuple[str, str, int]]:
        for node in body:
            if isinstance(node, ast.ClassDef):
                yield "class", node.name, node.lineno
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and not _is_type_variable(node.value):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    names = target.elts if isinstance(target, ast.Tuple) else [target]
                    for item in names:
                        if isinstance(item, ast.Name) and _CONSTANT.match(item.id):
                            yield "constant", item.id, node.lineno
            elif isinstance(node, ast.If):
                yield from walk(node.body)
                yield from walk(node.orelse)
            elif isinstance(node, ast.Try):
                yield from walk(node.body)
                for handler in node.handlers:
                    yield from walk(handler.body)

    yield from walk(ast.parse(path.read_bytes()).body)


def _is_type_variable(value: ast.expr | None) -> bool:
    """``T = TypeVar("T")``: a name for the type checker, not a constant."""
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in {"TypeVar", "ParamSpec", "TypeVarTuple", "NewType"}
    )


def test_no_class_or_constant_is_defined_twice_across_modules() -> None:
    seen: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        for kind, defined, line in _definitions(path):
            seen.setdefault(defined, []).append(f"{kind} in {name}:{line}")
    twice = {name: where for name, where in seen.items() if len(where) > 1}
    assert "BPS" in seen and "LoanTerms" in seen, "the walker found the definitions"
    assert twice == {}, "defined in more than one place:\n" + "\n".join(f"  {n}: {w}" for n, w in twice.items())


def test_the_definition_walker_sees_tuples_and_guarded_blocks(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "A, _B = 1, 2\nif True:\n    class C: ...\ntry:\n    D: int = 1\nexcept ImportError:\n    D = 2\n"
        "T = TypeVar('T')\n"
    )
    assert [(k, n) for k, n, _ in _definitions(source)] == [
        ("constant", "A"),
        ("constant", "_B"),
        ("class", "C"),
        ("constant", "D"),
        ("constant", "D"),
    ]


PUBLIC = ["Pylender", "Ledger", "LoanStatus", "PylenderError", "LoanTerms", "Tranche", "ContractError", "LoanView"]


def test_the_public_names_are_real_types_to_mypy(tmp_path: Path) -> None:
    snippet = tmp_path / "use_pylender.py"
    snippet.write_text(
        f"from pylender import {', '.join(PUBLIC)}\n" + "".join(f"reveal_type({name})\n" for name in PUBLIC)
    )
    done = subprocess.run(  # the project's mypy settings; the package from this tree (an editable install hides it)
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path),
            str(snippet),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        check=False,
    )
    revealed = [line for line in done.stdout.splitlines() if "Revealed type" in line]
    assert len(revealed) == len(PUBLIC), done.stdout + done.stderr
    for name, line in zip(PUBLIC, revealed, strict=True):
        assert not line.endswith('Revealed type is "Any"'), line
        assert f".{name}" in line, line  # e.g. def (...) -> pylender.client.session.Pylender
    assert done.returncode == 0 and "Success: no issues found" in done.stdout, done.stdout


def test_the_public_names_resolve_lazily_to_their_home() -> None:
    import pylender
    from pylender.client.session import Pylender
    from pylender.errors import PylenderError
    from pylender.values import LoanStatus

    assert (pylender.Pylender, pylender.PylenderError, pylender.LoanStatus) == (Pylender, PylenderError, LoanStatus)
    assert set(pylender.__all__) <= set(dir(pylender))
    for name in pylender.__all__:
        assert getattr(pylender, name) is not None
    with pytest.raises(AttributeError):
        _ = pylender.NoSuchName  # type: ignore[attr-defined]


def test_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    from click.testing import CliRunner

    import pylender
    from pylender.cli import cli

    assert pylender.__version__ == version("pylender")
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"pylender {version('pylender')}\n"


# -- the README's map of the tree -----------------------------------------------------------------------------------


def readme_map() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Where things are")
    end = text.index("\n## ", start + 3)
    return text[start:end]


def test_the_readme_map_names_every_part_of_the_tree() -> None:
    text = readme_map()
    named = set(re.findall(r"`([\w./-]+)`", text))
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    top = {path.split("/")[0] + "/" for path in tracked.split() if "/" in path and not path.startswith(".")}
    inside = {
        f"pylender/{p.name}" + ("/" if p.is_dir() else "")
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.name != "__init__.py")
    }
    assert top <= named, f"the map misses {sorted(top - named)}"
    assert inside <= named, f"the map misses {sorted(inside - named)}"
    missing = sorted(n for n in named if "/" in n and not (ROOT / n).exists())
    assert not missing, f"the map names paths that do not exist: {missing}"


def test_the_readme_map_is_one_paragraph() -> None:
    body = textwrap.dedent(readme_map().split("\n", 1)[1]).strip()
    assert "\n\n" not in body, "one paragraph"


LAYERS = [  # lowest first; a module may import its own layer and the ones below it
    ("pylender.values",),
    ("pylender.errors",),
    ("pylender.schedule", "pylender.artifacts", "pylender.native"),
    ("pylender.reference",),
    ("pylender.client",),
    ("pylender.audit",),
    ("pylender.statements",),
    ("pylender.scenarios",),
    ("pylender.cli",),
]


def _layer(module: str) -> int:
    if module == "pylender":  # the package's public names: the top, like the command line
        return len(LAYERS) - 1
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_every_import_points_down_the_layers() -> None:
    graph = import_graph()
    assert {"pylender.client.ledger", "pylender.values"} <= set(graph["pylender.scenarios.runner"])
    upward = [
        f"{source} (layer {_layer(source)}) imports {target} (layer {_layer(target)}) at line {line}"
        for source, targets in graph.items()
        for target, line in targets.items()
        if _layer(target) > _layer(source)
    ]
    assert upward == []
