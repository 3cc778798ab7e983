"""Camera benchmark: frames per second at 640x480 on ONE core (segmentation + batched inference),
image → digits latency, and digit / number accuracy on generated test clips.

    .venv/bin/python tests/benchmarks/bench_camera.py [--scenes 100] [--frames 20] [--glyphs all|sure]
        [--split test|train] [--spacing LO,HI] [--model PATH] [--show-errors] [--record PATH]

Clips are MJPG .avi files written with OpenCV from real handwritten digits: MNIST *test* images
and pendigits *test* writers (never trained on), on paper-like backgrounds with uneven light, a
shadow, perspective, blur, noise, JPEG, an underline, a box border and specks; dark-on-light
and light-on-dark. Each clip is read through the real headless command path (capture thread,
shared segmentation, real interpreter, stability filter), every frame, pinned to CPU 0.

Prints one JSON object. "digit_accuracy" counts a digit right only if read as the right class
above the model's reject threshold ("?" counts as wrong). "digits_read_directly" is the same
count for the very digits on the pages read without a camera (the MNIST image as it is, the
pen strokes as the kiosk renders them): what the model makes of the handwriting itself, so
that the difference is what the camera path loses. "glyphs": "sure" restricts the digits to
those the model reads surely when presented clean (the camera path's own loss).

100 scenes of each kind (about 1,850 digits) by default: with the 430 digits of 24 scenes, a
98% target is measured give or take 0.7 points (one standard error), about 0.3 with 1,850.

`--spacing=-0.06,-0.02` writes the digits of each number touching or overlapping a little (by
2-6% of their height), as people write on forms: a figure for digits that touch.

`--split train` builds the clips from *training* digits (the last 10,000 MNIST training images,
the pendigits train writers) instead: for tuning the camera path with `--glyphs sure` without
looking at the test digits. The model has seen most of them, so only the path's loss means
anything there.

`--record PATH` also writes every frame's result (each digit's probabilities and box), so that
`replay_stability.py` can vote on the same frames again with other constants of the vote.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("DIGITKIOSK_SHARED_DATA", HERE.parent.parent.parent / "shared" / "data"))


def _pin_one_core() -> None:
    os.sched_setaffinity(0, {0})
    import cv2

    cv2.setNumThreads(1)


def _mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = "t10k" if split == "test" else "train"
    with gzip.open(DATA / "mnist" / f"{prefix}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(DATA / "mnist" / f"{prefix}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x[-10000:], y[-10000:]


def _read_directly(recognizer, scenes: list) -> list[list]:
    """Each scene's digits as the model reads them without the camera (DigitReadings)."""
    readings = recognizer.classify(np.concatenate([scene.read_directly() for scene in scenes]))
    out, at = [], 0
    for scene in scenes:
        out.append(readings[at : at + len(scene.digits)])
        at += len(scene.digits)
    return out


def _said(reading) -> str:
    return f"{reading.top3[0][0]}:{reading.confidence:.2f}" + ("" if reading.digit is not None else "?")


def frame_record(result) -> dict:
    """What the vote needs of a frame's result (`StabilityFilter`): its status and threshold, and
    each digit's probabilities and box, with the separators between them."""
    reading = result.reading
    return {
        "status": result.status,
        "threshold": result.reject_threshold,
        "digits": None
        if reading is None
        else [
            [[round(float(p), 6) for p in d.probs], None if d.box is None else [float(v) for v in d.box]]
            for d in reading.digits
        ],
        "separators": None if reading is None else list(reading.separators),
    }


