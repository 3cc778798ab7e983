"""Measure the stroke path on real pen digits by writers never seen in training.

Runs the real `digitkiosk strokes --json` command on ../shared/data/pendigits/test.jsonl (3,498
digits, 14 writers) and, for comparison, the seed approach (the whole 500x500 tablet canvas drawn
with a fixed pen and resized to 28x28) through the same model. Prints JSON.

    .venv/bin/python tests/benchmarks/measure_pendigits.py [--model PATH] [--data FILE]
        [--held-out-writers] [--numbers N [--seed S]] [--two-arc-zeros]

`--held-out-writers` measures only the rows of the validation writers of `train/splits.py` (of
pendigits train with `few_writers`, of UNIPEN without): the figures to choose constants on, e.g.
`--data ../shared/data/unipen/train.jsonl --held-out-writers`. `--numbers N` also measures N
numbers of 2 to 5 digits composed from those rows: each number is one writer's digits placed side
by side on one line (gaps, sizes and baselines varied as people vary them), read as one canvas.
`--two-arc-zeros` also reads every one-stroke 0 cut at its top and bottom into two strokes.
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
# Composed numbers: the gap between neighbouring digits' boxes, as a fraction of the digit's
# height (slightly overlapping boxes to well apart), size and baseline variation, digit counts.
GAP_RANGE = (-0.1, 0.3)
SCALE_RANGE = (0.85, 1.15)
BASELINE_JITTER = 0.08
DIGITS_RANGE = (2, 5)


def compose_number(parts: list[list], rng: np.random.Generator) -> list:
    """Digits (each a list of strokes, points [x, y, ...]) → one line of strokes, left to right."""
    out: list = []
    x = 0.0
    height = None
    for strokes in parts:
        pts = np.concatenate([np.asarray(s, dtype=float)[:, :2] for s in strokes])
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        h = max(y1 - y0, 1.0)
        height = height or h
        scale = height / h * rng.uniform(*SCALE_RANGE)
        if out:
            x += rng.uniform(*GAP_RANGE) * height
        dy = rng.uniform(-BASELINE_JITTER, BASELINE_JITTER) * height
        for s in strokes:
            p = (np.asarray(s, dtype=float)[:, :2] - [x0, y1]) * scale + [x, height + dy]
            out.append(np.round(p, 2).tolist())
        x += (x1 - x0) * scale
    return out


def composed_numbers(rows: list[dict], n: int, seed: int) -> list[dict]:
    """`n` numbers, each from one writer's digits (rows of writers with too few digits skipped)."""
    rng = np.random.default_rng(seed)
    by_writer: dict[str, list[dict]] = collections.defaultdict(list)
    for r in rows:
        by_writer[r["writer"]].append(r)
    writers = sorted(w for w, rs in by_writer.items() if len(rs) >= DIGITS_RANGE[1])
    numbers = []
    for _ in range(n):
        mine = by_writer[writers[rng.integers(len(writers))]]
        k = int(rng.integers(DIGITS_RANGE[0], DIGITS_RANGE[1] + 1))
        picked = [mine[i] for i in rng.choice(len(mine), size=k, replace=False)]
        numbers.append(
            {
                "label": "".join(str(r["label"]) for r in picked),
                "writer": picked[0]["writer"],
                "strokes": compose_number([r["strokes"] for r in picked], rng),
            }
        )
    return numbers


def zeros_as_two_arcs(rows: list[dict]) -> list[dict]:
    """The one-stroke 0s among `rows`, each cut at its top and its bottom into two strokes: a 0 as
    written by people who lift the pen there (the ends of the arcs overshoot or fall short)."""
    out = []
    for r in rows:
        if r["label"] != 0 or len(r["strokes"]) != 1:
            continue
        p = np.asarray(r["strokes"][0], dtype=float)[:, :2]
        top, bottom = sorted([int(p[:, 1].argmin()), int(p[:, 1].argmax())])
        arcs = [p[top : bottom + 1], np.concatenate([p[bottom:], p[: top + 1]])]
        if min(len(a) for a in arcs) >= 3:
            out.append({"label": "0", "strokes": [a.tolist() for a in arcs]})
    return out


