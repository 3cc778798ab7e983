"""Issue 21: the device side installed and run in an emulated arm64 userland (Debian bookworm under
qemu-user), every answer compared with x86-64. The work is done by check.py (`make arm64-check`);
its first run builds the userland and downloads the arm64 wheels into .cache/arm64 (a few
minutes), later runs reuse them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TOOLS = ("mmdebstrap", "qemu-aarch64-static")


@pytest.mark.arm64
def test_device_side_on_arm64_gives_the_same_answers_as_on_x86_64(repo_root: Path, shared_data: Path):
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        tools = " and ".join(missing)
        msg = f"{tools} not installed (apt-get install mmdebstrap qemu-user-static; make dev-env does)"
        if os.environ.get("DIGITKIOSK_REQUIRE_ARM64"):
            pytest.fail(msg)
        pytest.skip(msg)
    backends = ["litert", "litert-ref"]
    if (repo_root / ".venv-tflite/bin/python").is_file():
        backends.append("tflite-runtime")
    elif os.environ.get("DIGITKIOSK_REQUIRE_TFLITE_RUNTIME"):
        pytest.fail(".venv-tflite missing: the test setup (.ci/setup.sh dev) builds it")
    cache = Path(os.environ.get("DIGITKIOSK_ARM64_CACHE", repo_root / ".cache/arm64"))
    proc = subprocess.run(
        [sys.executable, HERE / "check.py", "--cache", cache, "--backends", ",".join(backends)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(proc.stdout)
    assert proc.returncode == 0, f"arm64 check failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    summary = json.loads((cache / "summary.json").read_text())
    assert summary["ok"] and set(summary["backends"]) == set(backends)
    for name in backends:
        entry = summary["backends"][name]
        assert entry["ok"] and entry["selftest_accuracy"] >= 0.9
        assert entry["arm64_versions"]["tflite-runtime" if name == "tflite-runtime" else "ai-edge-litert"]
        # the interpreter alone on the 50 self-test digits and every prepared digit of the check
        assert entry["stage_digits"] == 50 + entry["digits"]
    # Exactness is demanded of every backend, the default included (compare.py): the same
    # prepared inputs, int8 logits, probabilities and CLI answers on every input of the check.
    for name in backends:
        entry = summary["backends"][name]
        assert entry["exact"] and entry["problems"] == [], (name, entry["problems"])