def write_record(path: Path, args: dict, scenes: list[dict]) -> None:
    """The recorded clips, written whole or not at all (temp + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt") as f:
        json.dump({"args": {k: v for k, v in args.items() if k != "record"}, "scenes": scenes}, f)
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=100, help="static scenes per clip kind (default 100)")
    ap.add_argument("--frames", type=int, default=20, help="frames per scene (default 20)")
    ap.add_argument("--glyphs", choices=("all", "sure"), default="all")
    ap.add_argument(
        "--split", choices=("test", "train"), default="test", help="digits to write (default test)"
    )
    ap.add_argument(
        "--spacing",
        type=lambda v: tuple(float(x) for x in v.split(",")),
        default=(0.12, 0.3),
        help="gap between the digits of a number, as a fraction of their height, LO,HI "
        "(default 0.12,0.3; e.g. --spacing=-0.06,-0.02: digits that touch)",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--model", help="model to run (default: the bundled one)")
    ap.add_argument(
        "--paper-model",
        default=None,
        help="paper model, as the camera command reads with it (default: the bundled one; off: none)",
    )
    ap.add_argument(
        "--line-model",
        default=None,
        help="line model, as the camera command reads touching numbers with it "
        "(default: the bundled one; off: none)",
    )
    ap.add_argument("--show-errors", action="store_true", help="list misread scenes on stderr")
    ap.add_argument(
        "--record",
        metavar="PATH",
        help="also write every frame's result (.json.gz) for replay_stability.py to vote on again",
    )
    args = ap.parse_args()
    _pin_one_core()

    from digitkiosk.device.camera.capture import Capture
    from digitkiosk.device.camera.pipeline import FrameAnalyzer, StabilityFilter
    from digitkiosk.device.camera.source import SourceSpec
    from digitkiosk.device.loader import load_model
    from digitkiosk.device.mnist_prep import fit_to_mnist
    from digitkiosk.device.paper_reader import default_paper_model_path, load_paper_model
    from digitkiosk.device.recognizer import Recognizer
    from digitkiosk.device.settings import MODEL_OFF, Settings
    from digitkiosk.device.strokes import parse_strokes, strokes_to_mnist
    from digitkiosk.train.amounts import digits_correct
    from digitkiosk.train.clips import write_clip
    from digitkiosk.train.glyphs import GlyphBank
    from digitkiosk.train.photo import random_look
    from digitkiosk.train.scenes import make_scene

    recognizer = Recognizer(load_model(args.model, num_threads=1))
    if (args.paper_model or "").strip().lower() not in MODEL_OFF:
        # As `digitkiosk camera` reads (commands/common.open_recognizer); a script is a command's
        # edge: DIGITKIOSK_ALLOW_UNSIGNED=1 measures an unsigned candidate.
        recognizer.paper_model = load_paper_model(
            args.paper_model or default_paper_model_path(), policy=Settings.resolve().policy(), num_threads=1
        )
    if (args.line_model or "").strip().lower() not in MODEL_OFF:
        from digitkiosk.device.line_reader import default_line_model_path, load_line_model

        # The camera command's line model, which reads numbers whose digits touch (touching.py).
        recognizer.line_model = load_line_model(
            args.line_model or default_line_model_path(), policy=Settings.resolve().policy(), num_threads=1
        )
    x, y = _mnist(args.split)
    pen_file = DATA / "pendigits" / f"{args.split}.jsonl"
    pen = [json.loads(line) for line in pen_file.read_text().splitlines() if line]
    if args.glyphs == "sure":
        sure = [
            r.digit == int(lab)
            for r, lab in zip(recognizer.classify(np.stack([fit_to_mnist(i) for i in x])), y, strict=True)
        ]
        x, y = x[np.array(sure)], y[np.array(sure)]
        readings = recognizer.classify(np.stack([strokes_to_mnist(parse_strokes(p["strokes"])) for p in pen]))
        pen = [p for p, r in zip(pen, readings, strict=True) if r.digit == p["label"]]
    banks = {"mnist": GlyphBank(mnist=(x, y)), "pen": GlyphBank(pen=pen, pen_width_ratio=0.04)}

    rng = np.random.default_rng(args.seed)
    figures: dict = {
        "split": args.split,
        "spacing": list(args.spacing),
        "glyphs": args.glyphs,
        "frame_size": [640, 480],
        "cpu": "1 core (affinity {0})",
    }
    latencies: list[float] = []
    totals = {
        "digits": 0,
        "digits_correct": 0,
        "digits_direct": 0,
        "numbers": 0,
        "numbers_correct": 0,
        "scenes": 0,
        "scenes_read_once": 0,
        "frames": 0,
        "busy_s": 0.0,
    }
    per_kind = {}
    recorded: list[dict] = []  # per scene: its kind, truth and frame results (`--record`)
    with tempfile.TemporaryDirectory() as tmp:
        for kind, bank in banks.items():
            scenes = [
                make_scene(bank, rng, look=random_look(rng, dark_ink=i % 2 == 0), spacing=args.spacing)
                for i in range(args.scenes)
            ]
            clip = Path(tmp) / f"{kind}.avi"
            write_clip(str(clip), scenes, args.frames, rng)
            analyzer = FrameAnalyzer(recognizer)
            reports: dict[int, list] = {}  # scene → its StableReadings
            per_scene_frames_ok = 0
            stability = StabilityFilter()
            with Capture(SourceSpec.parse(str(clip)), every_frame=True) as capture:
                while (frame := capture.next_frame(timeout=2.0)) is not None:
                    t0 = time.perf_counter()
                    result = analyzer.analyze(frame.image, frame.index)
                    dt = time.perf_counter() - t0
                    totals["busy_s"] += dt
                    latencies.append(dt * 1000.0)
                    totals["frames"] += 1
                    scene_no = frame.index // args.frames
                    if frame.index % args.frames == 0:
                        stability = StabilityFilter()  # a new scene: count its reports alone
                        if args.record:
                            recorded.append({"kind": kind, "truth": scenes[scene_no][0].text, "frames": []})
                    if args.record:
                        recorded[-1]["frames"].append(frame_record(result))
                    per_scene_frames_ok += result.text == scenes[scene_no][0].text
                    stable = stability.update(result)
                    if stable is not None and stable.result.reading is not None:
                        reports.setdefault(scene_no, []).append(stable)
            digits = correct = numbers = numbers_ok = once = 0
            directly = _read_directly(recognizer, [scene for scene, _ in scenes])
            direct = sum(
                r.digit == int(t)
                for scene, readings in zip(scenes, directly, strict=True)
                for r, t in zip(readings, scene[0].digits, strict=True)
            )
            for i, (scene, _) in enumerate(scenes):
                stables = reports.get(i, [])
                said = [s.text for s in stables]
                once += len(said) == 1
                text = said[0] if said else ""
                if args.show_errors and said != [scene.text]:
                    # Each digit's voted best class and confidence, to tell a wrong class from a "?".
                    votes = [" ".join(_said(d) for d in s.result.reading.digits) for s in stables]
                    # ... and without the camera: a miss the camera path made, or the model's own.
                    plain = " ".join(_said(r) for r in directly[i])
                    print(
                        f"{kind} scene {i}: truth {scene.text!r}, reported {said!r} ({votes}), "
                        f"read directly {plain!r}",
                        file=sys.stderr,
                    )
                digits += len(scene.digits)
                correct += digits_correct(scene.text, text)
                truth_numbers = scene.text.replace("\n", " ").split(" ")
                read_numbers = text.replace("\n", " ").split(" ")
                numbers += len(truth_numbers)
                numbers_ok += sum(t == r for t, r in zip(truth_numbers, read_numbers, strict=False))
            per_kind[kind] = {
                "scenes": len(scenes),
                "digits": digits,
                "digit_accuracy": round(correct / digits, 4),
                "digits_read_directly": round(direct / digits, 4),
                "number_accuracy": round(numbers_ok / numbers, 4),
                "scenes_reported_exactly_once": round(once / len(scenes), 4),
                "frames_read_exactly": round(per_scene_frames_ok / (len(scenes) * args.frames), 4),
            }
            totals["digits"] += digits
            totals["digits_correct"] += correct
            totals["digits_direct"] += direct
            totals["numbers"] += numbers
            totals["numbers_correct"] += numbers_ok
            totals["scenes"] += len(scenes)
            totals["scenes_read_once"] += once
    if args.record:
        write_record(Path(args.record), vars(args), recorded)
    figures["clips"] = per_kind
    figures["model"] = recognizer.model.describe()
    figures["paper_model"] = recognizer.paper_model.describe() if recognizer.paper_model else None
    figures["digit_accuracy"] = round(totals["digits_correct"] / totals["digits"], 4)
    figures["digits_read_directly"] = round(totals["digits_direct"] / totals["digits"], 4)
    figures["number_accuracy"] = round(totals["numbers_correct"] / totals["numbers"], 4)
    figures["static_scene_reported_once"] = round(totals["scenes_read_once"] / totals["scenes"], 4)
    figures["frames"] = totals["frames"]
    figures["fps_one_core"] = round(totals["frames"] / totals["busy_s"], 1)
    figures["image_to_digits_ms"] = {
        "p50": round(float(np.percentile(latencies, 50)), 2),
        "p90": round(float(np.percentile(latencies, 90)), 2),
        "p99": round(float(np.percentile(latencies, 99)), 2),
    }
    figures["targets"] = {
        "fps_one_core": ">= 30",
        "digit_accuracy": ">= 0.98",
        "image_to_digits_p50_ms": "<= 15",
    }
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
