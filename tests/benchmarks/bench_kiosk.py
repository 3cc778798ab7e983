"""Measure the real kiosk: pen-up → answer shown latency, accuracy on replayed pen digits, and
memory over a long run. Prints one JSON object.

    .venv/bin/python tests/benchmarks/bench_kiosk.py [--limit N] [--rss-digits 1000] [--model PATH]

It starts its own Xvfb (1280x800) and a real `digitkiosk kiosk` process, replays digits from
../shared/data/pendigits/test.jsonl (14 writers unseen in training) as real xdotool pointer drags
at 200 Hz, and reads the kiosk's event log:
  - latency: the kiosk's `latency_ms`, from the X server's timestamp of the ButtonRelease to the
    moment the answer has been drawn (Tk idle redraw done), so queueing in the UI, the worker
    thread and the redraw are all in it;
  - accuracy: the text shown equals the label ("?" for not sure counts as wrong), and top-1;
  - RSS: the kiosk process's VmRSS after a warm-up and after `--rss-digits` more digits, plus the
    count of `error` events.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from tests.kiosk.kiosk_driver import MOVE_PAUSE_S, Kiosk  # noqa: E402

SHARED = Path(os.environ.get("DIGITKIOSK_SHARED_DATA", REPO.parent / "shared" / "data"))
WARMUP = 30


def start_xvfb() -> tuple[subprocess.Popen, str]:
    for n in range(150, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            break
    display = f":{n}"
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("Xvfb did not start")
        time.sleep(0.05)
    return proc, display


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="test digits to replay (default: all 3,498)")
    ap.add_argument(
        "--rss-digits", type=int, default=1000, help="digits drawn in a row for the RSS figure (0: skip)"
    )
    ap.add_argument("--pause", type=float, default=MOVE_PAUSE_S, help="seconds between pointer moves")
    ap.add_argument("--model", help="model to run (default: the bundled one)")
    ap.add_argument(
        "--samples",
        action="store_true",
        help="run with corrections on and --samples-all: every digit, cleared, is written to the store",
    )
    args = ap.parse_args()
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")

    rows = [
        json.loads(x) for x in (SHARED / "pendigits" / "test.jsonl").read_text().splitlines() if x.strip()
    ]
    n_acc = min(args.limit or len(rows), len(rows))
    total = max(n_acc, WARMUP + args.rss_digits if args.rss_digits else 0)

    xvfb, display = start_xvfb()
    os.environ["DISPLAY"] = display  # for xdotool and the kiosk alike
    env = os.environ.copy()
    tmp = Path(tempfile.mkdtemp(prefix="bench-kiosk-"))
    extra = ["--model", args.model] if args.model else []
    if args.samples:
        extra += ["--samples", str(tmp / "samples"), "--samples-all"]
    kiosk = Kiosk(tmp / "events.jsonl", *extra, env=env)
    latencies, recognition, correct, top1, unsure = [], [], 0, 0, 0
    rss_warm = rss_end = None
    t0 = time.monotonic()
    try:
        for i in range(total):
            row = rows[i % len(rows)]
            # Escape first: each digit on a clean canvas, as a kiosk visitor would after Clear.
            n = kiosk.draw([row["strokes"]], keys_before=["Escape"], pause=args.pause)
            p = kiosk.prediction(n, timeout=20)
            if i < n_acc:
                latencies.append(p["latency_ms"])
                if "recognition_ms" in p:
                    recognition.append(p["recognition_ms"])
                correct += p["text"] == str(row["label"])
                unsure += p["text"] == "?"
                top1 += len(p["digits"]) == 1 and p["digits"][0]["top3"][0][0] == row["label"]
            if args.rss_digits and i + 1 == WARMUP:
                rss_warm = kiosk.rss_kb()
            if args.rss_digits and i + 1 == WARMUP + args.rss_digits:
                rss_end = kiosk.rss_kb()
        wall = time.monotonic() - t0
        kiosk.new_events()
        errors = [e for e in kiosk.seen if e["event"] == "error"]
    finally:
        kiosk.stop()
        xvfb.terminate()
        xvfb.wait(5)

    out = {
        "device": f"{platform.machine()} {os.cpu_count()} cpu, python {platform.python_version()}",
        "model": kiosk.ready["model"]["version"],
        "digits_replayed": n_acc,
        "replay_rate_hz": round(1 / args.pause) if args.pause else None,
        "accuracy": round(correct / n_acc, 4),
        "top1_accuracy": round(top1 / n_acc, 4),
        "not_sure_rate": round(unsure / n_acc, 4),
        "pen_up_to_result_ms": {
            "p50": pct(latencies, 50),
            "p95": pct(latencies, 95),
            "max": pct(latencies, 100),
        },
        "recognition_ms": {"p50": pct(recognition, 50), "p95": pct(recognition, 95)},
        "error_events": len(errors),
        "digits_drawn": total,
        "wall_s": round(wall, 1),
    }
    if args.samples:
        from digitkiosk.device.samples import open_store

        with open_store(tmp / "samples") as store:
            out["samples"] = {"kept": store.count(), "store_bytes": store.size_bytes()}
        out["samples"]["stored_events"] = sum(e["event"] == "samples_stored" for e in kiosk.seen)
    if rss_warm is not None and rss_end is not None:
        out["rss_mb"] = {
            "after_warmup": round(rss_warm / 1024, 1),
            f"after_{args.rss_digits}_more_digits": round(rss_end / 1024, 1),
            "growth": round((rss_end - rss_warm) / 1024, 2),
        }
    out["targets_met"] = {
        "p95_le_50ms": out["pen_up_to_result_ms"]["p95"] <= 50,
        "accuracy_ge_97pct": out["accuracy"] >= 0.97,
        "rss_growth_lt_10mb": (out["rss_mb"]["growth"] < 10) if "rss_mb" in out else None,
        "no_error_events": not errors,
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
