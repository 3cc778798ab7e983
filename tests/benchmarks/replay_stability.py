"""Replays the frame results `bench_camera.py --record` wrote through the camera's vote
(`camera/pipeline.StabilityFilter`) at several recount shares, without reading a frame again:
how a change to the vote alone would have reported the same clips.

    .venv/bin/python tests/benchmarks/bench_camera.py --split train [--seed N] [--spacing=-0.06,-0.02] \\
        --record clips-N.json.gz
    .venv/bin/python tests/benchmarks/replay_stability.py clips-*.json.gz [--shares 0.5,0.7,0.8,1.0]

Prints one JSON object; per share:
- "reported_more_than_once" / "never_reported": scenes, of all the files' scenes (one filter per
  scene, as the benchmark counts them);
- "digit_accuracy": the first report's digits (`train.amounts.digits_correct`), "?" wrong;
- "scene_changes": one scene's frames and then another's through one filter (pairs drawn with
  `--seed`): after how many of the second scene's frames it was first reported (p50, p90), how
  often it was never reported, and how many reports came after its first.

Choose the vote's constants on recordings of *training* clips (`--split train`), as the camera
benchmark's help says; record the test clips only to measure once.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
from pathlib import Path

import numpy as np


def load_scenes(paths: list[str]) -> list[tuple[str, list]]:
    """Every recorded scene of these files as (truth, its FrameResults)."""
    from digitkiosk.device.camera.pipeline import FrameResult
    from digitkiosk.device.readings import DigitReading, Reading
    from digitkiosk.device.segment import Segmentation

    scenes = []
    for path in paths:
        with gzip.open(path, "rt") as f:
            data = json.load(f)
        for scene in data["scenes"]:
            frames = []
            for i, fr in enumerate(scene["frames"]):
                reading = None
                if fr["digits"] is not None:
                    digits = [
                        DigitReading.from_probs(np.asarray(p, np.float32), fr["threshold"], None, box)
                        for p, box in fr["digits"]
                    ]
                    reading = Reading(digits, 0.0, separators=fr["separators"])
                frames.append(
                    FrameResult(i, Segmentation([], []), reading, fr["status"], 0.0, fr["threshold"])
                )
            scenes.append((scene["truth"], frames))
    return scenes


def reports(stability, frames: list) -> list[tuple[int, str]]:
    """(frame, text) of each reading the filter reports (conditions such as "no digits" left out)."""
    out = []
    for i, result in enumerate(frames):
        stable = stability.update(result)
        if stable is not None and stable.result.reading is not None:
            out.append((i, stable.text))
    return out


def replay(scenes: list[tuple[str, list]], make, pairs: int, seed: int) -> dict:
    from digitkiosk.train.amounts import digits_correct

    more = never = digits = correct = 0
    for truth, frames in scenes:
        said = reports(make(), frames)
        more += len(said) > 1
        never += not said
        digits += sum(c.isdigit() for c in truth)
        correct += digits_correct(truth, said[0][1] if said else "")
    rng = np.random.default_rng(seed)
    first, missed, after = [], 0, 0
    for _ in range(pairs):
        a, b = rng.choice(len(scenes), 2, replace=False)
        stability = make()
        reports(stability, scenes[a][1])
        said = reports(stability, scenes[b][1])
        if said:
            first.append(said[0][0])
            after += len(said) - 1
        else:
            missed += 1
    return {
        "scenes": len(scenes),
        "reported_more_than_once": more,
        "never_reported": never,
        "digit_accuracy": round(correct / max(1, digits), 4),
        "scene_changes": {
            "pairs": pairs,
            "first_report_frame_p50": float(np.percentile(first, 50)) if first else None,
            "first_report_frame_p90": float(np.percentile(first, 90)) if first else None,
            "never_reported": missed,
            "reports_after_the_first": after,
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recordings", nargs="+", help="files written by bench_camera.py --record")
    ap.add_argument(
        "--shares",
        type=lambda v: [float(x) for x in v.split(",")],
        default=None,
        help="recount shares to replay (default: 0.5 and the shipped RECOUNT_SHARE)",
    )
    ap.add_argument("--pairs", type=int, default=2000, help="scene changes to replay (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from digitkiosk.device.camera.pipeline import RECOUNT_SHARE, StabilityFilter

    try:
        scenes = load_scenes(args.recordings)
    except (OSError, ValueError, KeyError, TypeError) as e:  # not a recording, or a damaged one
        print(f"replay_stability: cannot read the recordings ({type(e).__name__}: {e})", file=sys.stderr)
        return 1
    if len(scenes) < 2:
        print("replay_stability: fewer than 2 scenes recorded", file=sys.stderr)
        return 1
    shares = args.shares or [0.5, RECOUNT_SHARE]
    window = StabilityFilter().window
    out = {"files": [Path(p).name for p in args.recordings], "shipped_share": RECOUNT_SHARE, "by_share": {}}
    for share in shares:
        recount = math.ceil(share * window)
        out["by_share"][str(share)] = replay(
            scenes, lambda r=recount: StabilityFilter(recount=r), args.pairs, args.seed
        )
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