def run_strokes_command(rows: list[dict], model: str | None) -> list[dict]:
    cmd = [sys.executable, "-m", "digitkiosk.device", "strokes", "--json"]
    if model:
        cmd += ["--model", model]
    feed = "".join(json.dumps({"id": i, "strokes": r["strokes"]}) + "\n" for i, r in enumerate(rows))
    proc = subprocess.run(cmd, input=feed, capture_output=True, text=True, check=False)
    outs = [json.loads(line) for line in proc.stdout.splitlines()]
    if len(outs) != len(rows):  # bad lines are answered with an error line; this is a crash
        raise SystemExit(f"digitkiosk strokes answered {len(outs)} of {len(rows)} lines:\n{proc.stderr}")
    return outs


def measure_numbers(numbers: list[dict], model: str | None) -> dict:
    outs = run_strokes_command(numbers, model)
    right = digits_right = digits = wrong_count = 0
    latencies = [o["latency_ms"] for o in outs if "latency_ms" in o]
    for o in outs:
        label = numbers[o["id"]]["label"]
        text = "" if "error" in o else o.get("text", o.get("digit", ""))
        right += text == label
        digits += len(label)
        if len(text) == len(label):
            digits_right += sum(a == b for a, b in zip(text, label, strict=True))
        else:
            wrong_count += 1
    return {
        "numbers": len(numbers),
        "accuracy": round(right / len(numbers), 4),
        "digits_right_where_count_right": round(digits_right / digits, 4),
        "wrong_digit_count": wrong_count,
        "latency_ms_p50_p95": [round(float(np.percentile(latencies, q)), 3) for q in (50, 95)],
        "composed": {
            "digits_per_number": list(DIGITS_RANGE),
            "gap_over_height": list(GAP_RANGE),
            "scale": list(SCALE_RANGE),
            "baseline_jitter": BASELINE_JITTER,
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(REPO.parent / "shared/data/pendigits/test.jsonl"))
    ap.add_argument("--model", default=None)
    ap.add_argument(
        "--held-out-writers",
        action="store_true",
        help="only the validation writers of train/splits.py (pendigits: few_writers)",
    )
    ap.add_argument("--numbers", type=int, default=0, help="also read N composed multi-digit numbers")
    ap.add_argument("--seed", type=int, default=0, help="for --numbers")
    ap.add_argument(
        "--two-arc-zeros", action="store_true", help="also read the one-stroke 0s cut into two arcs"
    )
    args = ap.parse_args()
    rows = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]
    if args.held_out_writers:
        from digitkiosk.train.splits import is_validation_writer

        few = "pendigits" in Path(args.data).resolve().as_posix()
        rows = [r for r in rows if is_validation_writer(r, few_writers=few)]

    outs = run_strokes_command(rows, args.model)
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
    from digitkiosk.device.settings import Settings
    from digitkiosk.device.strokes import naive_canvas_resize, parse_strokes

    # A script is a command's edge: the environment's settings (DIGITKIOSK_ALLOW_UNSIGNED=1 to
    # measure an unsigned candidate) apply, as they do to the commands it runs.
    settings = Settings.resolve(model=args.model)
    recognizer = Recognizer(load_model(settings.model, policy=settings.policy()))
    naive = np.stack([naive_canvas_resize(parse_strokes(r["strokes"]), (0, 0, 500, 500)) for r in rows])
    naive_pred = recognizer.model.predict_probs(naive).argmax(1)
    labels = np.array([r["label"] for r in rows])

    out = {
        "data": args.data,
        "held_out_writers_only": args.held_out_writers,
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
        "seed_approach_whole_canvas_resized": {"accuracy": round(float((naive_pred == labels).mean()), 4)},
    }
    if args.numbers:
        out["composed_numbers"] = measure_numbers(composed_numbers(rows, args.numbers, args.seed), args.model)
    if args.two_arc_zeros:
        zeros = zeros_as_two_arcs(rows)
        said = [o.get("digit", o.get("text")) for o in run_strokes_command(zeros, args.model)]
        out["zeros_as_two_arcs"] = {
            "zeros": len(zeros),
            "read_0": said.count("0"),
            "answers": dict(collections.Counter(said).most_common()),
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
