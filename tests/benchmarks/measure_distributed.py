"""Issue 18: one worker against two workers on 127.0.0.1, the same short recipe, the same command
line: validation and test accuracy and wall time of each (README, "Training across machines").

    .venv/bin/python tests/benchmarks/measure_distributed.py [--workers 1,2] [--repeat 1]
        [--limit 10000 --epochs 4 --seed 1]

Each run is real `digitkiosk-train` processes (tests/local_cluster.py: one per worker, its own
TF_CONFIG); the figures are the chief's card. Both workers share this machine's cores, so on a
small machine two workers measure the cost of the collectives, not the speed-up of two machines.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # `tests.` as the test suite imports it

from tests.local_cluster import run_cluster  # noqa: E402


def measure(workers: int, args: argparse.Namespace, base: Path) -> dict:
    recipe = ["fit", "--data", str(args.data), "--limit", str(args.limit), "--epochs", str(args.epochs),
              "--batch-size", str(args.batch_size), "--seed", str(args.seed), "--name", "bench",
              "--model-version", "0.0.1", "--out", "run"]  # fmt: skip
    t0 = time.perf_counter()
    runs = run_cluster(recipe, base, workers, timeout_s=args.timeout)
    wall = time.perf_counter() - t0
    card = json.loads((runs[0].cwd / "run" / "bench.json").read_text())
    training = card["training"]
    return {
        "workers": workers,
        "strategy": training["distribution"]["strategy"],
        "best_val_accuracy": max(training["history"]["val_accuracy"]),
        "int8_test_accuracy": card["metrics"]["int8"]["accuracy"],
        "training_wall_s": training["wall_time_s"],
        "process_wall_s": round(wall, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "mnist"))  # as make measure
    p.add_argument("--workers", default="1,2", help="worker counts to measure (default 1,2)")
    p.add_argument("--repeat", type=int, default=1, help="runs per worker count")
    p.add_argument("--limit", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=1800)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dk-dist-"))
    for n in (int(w) for w in args.workers.split(",")):
        for r in range(args.repeat):
            print(json.dumps(measure(n, args, tmp / f"w{n}-r{r}")), flush=True)
    shutil.rmtree(tmp)  # kept when a run fails: each worker's log is there
    return 0


if __name__ == "__main__":
    sys.exit(main())
