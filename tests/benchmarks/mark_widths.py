"""How wide single digits are, by the digit they read as: the figures `touching.WIDE_FOR_DIGIT`
was chosen by. Separate-digit scenes of the camera benchmark's *training* digits (the last 10,000
MNIST training images, the pendigits train writers; `bench_camera.py --split train`), found by
segmentation and read whole by the digit model; only scenes in which as many marks were found as
digits were written, so each mark is one digit.

    .venv/bin/python tests/benchmarks/mark_widths.py [--scenes 200] [--seed 3]

Prints JSON: per digit read, how many marks, the share wider than `touching.WIDE` for their
height, and the 50th/95th/99th percentiles of width / height.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_camera  # its data paths and MNIST reader


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=200, help="scenes of each kind (MNIST, pen)")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()

    from digitkiosk.device.loader import load_model
    from digitkiosk.device.recognizer import Recognizer
    from digitkiosk.device.segment import find_digits
    from digitkiosk.device.touching import WIDE
    from digitkiosk.train.glyphs import GlyphBank
    from digitkiosk.train.photo import random_look
    from digitkiosk.train.scenes import make_scene

    recognizer = Recognizer(load_model(None, num_threads=1))
    x, y = bench_camera._mnist("train")
    pen_file = bench_camera.DATA / "pendigits" / "train.jsonl"
    pen = [json.loads(line) for line in pen_file.read_text().splitlines() if line]
    banks = {"mnist": GlyphBank(mnist=(x, y)), "pen": GlyphBank(pen=pen, pen_width_ratio=0.04)}
    rng = np.random.default_rng(args.seed)
    widths: dict[int, list[float]] = {d: [] for d in range(10)}
    for bank in banks.values():
        for i in range(args.scenes):
            scene, _ = make_scene(bank, rng, look=random_look(rng, dark_ink=i % 2 == 0))
            marks = find_digits(scene.image).digits
            if not marks or len(marks) != len(scene.text.replace("\n", "").replace(" ", "")):
                continue
            readings = recognizer.classify(np.stack([m.image for m in marks]))
            for mark, reading in zip(marks, readings, strict=True):
                if reading.digit is not None:
                    widths[reading.digit].append(mark.box[2] / mark.box[3])
    out = {
        "marks": sum(len(w) for w in widths.values()),
        "wide": WIDE,
        "by_digit": {
            str(d): {
                "marks": len(w),
                "wider_than_wide": round(float(np.mean(np.array(w) > WIDE)), 3),
                "p50_p95_p99": [round(float(v), 2) for v in np.percentile(w, [50, 95, 99])],
            }
            for d, w in widths.items()
            if w
        },
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
