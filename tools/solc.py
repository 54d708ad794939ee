"""The offline Solidity toolchain (dev only): find a native solc, or register the npm soljson bridge.

py-solc-x looks for compilers in its install folder (``~/.solcx`` or ``$SOLCX_BINARY_PATH``)
under the name ``solc-v<version>``. On machines with no native solc of the pinned version and
no way to download one, :func:`ensure_solc` writes a small launcher there that runs
``solc-bridge.js`` under Node; py-solc-x, ``ape compile`` and Slither then all find it.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path

from pylender.errors import ToolchainError

log = logging.getLogger(__name__)

SOLC_VERSION = "0.8.28"
EVM_VERSION = "london"
OPTIMIZER_RUNS = 200
# The IR pipeline: smaller code than the legacy one for the same source (the ledger stays under 21,000 bytes).
VIA_IR = True
BRIDGE = Path(__file__).with_name("solc-bridge.js")
REPO_ROOT = Path(__file__).resolve().parents[1]


def node_modules() -> Path:
    """The ``node_modules`` folder holding the pinned npm toolchain (solc, anvil, OpenZeppelin)."""
    env = os.environ.get("PYLENDER_NODE_MODULES")
    return Path(env) if env else REPO_ROOT / "node_modules"


def _solc_version_of(binary: str | Path) -> str | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split()[1].split("+")[0]
    return None


def _install_folder() -> Path:
    import solcx

    return solcx.get_solcx_install_folder()


def _write_bridge_launcher(target: Path) -> None:
    node = shutil.which("node")
    if node is None:
        raise ToolchainError(
            f"No Solidity compiler: no native solc {SOLC_VERSION} is installed and Node.js (needed for the npm "
            "solc bridge) is not on PATH. Install Node 20+ and run `make`, or install solc natively."
        )
    solc_module = node_modules() / "solc"
    if not (solc_module / "soljson.js").exists():
        raise ToolchainError(f"The npm package 'solc' is missing from {node_modules()}: run `npm ci` (or `make`).")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "#!/bin/sh\n"
        "# Written by tools/solc.py: native-solc stand-in backed by npm solc (soljson).\n"
        f'PYLENDER_SOLC_MODULE="{solc_module}" exec "{node}" "{BRIDGE}" "$@"\n'
    )
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def ensure_solc(version: str = SOLC_VERSION) -> Path:
    """Return a working ``solc`` of ``version`` registered with py-solc-x, registering the bridge if needed.

    Order: a compiler already in py-solc-x's folder; a native ``solc`` on PATH of that version
    (linked into the folder); otherwise the npm bridge.
    """
    target = _install_folder() / f"solc-v{version}"
    if target.exists() and _solc_version_of(target) == version:
        return target
    native = shutil.which("solc")
    if native and _solc_version_of(native) == version:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        target.symlink_to(native)
        log.info("using native solc %s at %s", version, native)
        return target
    _write_bridge_launcher(target)
    found = _solc_version_of(target)
    if found != version:
        raise ToolchainError(f"the solc bridge at {target} answered version {found!r}, expected {version}")
    log.info("registered the npm solc bridge as %s", target)
    return target


def main() -> None:  # pragma: no cover - called by the Makefile
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(ensure_solc())


if __name__ == "__main__":  # pragma: no cover
    main()
