"""Real training sources beside MNIST: pen trajectories (pendigits, UNIPEN, collected samples) and
scanned digits cut from boxed scans (ORAND-CAR-A's COCO boxes), each prepared by the device's own
code so the model learns what the kiosk and the camera will show it.

Every source is split by writer (pen) or by image (scans) with the fixed rule of `splits.py`:
the held-out part validates (early stopping, recipe, calibration, reject threshold) and is never
trained on. Each source has its own weight (how often its training part is shown per epoch) and is
recorded in the model card with its size and checksum.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError
from .pen_variation import PenVariation, vary
from .splits import is_validation_scan, is_validation_writer, pen_writer

log = logging.getLogger(__name__)

# A pen source with fewer writers than this holds out one writer in ten, not one in five.
FEW_WRITERS = 50
# Margin around an annotated box when it is cut out: the box is drawn tight on the ink, and the
# device's single-digit preparation expects a crop that "holds one digit with a small margin".
SCAN_MARGIN_PX = 2


@dataclass
class SourceData:
    name: str
    kind: str  # "pen" or "scans"
    path: str
    repeat: int
    sha256: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    train_units: int  # writers or images
    val_units: int
    records: list[dict] = field(default_factory=list, repr=False)  # training pen records (camera_digits)
    skipped: int = 0  # scan boxes the device's preparation found no ink in
    # The repeat copies after the first, when they are varied renderings (pen_variation.py)
    # rather than duplicates of x_train.
    x_varied: np.ndarray | None = field(default=None, repr=False)
    y_varied: np.ndarray | None = field(default=None, repr=False)
    variation: dict | None = None

    def training_copies(self) -> tuple[np.ndarray, np.ndarray]:
        """The training part as shown per epoch: `repeat` copies, varied where configured."""
        if self.x_varied is None or self.y_varied is None:
            return np.concatenate([self.x_train] * self.repeat), np.concatenate([self.y_train] * self.repeat)
        return np.concatenate([self.x_train, self.x_varied]), np.concatenate([self.y_train, self.y_varied])

    def card_entry(self) -> dict:
        unit = "writers" if self.kind == "pen" else "images"
        return {
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "sha256": self.sha256,
            "repeat": self.repeat,
            "train_digits": len(self.y_train),
            "validation_digits": len(self.y_val),
            f"train_{unit}": self.train_units,
            f"validation_{unit}": self.val_units,
            **({"skipped_no_ink": self.skipped} if self.kind == "scans" else {}),
            **({"varied_copies": self.variation} if self.variation else {}),
        }


def parse_source(spec: str, default_repeat: int) -> tuple[str, int]:
    """'PATH' or 'PATH:REPEAT' → (path, repeat)."""
    path, sep, rep = spec.rpartition(":")
    if sep and rep.isdigit() and path:
        if int(rep) < 1:
            raise DataError(f"source weight must be at least 1: {spec!r}")
        return path, int(rep)
    return spec, default_repeat


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_name(path: str | Path) -> str:
    """A source's name in cards: its folder for a split file (`pendigits/train.jsonl` gives
    "pendigits"), else the file's stem."""
    path = Path(path)
    return path.parent.name if path.stem in ("train", "test") else path.stem


def load_pen(
    path: str | Path,
    repeat: int,
    hold_out: bool = True,
    variation: PenVariation | None = None,
    seed: int = 0,
) -> SourceData:
    """A JSON-lines pen file → images rendered by the device's stroke path, split by writer.
    With `variation`, the repeat copies after the first are rendered from varied strokes of the
    training writers (pen_variation.py); validation writers are rendered as written, once."""
    from .pendigits import load_jsonl

    path = Path(path)
    rows = load_jsonl(path)
    if not rows:
        raise DataError(f"{path}: no pen digits")
    return pen_source(
        source_name(path), str(path), file_sha256(path), rows, repeat, hold_out, variation, seed
    )


def pen_validation(path: str | Path) -> tuple[str, np.ndarray, np.ndarray]:
    """A JSON-lines pen file → (its source name, its validation writers' digits rendered as
    `load_pen` renders them, labels), without rendering the training writers' digits."""
    from .pendigits import load_jsonl, render

    rows = load_jsonl(Path(path))
    if not rows:
        raise DataError(f"{path}: no pen digits")
    held = [r for r, v in zip(rows, validation_rows(rows), strict=True) if v]
    x, y, _ = render(held) if held else (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), None)
    return source_name(Path(path)), x, y


def pen_source(
    name: str,
    path: str,
    sha256: str,
    rows: list[dict],
    repeat: int,
    hold_out: bool = True,
    variation: PenVariation | None = None,
    seed: int = 0,
) -> SourceData:
    """Parsed pen records ({"label", "strokes", "writer"}) → a source rendered by the device's
    stroke path and split by writer (`splits.py`), its repeat copies varied with `variation`."""
    from .pendigits import render

    x, y, _ = render(rows)
    writers = [pen_writer(r) for r in rows]
    is_val = validation_rows(rows) if hold_out else np.zeros(len(rows), bool)
    val_writers = {w for w, v in zip(writers, is_val, strict=True) if v}
    src = SourceData(
        name=name,
        kind="pen",
        path=path,
        repeat=repeat,
        sha256=sha256,
        x_train=x[~is_val],
        y_train=y[~is_val],
        x_val=x[is_val],
        y_val=y[is_val],
        train_units=len(set(writers) - val_writers),
        val_units=len(val_writers),
        records=[r for r, v in zip(rows, is_val, strict=True) if not v],
    )
    if variation is not None and repeat > 1:
        src.x_varied, src.y_varied = _varied_copies(src.records, repeat - 1, variation, seed)
        src.variation = variation.to_json()
    log.info(
        "pen source %s: %d train digits (%d writers), %d validation (%d writers)",
        src.name, len(src.y_train), src.train_units, len(src.y_val), src.val_units,
    )  # fmt: skip
    return src


