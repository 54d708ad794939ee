"""Compile ``contracts/`` and ship ABI + bytecode inside the package (``pylender/artifacts``).

The client loads these JSON files with :mod:`importlib.resources`, so it runs without a
compiler. ``python -m tools.artifacts`` (``make artifacts``) regenerates them;
``--check`` compiles afresh and exits 1 when the shipped files differ (the test suite does the
same through :func:`stale_artifacts`).

Sources are gathered here, not by the compiler: every ``.sol`` file under ``contracts/`` plus
the OpenZeppelin files they import, under stable unit names (``contracts/X.sol``,
``@openzeppelin/contracts/...``). The bytecode (whose metadata hashes the unit names) is then
the same in every checkout, whichever solc - native or the npm bridge - compiles it.
"""

from __future__ import annotations

import argparse
import json
import logging
import posixpath
import re
import sys
from pathlib import Path
from typing import Any

from tools.solc import EVM_VERSION, OPTIMIZER_RUNS, REPO_ROOT, SOLC_VERSION, VIA_IR, ensure_solc, node_modules

log = logging.getLogger(__name__)

CONTRACTS_DIR = REPO_ROOT / "contracts"
ARTIFACTS_DIR = REPO_ROOT / "pylender" / "artifacts"
OZ_PREFIX = "@openzeppelin/contracts/"
# Folders whose contracts are not deployed on their own (interfaces, pure and type libraries, the ape cache).
# In contracts/logic/ only the linked libraries (those with an ABI: external functions) are shipped; the internal
# ones are compiled into the contracts that use them.
_NOT_SHIPPED = ("contracts/interfaces/", "contracts/libraries/", "contracts/types/", "contracts/.cache/")
_IMPORT = re.compile(r"""^\s*import\s+(?:[^"';]*?\s+from\s+)?["']([^"']+)["']""", re.MULTILINE)


def _unit_path(unit: str) -> Path:
    if unit.startswith(OZ_PREFIX):
        return node_modules() / "@openzeppelin" / "contracts" / unit[len(OZ_PREFIX) :]
    return REPO_ROOT / unit


def _resolve(importer: str, target: str) -> str:
    if target.startswith("."):
        return posixpath.normpath(posixpath.join(posixpath.dirname(importer), target))
    return target


def gather_sources(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, dict[str, str]]:
    """Every project source and, transitively, every file it imports, keyed by unit name."""
    pending = [
        p.resolve().relative_to(REPO_ROOT).as_posix()
        for p in sorted(contracts_dir.rglob("*.sol"))
        if ".cache" not in p.parts
    ]
    sources: dict[str, dict[str, str]] = {}
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        path = _unit_path(unit)
        if not path.is_file():
            raise FileNotFoundError(f"cannot find Solidity source {unit!r} (looked at {path})")
        text = path.read_text()
        sources[unit] = {"content": text}
        pending.extend(_resolve(unit, target) for target in _IMPORT.findall(text))
    return dict(sorted(sources.items()))


def standard_input(sources: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "viaIR": VIA_IR,
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences", "evm.deployedBytecode.object"]}
            },
        },
    }


def compile_contracts(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, dict[str, Any]]:
    """Compile the ``.sol`` files under ``contracts_dir`` (a folder of this repo) and their imports.

    Returns ``{ContractName: {"abi", "bytecode", "deployedBytecode", "source", ...}}`` for every
    deployable contract in that folder (interfaces and internal libraries left out).
    """
    import solcx

    ensure_solc()
    sources = gather_sources(contracts_dir)
    output = solcx.compile_standard(standard_input(sources), solc_version=SOLC_VERSION, allow_empty=True)
    prefix = contracts_dir.resolve().relative_to(REPO_ROOT).as_posix() + "/"
    shipped: dict[str, dict[str, Any]] = {}
    # A library in contracts/logic/ is shipped when some contract links it (it has external functions); an
    # internal one is compiled into its users and never deployed.
    linked = {
        lib
        for contracts in output.get("contracts", {}).values()
        for data in contracts.values()
        for names in (data.get("evm", {}).get("bytecode", {}).get("linkReferences") or {}).values()
        for lib in names
    }
    for unit, contracts in sorted(output.get("contracts", {}).items()):
        if not unit.startswith(prefix) or unit.startswith(_NOT_SHIPPED):
            continue
        for name, data in sorted(contracts.items()):
            bytecode = data["evm"]["bytecode"]["object"]
            if not bytecode:  # abstract contracts
                continue
            if unit.startswith("contracts/logic/") and name not in linked:  # internal library: compiled in
                continue
            if name in shipped:
                raise ValueError(f"two contracts named {name} ({shipped[name]['source']} and {unit})")
            shipped[name] = {
                "contractName": name,
                "source": unit,
                "compiler": f"solc {SOLC_VERSION}, evm {EVM_VERSION}, optimizer {OPTIMIZER_RUNS} runs"
                + (", via IR" if VIA_IR else ""),
                "abi": data["abi"],
                "linkReferences": data["evm"]["bytecode"].get("linkReferences") or {},
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
            }
    return shipped


def _render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def write_artifacts(target: Path = ARTIFACTS_DIR) -> list[str]:
    shipped = compile_contracts()
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.json"):
        if old.stem not in shipped:
            old.unlink()
    for name, artifact in shipped.items():
        (target / f"{name}.json").write_text(_render(artifact))
    return sorted(shipped)


def stale_artifacts(target: Path = ARTIFACTS_DIR) -> list[str]:
    """Names of shipped artifacts that differ from a fresh compile (missing and extra ones included)."""
    fresh = compile_contracts()
    on_disk = {p.stem: p.read_text() for p in target.glob("*.json")}
    names = sorted(set(fresh) | set(on_disk))
    return [n for n in names if n not in fresh or n not in on_disk or on_disk[n] != _render(fresh[n])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped artifacts are stale")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.check:
        stale = stale_artifacts()
        if stale:
            print("stale artifacts (run `make artifacts`): " + ", ".join(stale), file=sys.stderr)
            return 1
        print("artifacts match a fresh compile")
        return 0
    names = write_artifacts()
    print(f"wrote {len(names)} artifacts to {ARTIFACTS_DIR}: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
