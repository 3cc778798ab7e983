"""Does fine-tuning on a group of writers' corrections read their later digits better?

The writers (`--writers`) are UNIPEN's held-out people (`train/splits.py`: never trained on by
any run) or the 14 pendigits test writers (never trained on either; some of them the model reads
worst). Each one's first N digits (default 20) become corrections, written as the kiosks export them (one
kiosk per person; the day chosen so the trainer's kiosk-day split keeps it on the training side,
as the benchmark asks what training on them does); the rest of their digits are the "later"
ones, never trained on. `digitkiosk-train finetune BASE_RUN --strokes corrections` then
continues the base run, and both models are read through the device interpreter on: the adapted
writers' later digits, the other group (other writers) and the MNIST test set. The regression
gate's verdict is printed beside them.

    python tests/benchmarks/measure_adaptation.py --base runs/b1x [--writers pendigits-test]
        [--per-writer 20] [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("DIGITKIOSK_SHARED_DATA", REPO.parent / "shared" / "data"))
WRITERS = ("unipen-held-out", "pendigits-test")


def group(name: str) -> list[dict]:
    """The digits of a group of writers no run trained on."""
    from digitkiosk.train.pendigits import load_jsonl
    from digitkiosk.train.splits import is_validation_writer

    if name == "pendigits-test":
        return load_jsonl(SHARED / "pendigits" / "test.jsonl")
    return [r for r in load_jsonl(SHARED / "unipen" / "train.jsonl") if is_validation_writer(r)]


def corrections(rows: list[dict], per_writer: int, min_later: int) -> tuple[list[dict], list[dict]]:
    """→ (correction lines as exported, later digits {"label", "strokes", "writer"})."""
    from digitkiosk.device.samples import Sample
    from digitkiosk.device.samples.records import sample_to_json
    from digitkiosk.train.splits import is_validation_writer, pen_writer

    people: dict[str, list[dict]] = {}
    for r in rows:
        people.setdefault(pen_writer(r), []).append(r)
    lines, later = [], []
    day0 = time.time() - 30 * 86400
    for n, (person, digits) in enumerate(sorted(people.items())):
        if len(digits) < per_writer + min_later:
            continue
        kiosk = f"kiosk-{n:02d}"
        day = next(
            d
            for d in range(60)
            if not is_validation_writer({"writer": _writer(kiosk, day0 + d * 86400)}, True)
        )
        for i, r in enumerate(digits[:per_writer]):
            s = Sample([s.tolist() for s in r["strokes"]], str(r["label"]), "?", "base", day0 + day * 86400)
            s.id, s.uid, s.kiosk = i + 1, f"{n:04d}{i:028d}", kiosk
            lines.append(sample_to_json(s))
        later += [{**r, "writer": person} for r in digits[per_writer:]]
    return lines, later


def _writer(kiosk: str, t: float) -> str:
    from digitkiosk.device.samples.records import day

    return f"{kiosk}/{day(t)}"


def accuracy(runner, rows: list[dict]) -> float:
    from digitkiosk.device.strokes import strokes_to_mnist
    from digitkiosk.train.evaluate import predict_u8

    x = (np.stack([strokes_to_mnist(r["strokes"]) for r in rows]) * 255.0 + 0.5).astype(np.uint8)
    y = np.array([r["label"] for r in rows])
    return round(float((predict_u8(runner, x).argmax(1) == y).mean()), 4)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="base training run (NAME.json beside NAME.keras)")
    ap.add_argument("--writers", choices=WRITERS, default=WRITERS[0], help="the group adapted to")
    ap.add_argument("--per-writer", type=int, default=20, help="corrections per writer (default 20)")
    ap.add_argument("--min-later", type=int, default=20, help="writers need this many later digits")
    ap.add_argument("--repeat", type=int, default=20, help="weight of the corrections (default 20)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="MNIST training images in the fine-tune")
    ap.add_argument("--out", default="runs/adapt")
    args = ap.parse_args()
    from digitkiosk.train import cli
    from digitkiosk.train.evaluate import predict_u8, tflite_runner

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines, later = corrections(group(args.writers), args.per_writer, args.min_later)
    corr = out / "corrections.jsonl"
    corr.write_text("".join(json.dumps(x) + "\n" for x in lines))
    tuned = out / "run"
    tune = ["finetune", args.base, "--strokes", f"{corr}:{args.repeat}", "--epochs", str(args.epochs)]
    tune += ["--data", str(SHARED / "mnist"), "--out", str(tuned), "--version", "0.0.0.dev1", "--quiet"]
    if args.limit:
        tune += ["--limit", str(args.limit)]
    t0 = time.monotonic()
    if cli.main(tune) != 0:
        return 1
    wall = time.monotonic() - t0
    name = next(Path(args.base).glob("*.keras")).stem
    base_runner = tflite_runner((Path(args.base) / f"{name}.tflite").read_bytes())
    new_runner = tflite_runner((tuned / f"{name}.tflite").read_bytes())
    other_group = next(w for w in WRITERS if w != args.writers)
    others = group(other_group)
    from digitkiosk.train.data import load_mnist

    mnist = load_mnist(SHARED / "mnist")

    def mnist_acc(runner) -> float:
        return round(float((predict_u8(runner, mnist.x_test).argmax(1) == mnist.y_test).mean()), 4)

    gate = [
        "gate", str(tuned / f"{name}.json"), str(Path(args.base) / f"{name}.json"), "--no-record",
        "--data", str(SHARED / "mnist"), "--pen", str(SHARED / "pendigits" / "train.jsonl"),
        "--pen", str(SHARED / "unipen" / "train.jsonl"),
    ]  # fmt: skip
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        gate_code = cli.main(gate)
    result = {
        "base": str(args.base),
        "writers": len({x["kiosk"] for x in lines}),
        "corrections_per_writer": args.per_writer,
        "corrections": len(lines),
        "repeat": args.repeat,
        "epochs": args.epochs,
        "finetune_wall_s": round(wall, 1),
        "adapted_writers_later_digits": {
            "digits": len(later),
            "before": accuracy(base_runner, later),
            "after": accuracy(new_runner, later),
        },
        "writers_group": args.writers,
        "other_writers": {
            "group": other_group,
            "digits": len(others),
            "before": accuracy(base_runner, others),
            "after": accuracy(new_runner, others),
        },
        "mnist_test": {"before": mnist_acc(base_runner), "after": mnist_acc(new_runner)},
        "gate": {"exit": gate_code, **{k: v for k, v in json.loads(buf.getvalue()).items() if k != "time"}},
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