def validation_rows(rows: list[dict]) -> np.ndarray:
    """Which pen records are held out: their writer is a validation writer (`splits.py`), one in
    ten for a source of few writers, one in five otherwise. Every pen trainer splits this way."""
    few = len({pen_writer(r) for r in rows}) < FEW_WRITERS
    return np.array([is_validation_writer(r, few_writers=few) for r in rows], dtype=bool)


def _varied_copies(
    rows: list[dict], copies: int, variation: PenVariation, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    from .pendigits import render

    rng = np.random.default_rng(seed)
    varied = [
        {**r, "strokes": vary(r["strokes"], int(r["label"]), rng, variation)}
        for _ in range(copies)
        for r in rows
    ]
    x, y, _ = render(varied)
    return x, y


def scan_annotations(root: str | Path) -> tuple[Path, list[dict]]:
    """An ORAND-style folder (`train.json` COCO + `train/` images) → (json path, images with their
    boxes sorted left to right: [{"file", "path", "boxes": [[x, y, w, h], ...], "labels": [...]}])."""
    root = Path(root)
    ann = root / "train.json" if root.is_dir() else root
    if not ann.is_file():
        raise DataError(f"scan annotations not found: {ann}")
    try:
        coco = json.loads(ann.read_text())
        images = {im["id"]: im for im in coco["images"]}
        cats = {c["id"]: int(c["name"]) for c in coco["categories"]}
        by_image: dict[int, list[tuple[list[float], int]]] = {i: [] for i in images}
        for a in coco["annotations"]:
            by_image[a["image_id"]].append(([float(v) for v in a["bbox"]], cats[a["category_id"]]))
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"{ann}: malformed COCO annotations ({e})") from None
    out = []
    for image_id, im in sorted(images.items()):
        boxes = sorted(by_image[image_id], key=lambda b: b[0][0] + b[0][2] / 2)
        out.append(
            {
                "file": im["file_name"],
                "path": ann.parent / ann.stem / im["file_name"],
                "boxes": [b for b, _ in boxes],
                "labels": [lab for _, lab in boxes],
            }
        )
    return ann, out


def scan_amounts(root: str | Path) -> list[tuple[Path, str, list[tuple[list[float], int]]]]:
    """Boxed scans as amounts, by file name: (path, the digits left to right, [(box, digit), ...]),
    what the scan benchmark and tests score the image path against."""
    _, images = scan_annotations(root)
    return [
        (im["path"], "".join(str(d) for d in im["labels"]), list(zip(im["boxes"], im["labels"], strict=True)))
        for im in sorted(images, key=lambda im: im["file"])
    ]


def crop_box(gray: np.ndarray, box: list[float], margin: int = SCAN_MARGIN_PX) -> np.ndarray:
    x, y, w, h = box
    h_img, w_img = gray.shape[:2]
    x0, y0 = max(0, int(np.floor(x)) - margin), max(0, int(np.floor(y)) - margin)
    x1, y1 = min(w_img, int(np.ceil(x + w)) + margin), min(h_img, int(np.ceil(y + h)) + margin)
    return gray[y0:y1, x0:x1]


def load_scans(root: str | Path, repeat: int, hold_out: bool = True) -> SourceData:
    """Boxed scans → each annotated digit cut out and prepared by the device's single-digit path
    (`segment.single_digit`, what `predict --single` runs), split by image."""
    from digitkiosk.device.errors import DigitkioskError
    from digitkiosk.device.imageio import read_image
    from digitkiosk.device.segment import single_digit

    ann, images = scan_annotations(root)
    xs: list[list[np.ndarray]] = [[], []]
    ys: list[list[int]] = [[], []]
    units = [0, 0]
    skipped = 0
    for im in images:
        part = int(hold_out and is_validation_scan(im["file"]))
        units[part] += 1
        try:
            picture = read_image(im["path"])
        except DigitkioskError as e:
            raise DataError(f"{im['path']}: {e}") from None
        for box, label in zip(im["boxes"], im["labels"], strict=True):
            try:
                image28, _ = single_digit(crop_box(picture, box))
            except DigitkioskError:
                skipped += 1
                continue
            xs[part].append((np.clip(image28, 0, 1) * 255.0 + 0.5).astype(np.uint8))
            ys[part].append(label)

    def stack(i: int) -> tuple[np.ndarray, np.ndarray]:
        if not xs[i]:
            return np.zeros((0, 28, 28), np.uint8), np.zeros((0,), np.uint8)
        return np.stack(xs[i]), np.array(ys[i], np.uint8)

    (xt, yt), (xv, yv) = stack(0), stack(1)
    src = SourceData(
        name=Path(root).name,
        kind="scans",
        path=str(root),
        repeat=repeat,
        sha256=file_sha256(ann),
        x_train=xt,
        y_train=yt,
        x_val=xv,
        y_val=yv,
        train_units=units[0],
        val_units=units[1],
        skipped=skipped,
    )
    log.info(
        "scan source %s: %d train digits (%d images), %d validation (%d images), %d boxes without ink",
        src.name, len(yt), units[0], len(yv), units[1], skipped,
    )  # fmt: skip
    return src
