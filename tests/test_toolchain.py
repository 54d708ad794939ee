"""The offline compiler toolchain: the npm solc bridge and the shipped artifacts."""

from __future__ import annotations

import json
import subprocess

import pytest

from tools import artifacts
from tools.solc import BRIDGE, SOLC_VERSION, ensure_solc


def _bridge(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(BRIDGE), *args], input=stdin, capture_output=True, text=True, check=False)


def test_registered_solc_answers_its_version_like_native_solc():
    solc = ensure_solc()
    out = subprocess.run([str(solc), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"Version: {SOLC_VERSION}+commit." in out


def test_bridge_standard_json_output_is_not_truncated_past_64_kib():
    # An input whose output is far beyond a pipe buffer: the bridge must let stdout drain.
    body = "\n".join(
        f"function f{i}(uint256 x) external pure returns (uint256) {{ return x * {i}; }}" for i in range(300)
    )
    source = f"// SPDX-License-Identifier: MIT\npragma solidity {SOLC_VERSION};\ncontract Big {{\n{body}\n}}\n"
    request = {
        "language": "Solidity",
        "sources": {"Big.sol": {"content": source}},
        "settings": {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    done = _bridge("--standard-json", stdin=json.dumps(request))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) > 65_536
    out = json.loads(done.stdout)
    assert len(out["contracts"]["Big.sol"]["Big"]["abi"]) == 300


def test_bridge_combined_json_mode_for_slither(tmp_path):
    src = tmp_path / "A.sol"
    src.write_text(
        f"// SPDX-License-Identifier: MIT\npragma solidity {SOLC_VERSION};\ncontract A {{ uint256 public x; }}\n"
    )
    done = _bridge(str(src), "--combined-json", "abi,bin,bin-runtime,srcmap", "--allow-paths", str(tmp_path))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    entry = out["contracts"][f"{src}:A"]
    assert [item["name"] for item in entry["abi"]] == ["x"]
    assert entry["bin-runtime"]
    assert str(src) in out["sources"]


def test_bridge_reports_compile_errors_in_standard_json():
    request = {"language": "Solidity", "sources": {"Bad.sol": {"content": "contract {"}}, "settings": {}}
    out = json.loads(_bridge("--standard-json", stdin=json.dumps(request)).stdout)
    assert any(e["severity"] == "error" for e in out["errors"])


@pytest.mark.slow
def test_shipped_artifacts_match_a_fresh_compile_of_contracts():
    assert artifacts.stale_artifacts() == []
