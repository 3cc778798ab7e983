"""Fields cut with more paper than the line model learnt: the figures `fields.writing_rows`
was chosen by, and what it buys.

    .venv/bin/python tests/benchmarks/field_margins.py [--pads 0,0.25,0.5,1] [--scales 3,4]

1. On the ORAND-CAR-A *development-train* fields (`splits.py`), the field's height over its
   writing's band (`writing_band`) and the paper above and below the band, in band heights:
   the percentiles TOO_MUCH_PAPER, PAPER_ABOVE and PAPER_BELOW were set from.
2. On the *validation* fields, each with `pad` times its height of its own paper colour added
   above and below (a field cut loosely, or a form's cell with room around the writing): amounts
   and digits right by the line reader alone, as prepared before (`line_ink(close=False)`) and
   now, and by `digitkiosk predict` as shipped.
3. The validation fields scaled up `scale` times (bicubic: a scan at a higher resolution), read
   by `digitkiosk predict`.
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure_scans  # its data paths, the predict runner and the scoring


def padded(gray: np.ndarray, pad: float) -> np.ndarray:
    rows = round(gray.shape[0] * pad)
    return cv2.copyMakeBorder(gray, rows, rows, 0, 0, cv2.BORDER_CONSTANT, value=int(np.median(gray)))


def band_figures(grays: list[np.ndarray]) -> dict:
    from digitkiosk.device.fields import writing_band

    ratio, above, below = [], [], []
    for g in grays:
        found = writing_band(g)
        if found is None:
            continue
        y0, y1 = found
        band = y1 - y0
        ratio.append(g.shape[0] / band)
        above.append(y0 / band)
        below.append((g.shape[0] - y1) / band)
    q = (50, 90, 95, 99)
    return {
        "fields": len(ratio),
        "height_over_band_percentiles": dict(
            zip(map(str, q), np.percentile(ratio, q).round(3).tolist(), strict=True)
        ),
        "paper_above_median": round(float(np.median(above)), 3),
        "paper_below_median": round(float(np.median(below)), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=measure_scans.DATA)
    ap.add_argument("--pads", default="0,0.25,0.5,1", help="paper added above and below, in field heights")
    ap.add_argument("--scales", default="3,4", help="resolutions to read the fields at, as multiples")
    args = ap.parse_args()
    from digitkiosk.device.line_reader import (
        default_line_model_path,
        line_ink,
        load_line_model,
        pad_line,
        prepare_line,
    )
    from digitkiosk.device.segment import to_gray
    from digitkiosk.device.settings import Settings

    def grays(part: str) -> tuple[list[np.ndarray], list[str]]:
        items = measure_scans.load(args.data, part)
        images = [to_gray(cv2.imread(str(p), cv2.IMREAD_UNCHANGED)) for p, _, _ in items]
        return images, [a for _, a, _ in items]

    train, _ = grays("train")
    figures: dict = {"development_train": band_figures(train)}
    val, truths = grays("validation")
    model = load_line_model(default_line_model_path(), policy=Settings.resolve().policy())

    def scored(texts: list[str]) -> dict:
        return {k: v for k, v in measure_scans.amounts(texts, truths).items() if not isinstance(v, list)}

    def read(lines: list[np.ndarray]) -> dict:
        return scored(["".join(str(c.digit) for c in model.decode(model.probs(x[None])[0])) for x in lines])

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pad in (float(v) for v in args.pads.split(",")):
            images = [padded(g, pad) for g in val]
            files = []
            for i, im in enumerate(images):
                files.append(str(Path(tmp) / f"{pad}_{i:03d}.png"))
                cv2.imwrite(files[-1], im)
            outs = measure_scans.run_predict(files, None, single=False)
            texts = ["".join(c for c in o.get("text", "") if c.isdigit()) for o in outs]
            rows[str(pad)] = {
                "line_reader_before": read([pad_line(line_ink(im, None, close=False)) for im in images]),
                "line_reader": read([prepare_line(im) for im in images]),
                "predict": scored(texts),
            }
        figures["validation_with_paper_added"] = rows
        scaled = {}
        for scale in (float(v) for v in args.scales.split(",") if v):
            files = []
            for i, g in enumerate(val):
                files.append(str(Path(tmp) / f"x{scale}_{i:03d}.png"))
                cv2.imwrite(files[-1], cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC))
            outs = measure_scans.run_predict(files, None, single=False)
            scaled[str(scale)] = scored(["".join(c for c in o.get("text", "") if c.isdigit()) for o in outs])
        figures["validation_scaled_predict"] = scaled
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
