"""Measure the image path on real scanned cheque amounts (ORAND-CAR-A, ../shared/data/orand_car_a).

Runs the real commands on the validation part of the fixed split (digitkiosk.train.splits:
about one image in five, never used for tuning), or with `--part train` on the development-train
part (for tuning), and prints JSON:

- `predict` on each whole image: amounts read exactly right (the annotated digits left to right;
  the answer's spaces and line breaks ignored), and digits right (1 - edit distance / length,
  summed over the images);
- the same `predict` with the line model off (DIGITKIOSK_LINE_MODEL=off): the segmentation path
  alone, as before the line reader (pictures read by the paper model, `paper_reader.py`, unless
  DIGITKIOSK_PAPER_MODEL=off);
- the line reader alone (`line_reader.LineModel`, its members' best paths, one string chosen as its card's
  `decode` says: `device/ctc.py`) on each
  image, and the choice `predict` makes (`line_reader.read_field`: the segmentation's answer where
  all its digits read at least `prefer_segmentation_above` of the line model's card and it has as
  many digits as the line reader's, else the line reader's) for a range of such thresholds, the figures that
  threshold is chosen by; with the line reader's time per field on one core;
- the amounts answered and right among them at a few levels of `field_confidence` (the line
  model's probability of the whole amount): what a bank that sends the unsure ones to a person gets;
- `predict --single` on each annotated digit cropped with a 2 px margin: digits read right;

each beside the seed approach on the same images through the same model (the whole image, or
the crop, resized to 28x28 and inverted: one digit per image).

    .venv/bin/python tests/benchmarks/measure_scans.py [--part validation|train] [--model PATH]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
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


def amounts(texts: list[str], truths: list[str]) -> dict:
    from digitkiosk.train.amounts import score

    return score(texts, truths)


def run_predict(
    files: list[str],
    model: str | None,
    single: bool,
    line_model: str | None = None,
) -> list[dict]:
    cmd = [sys.executable, "-m", "digitkiosk.device", "predict", "--json", *files]
    if single:
        cmd.append("--single")
    if model:
        cmd += ["--model", model]
    env = dict(os.environ)
    if line_model is not None:
        env["DIGITKIOSK_LINE_MODEL"] = line_model
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if "Traceback" in proc.stderr:
        sys.exit(f"predict printed a traceback:\n{proc.stderr}")
    outs = {o["path"]: o for o in map(json.loads, proc.stdout.splitlines())}
    return [outs[f] for f in files]


def seed_reading(recognizer, images: list[np.ndarray]) -> list[str]:
    """The seed approach: each picture resized to 28x28 as a whole, inverted (white ink)."""
    x = np.stack([255 - cv2.resize(g, (28, 28), interpolation=cv2.INTER_AREA) for g in images])
    return [str(int(p.argmax())) for p in recognizer.model.predict_probs(x.astype(np.float32) / 255.0)]


def choose_grid(texts: list[str], seg_texts: list[str], seg_sure: list[float], truths: list[str]) -> dict:
    """`read_field`'s choice at several `prefer_segmentation_above` thresholds (2.0: never)."""
    out = {}
    for above in (0.6, 0.7, 0.8, 0.85, 0.9, 2.0):
        mixed = [
            s if s and (not t or (c >= above and len(s) == len(t))) else t
            for t, s, c in zip(texts, seg_texts, seg_sure, strict=True)
        ]
        out[f"prefer_segmentation_above_{above}"] = {
            **amounts(mixed, truths),
            "segmentation_answers": sum(m != t for m, t in zip(mixed, texts, strict=True)),
        }
    return out


def segmentation_answers(recognizer, images: list[np.ndarray]) -> tuple[list[str], list[float], list]:
    """Each picture read by segmentation as `read_field` reads it to compare with the line reader
    (the digit model's raw confidences, no paper model, touching numbers not re-read) → (texts,
    the least sure digit of each: 0 where a digit is "?" or nothing was read, the Readings: None
    where nothing was read). In this process:
    `predict` with the paper model off shows the digit model's calibrated confidences
    (`answers_alone`), which are not what `prefer_segmentation_above` is compared with."""
    from digitkiosk.device.errors import NothingToReadError

    texts, sure, readings = [], [], []
    for image in images:
        try:
            r = recognizer.read_by_segmentation(image, paper=False, touching=False)
        except NothingToReadError:
            texts.append("")
            sure.append(0.0)
            readings.append(None)
            continue
        texts.append("".join(r.text.split()))
        sure.append(min((d.confidence if d.digit is not None else 0.0 for d in r.digits), default=0.0))
        readings.append(r)
    return texts, sure, readings


