"""Benchmark: push a signed model to 10 kiosks (10 real sshd instances on 127.0.0.1) in parallel.

    .venv/bin/python tests/benchmarks/bench_deploy.py [--hosts 10] [--repeat 3]

Prints JSON: wall time of `digitkiosk-deploy push` (the real CLI, as an operator runs it) for a
first install, an upgrade and a repeat push (a no-op), each the median of --repeat runs.
Target: ≤ 10 s for 10 hosts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "deploy"))
sys.path.insert(0, str(REPO))
from conftest import SSHServer, build_fleet, ssh_keygen  # noqa: E402  (the test fleet)
from digitkiosk.deploy.keys import keygen  # noqa: E402
from digitkiosk.device.loader import default_model_path  # noqa: E402

from tests.conftest import model_version_copy  # noqa: E402

DEPLOY = Path(sys.executable).parent / "digitkiosk-deploy"


def make_model(folder: Path, version: str, key: Path) -> Path:
    return model_version_copy(default_model_path(), folder, version, key)


def push(card: Path, fleet, parallel: int) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run(
        [str(DEPLOY), "push", str(card), *fleet.args(), "--parallel", str(parallel), "--json"],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    report = json.loads(result.stdout)
    if result.returncode != 0:
        raise SystemExit(f"push failed: {result.stdout}\n{result.stderr}")
    return wall, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    servers: list[SSHServer] = []
    try:
        user_key = ssh_keygen(tmp / "id_ed25519")
        authorized = tmp / "authorized_keys"
        authorized.write_text((tmp / "id_ed25519.pub").read_text())
        servers = [SSHServer(tmp / f"sshd{i}", authorized).start() for i in range(args.hosts)]
        signing_key = keygen(tmp / "signing_key.pem")[0]
        install, upgrade, noop = [], [], []
        for run in range(args.repeat):
            fleet = build_fleet(tmp / f"fleet{run}", servers, user_key, signing_key)
            v1 = make_model(tmp / f"m{run}" / "v1", "2030.1.1", signing_key)
            v2 = make_model(tmp / f"m{run}" / "v2", "2030.2.1", signing_key)
            wall, report = push(v1, fleet, args.hosts)
            install.append(wall)
            per_host = [h["seconds"] for h in report["hosts"]]
            upgrade.append(push(v2, fleet, args.hosts)[0])
            noop.append(push(v2, fleet, args.hosts)[0])
            assert all(d.active == "2030.2.1" for d in fleet.devices)
        print(
            json.dumps(
                {
                    "benchmark": "digitkiosk-deploy push, signed model, real sshd on 127.0.0.1",
                    "hosts": args.hosts,
                    "parallel": args.hosts,
                    "repeat": args.repeat,
                    "install_wall_s_median": round(statistics.median(install), 2),
                    "install_wall_s_all": [round(x, 2) for x in install],
                    "upgrade_wall_s_median": round(statistics.median(upgrade), 2),
                    "noop_repush_wall_s_median": round(statistics.median(noop), 2),
                    "last_install_per_host_s": {"min": min(per_host), "max": max(per_host)},
                    "target_s": 10.0,
                    "meets_target": statistics.median(install) <= 10.0 and statistics.median(upgrade) <= 10.0,
                    "cpus": os.cpu_count(),
                    "load_average_1m": round(os.getloadavg()[0], 2),
                    "python": platform.python_version(),
                },
                indent=1,
            )
        )
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
