"""Measure the stroke path on real pen digits by writers never seen in training.

Runs the real `digitkiosk strokes --json` command on ../shared/data/pendigits/test.jsonl (3,498
digits, 14 writers) and, for comparison, the seed approach (the whole 500x500 tablet canvas drawn
with a fixed pen and resized to 28x28) through the same model. Prints JSON.

    .venv/bin/python tests/benchmarks/measure_pendigits.py [--model PATH] [--data FILE]
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(REPO.parent / "shared/data/pendigits/test.jsonl"))
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    rows = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]

    cmd = [sys.executable, "-m", "digitkiosk.device", "strokes", "--json"]
    if args.model:
        cmd += ["--model", args.model]
    feed = "".join(json.dumps({"id": i, "strokes": r["strokes"]}) + "\n" for i, r in enumerate(rows))
    proc = subprocess.run(cmd, input=feed, capture_output=True, text=True, check=False)
    outs = [json.loads(line) for line in proc.stdout.splitlines()]
    correct = collections.Counter()
    total = collections.Counter()
    missed_by_writer = collections.Counter()  # a few unusual hands make most of the misses
    unsure = split = 0
    latencies = []
    for o in outs:
        label, writer = rows[o["id"]]["label"], rows[o["id"]]["writer"]
        total[label] += 1
        if "error" in o:
            missed_by_writer[writer] += 1
            continue
        latencies.append(o["latency_ms"])
        answer = o.get("digit", o.get("text"))
        unsure += answer == "?"
        split += "text" in o
        correct[label] += answer == str(label)
        missed_by_writer[writer] += answer != str(label)

    from digitkiosk.device.loader import load_model
    from digitkiosk.device.recognizer import Recognizer
    from digitkiosk.device.strokes import naive_canvas_resize, parse_strokes

    recognizer = Recognizer(load_model(args.model))
    naive = np.stack([naive_canvas_resize(parse_strokes(r["strokes"]), (0, 0, 500, 500)) for r in rows])
    naive_pred = recognizer.model.predict_probs(naive).argmax(1)
    labels = np.array([r["label"] for r in rows])

    print(
        json.dumps(
            {
                "data": args.data,
                "digits": len(rows),
                "writers": len({r["writer"] for r in rows}),
                "model": recognizer.model.describe(),
                "strokes_command": {
                    "accuracy": round(sum(correct.values()) / len(rows), 4),
                    "per_class": {str(c): round(correct[c] / total[c], 4) for c in sorted(total)},
                    "answered_unsure": unsure,
                    "misses_by_writer": dict(missed_by_writer.most_common()),
                    "split_into_several_digits": split,
                    "latency_ms_p50": round(float(np.percentile(latencies, 50)), 3),
                },
                "seed_approach_whole_canvas_resized": {
                    "accuracy": round(float((naive_pred == labels).mean()), 4)
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
