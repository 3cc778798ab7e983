"""Measure the image path on real scanned cheque amounts (ORAND-CAR-A, ../shared/data/orand_car_a).

Runs the real commands on the validation part of the fixed split (digitkiosk.train.splits:
about one image in five, never used for tuning), or with `--part train` on the development-train
part (for tuning), and prints JSON:

- `predict` on each whole image: amounts read exactly right (the annotated digits left to right;
  the answer's spaces and line breaks ignored), and digits right (1 - edit distance / length,
  summed over the images);
- `predict --single` on each annotated digit cropped with a 2 px margin: digits read right;

each beside the seed approach on the same images through the same model (the whole image, or
the crop, resized to 28x28 and inverted: one digit per image).

    .venv/bin/python tests/benchmarks/measure_scans.py [--part validation|train] [--model PATH]
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared/data/orand_car_a"
MARGIN = 2


def load(data: Path, part: str) -> list[tuple[Path, str, list[tuple[list[float], int]]]]:
    """(path, amount, [(box, digit), ...] left to right) of the images in `part`, by file name."""
    from digitkiosk.train.sources import scan_amounts
    from digitkiosk.train.splits import is_validation_scan

    return [s for s in scan_amounts(data) if is_validation_scan(s[0].name) == (part == "validation")]


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def amounts(texts: list[str], truths: list[str]) -> dict:
    exact = sum(t == s for t, s in zip(texts, truths, strict=True))
    right = sum(max(0, len(s) - edit_distance(t, s)) for t, s in zip(texts, truths, strict=True))
    return {
        "amounts_exactly_right": round(exact / len(truths), 4),
        "digits_right": round(right / sum(len(s) for s in truths), 4),
    }


def run_predict(files: list[str], model: str | None, single: bool) -> list[dict]:
    cmd = [sys.executable, "-m", "digitkiosk.device", "predict", "--json", *files]
    if single:
        cmd.append("--single")
    if model:
        cmd += ["--model", model]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if "Traceback" in proc.stderr:
        sys.exit(f"predict printed a traceback:\n{proc.stderr}")
    outs = {o["path"]: o for o in map(json.loads, proc.stdout.splitlines())}
    return [outs[f] for f in files]


def seed_reading(recognizer, images: list[np.ndarray]) -> list[str]:
    """The seed approach: each picture resized to 28x28 as a whole, inverted (white ink)."""
    x = np.stack([255 - cv2.resize(g, (28, 28), interpolation=cv2.INTER_AREA) for g in images])
    return [str(int(p.argmax())) for p in recognizer.model.predict_probs(x.astype(np.float32) / 255.0)]


def main() -> None:
    from digitkiosk.train.sources import crop_box

    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("validation", "train"), default="validation")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--model", default=None)
    ap.add_argument("--limit", type=int, default=0, help="only the first N images (quick look)")
    ap.add_argument("--show-errors", action="store_true", help="list the amounts read wrong")
    args = ap.parse_args()
    scans = load(Path(args.data), args.part)
    if args.limit:
        scans = scans[: args.limit]
    truths = [amount for _, amount, _ in scans]

    whole = run_predict([str(p) for p, _, _ in scans], args.model, single=False)
    texts = ["".join(c for c in o["text"] if not c.isspace()) for o in whole]
    latencies = [o["latency_ms"] for o in whole if "error" not in o]

    grays = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p, _, _ in scans]
    crops, labels = [], []
    for gray, (_, _, boxes) in zip(grays, scans, strict=True):
        for box, digit in boxes:
            crops.append(crop_box(gray, box, MARGIN))
            labels.append(str(digit))
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, c in enumerate(crops):
            files.append(f"{tmp}/{i:05d}.png")
            cv2.imwrite(files[-1], c)
        single = run_predict(files, args.model, single=True)
    answers = [o["digits"][0]["digit"] if o.get("digits") else "" for o in single]
    top1 = [str(o["digits"][0]["top3"][0][0]) if o.get("digits") else "" for o in single]

    from digitkiosk.device.loader import load_model
    from digitkiosk.device.recognizer import Recognizer

    recognizer = Recognizer(load_model(args.model))
    report = {
        "data": args.data,
        "part": args.part,
        "images": len(scans),
        "digits": len(labels),
        "model": recognizer.model.describe(),
        "predict": {
            **amounts(texts, truths),
            "answered_unsure": sum("?" in t for t in texts),
            # Where the wrong amounts go wrong: as many digits as written (misread or "?"), fewer
            # (digits merged or lost), more (marks read as digits, digits cut), or nothing read.
            "wrong_by_kind": dict(
                collections.Counter(
                    "nothing read"
                    if not t
                    else "as many digits"
                    if len(t) == len(s)
                    else ("fewer digits" if len(t) < len(s) else "more digits")
                    for t, s in zip(texts, truths, strict=True)
                    if t != s
                ).most_common()
            ),
            "errors": sum("error" in o for o in whole),
            "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
        },
        "predict_single_crops": {
            "digits_right": round(np.mean([a == lab for a, lab in zip(answers, labels, strict=True)]), 4),
            "top1_right_ignoring_the_reject_threshold": round(
                np.mean([a == lab for a, lab in zip(top1, labels, strict=True)]), 4
            ),
            "answered_unsure": answers.count("?"),
            "errors": sum("error" in o for o in single),
        },
        "seed_approach_whole_image_resized": amounts(seed_reading(recognizer, grays), truths),
        "seed_approach_crop_resized": {
            "digits_right": round(
                np.mean([a == lab for a, lab in zip(seed_reading(recognizer, crops), labels, strict=True)]), 4
            )
        },
    }
    if args.show_errors:
        report["wrong"] = [
            f"{p.name}: {t!r} for {s}" for (p, _, _), t, s in zip(scans, texts, truths, strict=True) if t != s
        ]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