OPINION_WEIGHTS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.5)


def opinion_grid(
    model, member_probs: list[np.ndarray], texts: list[str], segmented: tuple, truths: list[str]
) -> dict:
    """`read_field` at the card's `prefer_segmentation_above` with the digit model's opinion at
    several `segmentation_opinion_weight`s (0: not asked): where segmentation reads as many digits
    as the line reader and is not sure, `ctc.rescored_decode` chooses among the members' readings
    of that many digits (the figures the card's weight is chosen by)."""
    from digitkiosk.device.ctc import rescored_decode

    seg_texts, seg_sure, readings = segmented
    above = float(model.card.data.get("prefer_segmentation_above", 2.0))
    out = {}
    for weight in OPINION_WEIGHTS:
        asked = []
        for probs, text, r in zip(member_probs, texts, readings, strict=True):
            if weight > 0 and r is not None and text and len(r.digits) == len(text):
                chars = rescored_decode(
                    probs, model.blank, len(text), lambda s, w=weight, f=r.log_probability: w * f(s)
                )
                text = "".join(str(c.digit) for c in chars) or text
            asked.append(text)
        mixed = choose_grid(asked, seg_texts, seg_sure, truths)
        out[f"weight_{weight}"] = mixed.get(f"prefer_segmentation_above_{above}", mixed)
    return out


def clean_pictures(recognizer, model, count: int) -> dict:
    """Pictures of 1, 2 and 3 clean MNIST digits (dark on light, 112 px or 60 px high: fields by
    size), `count` of each, from the MNIST training digits that digitnet 1.4.0 held out (seed 4,
    5,000) and the line model never saw (its strips: the first 10,000): read by segmentation,
    by the line reader, and the choice between them at each threshold. What a photo of a digit
    or two loses or gains when fields are read by the line model."""
    import cv2
    from digitkiosk.device.line_reader import prepare_line
    from digitkiosk.train.data import load_mnist

    mnist = load_mnist(REPO.parent / "shared/data/mnist")
    held = np.random.default_rng(4).permutation(60000)[:5000]
    held = held[held >= 10000]
    truths, texts, pictures, member_probs = [], [], [], []
    for n in (1, 2, 3):
        for k in range(count):
            idx = held[k * n : k * n + n]
            size = 112 if n == 1 else 60
            img = cv2.resize(np.hstack([255 - mnist.x_train[i] for i in idx]), (n * size, size))
            truths.append("".join(str(mnist.y_train[i]) for i in idx))
            member_probs.append(model.probs(prepare_line(img)[None])[0])
            chars = model.decode(member_probs[-1])
            texts.append("".join(str(c.digit) for c in chars))
            pictures.append(img)
    segmented = segmentation_answers(recognizer, pictures)
    seg_texts, seg_sure, _ = segmented
    return {
        "pictures": len(truths),
        "segmentation_only": amounts(seg_texts, truths),
        "line_reader_alone": amounts(texts, truths),
        "line_reader_or_sure_segmentation": choose_grid(texts, seg_texts, seg_sure, truths),
        "segmentation_opinion": opinion_grid(model, member_probs, texts, segmented, truths),
    }


def line_figures(
    grays: list[np.ndarray], truths: list[str], segmented: tuple[list, list, list], path: str | None
) -> dict:
    """The line reader alone, and `read_field`'s choice between it and the segmentation path's
    answers by the digit model (`segmented`: `segmentation_answers`) at several
    `prefer_segmentation_above` thresholds (the figures the card's value is chosen by); ms per
    field (prepare, interpreter, decode), 1 thread."""
    from digitkiosk.device.line_reader import (
        default_line_model_path,
        load_line_model,
        prepare_line,
    )
    from digitkiosk.device.settings import MODEL_OFF

    if path is not None and path.strip().lower() in MODEL_OFF:
        return {"line_model": "off"}
    from digitkiosk.device.settings import Settings

    where = path or default_line_model_path()
    # A script is a command's edge: DIGITKIOSK_ALLOW_UNSIGNED=1 measures an unsigned candidate.
    model = load_line_model(where, policy=Settings.resolve().policy())
    texts, ms, member_probs = [], [], []
    for g in grays:
        t = time.perf_counter()
        member_probs.append(model.probs(prepare_line(g)[None])[0])
        chars = model.decode(member_probs[-1])
        ms.append((time.perf_counter() - t) * 1000.0)
        texts.append("".join(str(c.digit) for c in chars))
    seg_texts, seg_sure, _ = segmented
    chosen = choose_grid(texts, seg_texts, seg_sure, truths)
    return {
        "line_model": {
            **model.describe(),
            "prefer_segmentation_above": model.card.data.get("prefer_segmentation_above"),
        },
        "line_reader_alone": amounts(texts, truths),
        "line_reader_or_sure_segmentation": chosen,
        "segmentation_opinion": opinion_grid(model, member_probs, texts, segmented, truths),
        "line_reader_ms_per_field_p50": round(float(np.percentile(ms, 50)), 2),
        "line_reader_ms_per_field_p90": round(float(np.percentile(ms, 90)), 2),
        "line_texts": texts,
    }


