"""Build the audit's hot modules with mypyc: ``python -m tools.native build [--optional]``.

What is compiled, and when the build is used, is :mod:`pylender.native`. ``--optional`` (make's
setup) reports a failed build (no C compiler, no Python headers) and exits 0: everything then runs
from source.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pylender.native import GROUP, MODULES, PACKAGE, STAMP, check, extension_files, source_digests, source_path


def build() -> None:
    """Compile :data:`MODULES` with mypyc next to their sources, then write the stamp."""
    from mypyc.build import mypycify
    from setuptools import setup

    root = PACKAGE.parent
    work = root / ".build" / "native"
    work.mkdir(parents=True, exist_ok=True)
    STAMP.unlink(missing_ok=True)
    for files in extension_files().values():  # an older build's too: nothing stale may remain
        for old in files:
            old.unlink()
    digests = source_digests()
    here = Path.cwd()
    os.chdir(work)  # setuptools reads ./pyproject.toml: not the project's
    try:
        extensions = mypycify(
            # type-check the compiled modules; follow the modules they import without reporting on them
            ["--follow-imports=silent", "--ignore-missing-imports", *(str(source_path(m)) for m in MODULES)],
            opt_level="3",
            group_name=GROUP,
            target_dir="c",
        )
        setup(
            name="pylender-native",
            ext_modules=extensions,
            script_args=["--quiet", "build_ext", "--build-lib", str(root), "--build-temp", "temp"],
        )
    finally:
        os.chdir(here)
    if source_digests() != digests:
        raise RuntimeError("the sources changed during the build: run it again")
    STAMP.write_text(json.dumps({"python": sys.implementation.cache_tag, "sources": digests}, indent=1))
    used, why = check()
    if not used:
        raise RuntimeError(f"the build is not usable: {why}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["build"]:
        try:
            build()
        except (Exception, SystemExit) as exc:  # no compiler, no headers: everything runs from source
            print(f"pylender native build: build failed ({exc}); the audit runs from source (slower)", file=sys.stderr)
            return 0 if "--optional" in argv else 1
        print(f"pylender native build: compiled {len(MODULES)} modules")
        return 0
    if argv[:1] == ["status"]:
        used, why = check()
        print("compiled" if used else f"from source: {why}")
        return 0
    print("usage: python -m tools.native build [--optional] | status", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
