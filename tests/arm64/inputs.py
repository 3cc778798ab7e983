"""The arm64 check's inputs: real digits written as the device's inputs (check.py)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import numpy as np

SHARED_DATA = Path(
    os.environ.get("DIGITKIOSK_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)


def _idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def write_inputs(folder: Path) -> dict:
    """Real digits written as the device's inputs: MNIST test digits as PNG photos of one digit
    and as pages holding a number; real pen digits (unseen writers) and numbers made of them."""
    from PIL import Image

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    mnist = SHARED_DATA / "mnist"
    images = _idx(mnist / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    labels = _idx(mnist / "t10k-labels-idx1-ubyte.gz", 8)
    single = []
    for digit in range(10):  # the first test image of each digit, dark ink on light paper, 112x112
        i = int(np.flatnonzero(labels == digit)[0])
        path = f"mnist-{i:05d}-{digit}.png"
        Image.fromarray(255 - images[i]).resize((112, 112), Image.BICUBIC).save(folder / path)
        single.append(path)
    pages = []
    rng = np.random.default_rng(21)
    for n, start in enumerate((100, 200)):  # 480x640 pages: a 5-digit number, uneven light, noise
        page = np.full((480, 640), 235.0) - np.linspace(0, 50, 640)[None, :]
        for k in range(5):
            d = np.asarray(Image.fromarray(images[start + k]).resize((84, 84), Image.BICUBIC), np.float64)
            page[190 : 190 + 84, 80 + k * 90 : 80 + k * 90 + 84] -= d * 0.7
        page += rng.normal(0, 4, page.shape)
        path = f"page-{n}-{''.join(str(labels[start + k]) for k in range(5))}.png"
        Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).save(folder / path)
        pages.append(path)
    pen = [json.loads(line) for line in (SHARED_DATA / "pendigits" / "test.jsonl").open() if line.strip()]
    lines, seen = [], {}
    for i, row in enumerate(pen):  # the first two test pen digits of each class
        if seen.get(row["label"], 0) < 2:
            seen[row["label"]] = seen.get(row["label"], 0) + 1
            lines.append({"id": f"pen-{i}-{row['label']}", "strokes": row["strokes"]})
    for n, picks in enumerate(((0, 1, 2), (3, 5, 8, 9))):  # numbers: pen digits side by side
        strokes, x0, text = [], 0.0, ""
        for p in picks:
            row = next(r for r in pen if r["label"] == p)
            xs = [pt[0] for s in row["strokes"] for pt in s]
            shift = x0 - min(xs)
            strokes += [[[pt[0] + shift, pt[1]] for pt in s] for s in row["strokes"]]
            x0 += max(xs) - min(xs) + 40
            text += str(p)
        lines.append({"id": f"pen-number-{n}-{text}", "strokes": strokes})
    (folder / "pen.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return {"single": single, "pages": pages, "strokes": "pen.jsonl"}