def by_field_confidence(texts: list[str], truths: list[str], confidences: list[float | None]) -> dict:
    """What a bank would do with `field_confidence`: answer the amounts read at least this sure,
    send the rest to a person. Per level: the share of amounts answered, and of those the share
    read exactly right."""
    out = {}
    for level in (0.3, 0.5, 0.7, 0.9):
        rows = zip(texts, truths, confidences, strict=True)
        kept = [t == s for t, s, c in rows if c is not None and c >= level]
        out[f"at_least_{level}"] = {
            "answered": round(len(kept) / len(truths), 4),
            "right_of_answered": round(sum(kept) / len(kept), 4) if kept else None,
        }
    return out


def main() -> None:
    from digitkiosk.train.sources import crop_box

    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("validation", "train"), default="validation")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--model", default=None)
    ap.add_argument("--line-model", default=None, help="line model card (default: the bundled one)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N images (quick look)")
    ap.add_argument("--show-errors", action="store_true", help="list the amounts read wrong")
    ap.add_argument("--clean-pictures", type=int, default=200, help="MNIST pictures of 1, 2, 3 digits each")
    args = ap.parse_args()
    scans = load(Path(args.data), args.part)
    if args.limit:
        scans = scans[: args.limit]
    truths = [amount for _, amount, _ in scans]

    whole = run_predict([str(p) for p, _, _ in scans], args.model, single=False, line_model=args.line_model)
    texts = ["".join(c for c in o["text"] if not c.isspace()) for o in whole]
    latencies = [o["latency_ms"] for o in whole if "error" not in o]
    segmentation = run_predict([str(p) for p, _, _ in scans], args.model, single=False, line_model="off")
    seg_texts = ["".join(c for c in o["text"] if not c.isspace()) for o in segmentation]
    from digitkiosk.device.loader import load_model
    from digitkiosk.device.recognizer import Recognizer
    from digitkiosk.device.settings import Settings

    # A script is a command's edge: the environment's settings (DIGITKIOSK_ALLOW_UNSIGNED=1 to
    # measure an unsigned candidate) apply, as they do to the commands it runs.
    settings = Settings.resolve(model=args.model)
    recognizer = Recognizer(load_model(settings.model, policy=settings.policy()))
    grays = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p, _, _ in scans]
    # `read_field` compares the line reader with segmentation by the digit model alone (not the
    # paper model: line_reader.py says why), so its choice is measured on that segmentation.
    lines = line_figures(grays, truths, segmentation_answers(recognizer, grays), args.line_model)
    line_texts = lines.pop("line_texts", [])
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
        single = run_predict(files, args.model, single=True, line_model=args.line_model)
    answers = [o["digits"][0]["digit"] if o.get("digits") else "" for o in single]
    top1 = [str(o["digits"][0]["top3"][0][0]) if o.get("digits") else "" for o in single]

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
            "by_field_confidence": by_field_confidence(
                texts, truths, [o.get("field_confidence") for o in whole]
            ),
            "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
        },
        "predict_segmentation_only": {
            **amounts(seg_texts, truths),
            "errors": sum("error" in o for o in segmentation),
        },
        **lines,
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
    if args.clean_pictures and isinstance(lines.get("line_model"), dict):
        from digitkiosk.device.line_reader import default_line_model_path, load_line_model

        line_model = load_line_model(args.line_model or default_line_model_path(), policy=settings.policy())
        report["clean_digit_pictures"] = clean_pictures(recognizer, line_model, args.clean_pictures)
    if args.show_errors:
        report["wrong"] = [
            f"{p.name}: {t!r} for {s}" for (p, _, _), t, s in zip(scans, texts, truths, strict=True) if t != s
        ]
        report["wrong_segmentation_only"] = [
            f"{p.name}: {t!r} for {s}"
            for (p, _, _), t, s in zip(scans, seg_texts, truths, strict=True)
            if t != s
        ]
        if line_texts:
            report["wrong_line_reader_alone"] = [
                f"{p.name}: {t!r} for {s}"
                for (p, _, _), t, s in zip(scans, line_texts, truths, strict=True)
                if t != s
            ]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
