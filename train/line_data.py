"""Lines for the field reader (`device/line_reader.py`): real cheque amounts (ORAND-CAR-A, split
by image with `splits.is_validation_scan`) and synthetic amounts pasted together from the real
digits and gaps of the development-train part only.

Only ~870 real training lines exist, so most of what the line model sees is synthetic: each real
training field is prepared exactly as the device prepares it (`writing_rows`, `line_ink`), cut at
its annotated boxes into digit strips (the digit's columns, everything outside its box cleared) and the strips
between digits (the ".", ",", "-" and blank paper people write there, no digit), and these are
pasted side by side again in new orders, with real gaps, touching and overlapping digits, jitter
of size, height and stroke, and a faint texture from a real field under them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from digitkiosk.device.fields import writing_rows
from digitkiosk.device.imageio import read_image
from digitkiosk.device.line_reader import LINE_HEIGHT, LINE_WIDTH, line_ink, pad_line
from digitkiosk.device.segment import to_gray

from .sources import scan_amounts
from .splits import is_validation_scan

log = logging.getLogger(__name__)


@dataclass
class Field:
    ink: np.ndarray  # (LINE_HEIGHT, w) float32, device preparation without the width limit
    text: str
    boxes: list[tuple[int, int, int, int]]  # x0, y0, x1, y1 at line scale, left to right


def load_fields(root: str | Path) -> tuple[list[Field], list[Field]]:
    """ORAND-CAR-A → (development-train fields, validation fields)."""
    parts: tuple[list[Field], list[Field]] = ([], [])
    for path, text, boxes in scan_amounts(root):
        gray = to_gray(read_image(path))
        # As the device cuts a field with too much paper (`writing_rows`), the boxes with it.
        top, bottom = writing_rows(gray)
        gray = gray[top:bottom]
        ink = line_ink(gray, max_width=None, close=False)
        s = LINE_HEIGHT / gray.shape[0]
        scaled = [
            (
                int(np.floor(x * s)),
                max(0, int(np.floor((y - top) * s))),
                int(np.ceil((x + w) * s)),
                min(LINE_HEIGHT, int(np.ceil((y - top + h) * s))),
            )
            for (x, y, w, h), _ in boxes
        ]
        parts[int(is_validation_scan(path.name))].append(Field(ink, text, scaled))
    log.info("line fields: %d train, %d validation", len(parts[0]), len(parts[1]))
    return parts


@dataclass
class StripBank:
    """Pieces of the training fields: digit strips by digit, gaps between digits, and the
    fields' ends before the first and after the last digit (dashes, "=" and the like)."""

    digits: list[list[np.ndarray]] = field(default_factory=lambda: [[] for _ in range(10)])
    gaps: list[np.ndarray] = field(default_factory=list)
    ends: list[np.ndarray] = field(default_factory=list)
    backgrounds: list[np.ndarray] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    # MNIST training digits as strips (`add_mnist`): lines of them teach clean, thick, single
    # digits and numbers written on plain paper, which a picture of a digit or two also is.
    mnist: list[list[np.ndarray]] = field(default_factory=lambda: [[] for _ in range(10)])
    # Real pen digits (`add_pen`), drawn with a thin to medium pen: the camera reads numbers
    # written with a ballpoint, whose strokes at line height are a pixel or two wide, where the
    # cheque and MNIST digits are two to four.
    pen: list[list[np.ndarray]] = field(default_factory=lambda: [[] for _ in range(10)])

    def add_mnist(self, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> None:
        for image, label in zip(images, labels, strict=True):
            self._add_glyph(self.mnist, image.astype(np.float32) / 255.0, image > 40, int(label), rng)

    def add_pen(self, records: list[dict], rng: np.random.Generator) -> None:
        """Records as `pendigits.load_jsonl` gives them (strokes parsed)."""
        from digitkiosk.device.errors import InputError
        from digitkiosk.device.strokes import render_ink

        for rec in records:
            try:
                ink = render_ink(rec["strokes"], width_ratio=float(rng.uniform(0.03, 0.09)))
            except InputError:  # a tap: no digit to paste
                continue
            self._add_glyph(self.pen, ink, ink > 0.15, int(rec["label"]), rng)

    @staticmethod
    def _add_glyph(into: list[list[np.ndarray]], ink: np.ndarray, mask: np.ndarray, label: int, rng) -> None:
        """A digit's ink (float, 0..1), cut to `mask`'s box, as a strip 18-28 rows tall."""
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            return
        glyph = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32)
        h = int(rng.integers(18, 29))
        w = max(2, round(glyph.shape[1] * h / glyph.shape[0]))
        strip = np.zeros((LINE_HEIGHT, w + 2), np.float32)
        top = (LINE_HEIGHT - h) // 2
        strip[top : top + h, 1 : w + 1] = cv2.resize(glyph, (w, h), interpolation=cv2.INTER_AREA)
        into[label].append(strip)

    @classmethod
    def from_fields(cls, fields: list[Field]) -> StripBank:
        bank = cls()
        for f in fields:
            w = f.ink.shape[1]
            digit_area = np.zeros(f.ink.shape, bool)
            for x0, y0, x1, y1 in f.boxes:
                digit_area[max(0, y0 - 1) : y1 + 1, max(0, x0 - 1) : x1 + 1] = True
            for (x0, y0, x1, y1), d in zip(f.boxes, f.text, strict=True):
                x0, x1 = max(0, x0 - 1), min(w, x1 + 1)
                if x1 - x0 < 2:
                    continue
                strip = np.zeros((LINE_HEIGHT, x1 - x0), np.float32)
                rows = slice(max(0, y0 - 1), y1 + 1)
                strip[rows] = _lifted(f.ink[rows, x0:x1])
                bank.digits[int(d)].append(strip)
            # Between digits: what is there, less any digit's box.
            outside = np.where(digit_area, 0.0, f.ink).astype(np.float32)
            for (_, _, a, _), (b, _, _, _) in zip(f.boxes, f.boxes[1:], strict=False):
                if b - a >= 2:
                    bank.gaps.append(_lifted(outside[:, a:b]))
            if f.boxes:
                first, last = min(b[0] for b in f.boxes), max(b[2] for b in f.boxes)
                if first >= 2:
                    bank.ends.append(_lifted(outside[:, :first]))
                if w - last >= 2:
                    bank.ends.append(_lifted(outside[:, last:]))
            bank.backgrounds.append(outside)
            bank.lengths.append(len(f.text))
        return bank


def _lifted(piece: np.ndarray) -> np.ndarray:
    """A piece of a field with its paper texture taken off (most of a piece is paper), so that
    pasted pieces show no seams; texture comes back under the whole line (`synthetic_line`)."""
    floor = float(np.percentile(piece, 70)) if piece.size else 0.0
    return np.clip((piece - floor) / max(1.0 - floor, 0.2), 0.0, 1.0).astype(np.float32)


def _jitter_strip(strip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A digit strip a little larger or smaller (kept LINE_HEIGHT tall), higher or lower."""
    scale = rng.uniform(0.8, 1.1)
    h = max(4, round(LINE_HEIGHT * scale))
    w = max(2, round(strip.shape[1] * scale * rng.uniform(0.85, 1.15)))
    small = cv2.resize(strip, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((LINE_HEIGHT, w), np.float32)
    if h <= LINE_HEIGHT:
        top = int(rng.integers(0, LINE_HEIGHT - h + 1))
        out[top : top + h] = small
    else:
        top = int(rng.integers(0, h - LINE_HEIGHT + 1))
        out[:] = small[top : top + LINE_HEIGHT]
    return out


def _paste(canvas: np.ndarray, piece: np.ndarray, x: int) -> None:
    """Ink over ink: the darker (here: brighter) of the two wins, as two pen strokes do."""
    x0 = max(0, x)
    seg = canvas[:, x0 : x + piece.shape[1]]
    np.maximum(seg, piece[:, x0 - x : x0 - x + seg.shape[1]], out=seg)


def synthetic_line(bank: StripBank, rng: np.random.Generator, tilt: float = 0.0) -> tuple[np.ndarray, str]:
    """One made-up amount: (LINE_HEIGHT, LINE_WIDTH) prepared line, its digits (`tilt`: `_look`)."""
    r = rng.random()
    # 1 line in 5 of MNIST digits, and (with `add_pen`) 3 in 20 of pen digits: numbers of 1-6
    # digits on plain paper, as in a picture; the rest of the cheques' own digits.
    source = bank.digits
    if bank.mnist[0] and r < 0.2:
        source = bank.mnist
    elif bank.pen[0] and r >= 0.85:
        source = bank.pen
    plain = source is not bank.digits
    n = int(rng.integers(1, 7)) if plain else int(rng.choice(bank.lengths)) + int(rng.integers(-1, 2))
    n = int(np.clip(n, 1, 8))
    text = "".join(str(int(d)) for d in rng.integers(0, 10, n))
    pieces: list[tuple[np.ndarray, int]] = []  # (strip, offset from the previous strip's end)
    # Real fields are often cut through their first or last digit (the amount box is tight):
    # so are some made-up ones, the cut digit still read.
    cut_left, cut_right = rng.random() < 0.15, rng.random() < 0.3
    if bank.ends and not cut_left and rng.random() < 0.3:
        pieces.append((bank.ends[rng.integers(len(bank.ends))], 0))
    for i, d in enumerate(text):
        strips = source[int(d)]
        strip = _jitter_strip(strips[rng.integers(len(strips))], rng)
        if i and bank.gaps and rng.random() < 0.3:
            pieces.append((bank.gaps[rng.integers(len(bank.gaps))], int(rng.integers(-1, 2))))
        # Touching and overlapping digits (cursive amounts) as often as spaced ones.
        gap = int(rng.integers(-5, 1)) if rng.random() < 0.5 else int(rng.integers(0, 6))
        pieces.append((strip, gap if pieces else 0))
    if bank.ends and not cut_right and rng.random() < 0.5:
        pieces.append((bank.ends[rng.integers(len(bank.ends))], int(rng.integers(0, 3))))
    left = 0 if cut_left else int(rng.integers(0, 6))
    width = left + sum(p.shape[1] + max(off, -p.shape[1] + 1) for p, off in pieces) + int(rng.integers(0, 6))
    canvas = np.zeros((LINE_HEIGHT, max(width, 1)), np.float32)
    x = left
    spans = []
    for p, off in pieces:
        x += max(off, -p.shape[1] + 1)
        _paste(canvas, p, x)
        spans.append((x, p.shape[1]))
        x += p.shape[1]
    if cut_right:
        x, w = spans[-1]
        canvas = canvas[:, : max(1, x + int(w * rng.uniform(0.7, 0.97)))]
    if cut_left:
        x, w = spans[0]
        canvas = canvas[:, min(canvas.shape[1] - 1, x + int(w * rng.uniform(0.03, 0.25))) :]
    if bank.backgrounds and rng.random() < 0.6:
        bg = bank.backgrounds[rng.integers(len(bank.backgrounds))]
        bg = cv2.resize(bg, (canvas.shape[1], LINE_HEIGHT), interpolation=cv2.INTER_LINEAR)
        np.maximum(canvas, np.minimum(bg, 0.5) * rng.uniform(0.3, 1.0), out=canvas)
    return pad_line(_look(canvas, rng, tilt)), text


def _tilt(ink: np.ndarray, rng: np.random.Generator, tilt: float) -> np.ndarray:
    """A line written or scanned askew: turned by up to `tilt` degrees (the ends leaving the band
    are lost, as in a field cut from a skewed scan), or its writing slanted by up to 3 * `tilt`
    degrees more or less than it is, each in one line of four. The development fields are scanned
    nearly straight; turned by 4 degrees they read 3-5 points worse (README, "Fields askew")."""
    h, w = ink.shape
    if rng.random() < 0.25:
        m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), float(rng.uniform(-tilt, tilt)), 1.0)
        ink = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)
    if rng.random() < 0.25:
        shear = float(np.tan(np.radians(rng.uniform(-3.0 * tilt, 3.0 * tilt))))
        pad = int(np.ceil(abs(shear) * h / 2.0))
        m = np.float32([[1.0, shear, pad - shear * h / 2.0], [0.0, 1.0, 0.0]])
        ink = cv2.warpAffine(ink, m, (w + 2 * pad, h), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return ink


def _look(ink: np.ndarray, rng: np.random.Generator, tilt: float = 0.0) -> np.ndarray:
    """Pen, scanner and scale: thicker or thinner strokes, blur, contrast, noise, width; and with
    `tilt` (degrees), askew (`_tilt`)."""
    if tilt > 0:
        ink = _tilt(ink, rng, tilt)
    r = rng.random()
    if r < 0.15:
        ink = cv2.dilate(ink, np.ones((2, 2), np.uint8))
    elif r < 0.3:
        ink = cv2.erode(ink, np.ones((2, 1), np.uint8))
    if rng.random() < 0.3:
        ink = cv2.GaussianBlur(ink, (3, 3), rng.uniform(0.3, 1.0))
    ink = ink * rng.uniform(0.7, 1.1) + (
        rng.normal(0, rng.uniform(0, 0.06), ink.shape) if rng.random() < 0.5 else 0
    )
    w = max(4, round(ink.shape[1] * rng.uniform(0.85, 1.15)))
    ink = cv2.resize(np.clip(ink, 0, 1).astype(np.float32), (w, LINE_HEIGHT), interpolation=cv2.INTER_AREA)
    return ink


def augmented_real(f: Field, rng: np.random.Generator, tilt: float = 0.0) -> np.ndarray:
    """A real training field with a new look (stroke, blur, contrast, width, `tilt`, a shift)."""
    ink = _look(f.ink, rng, tilt)
    shift = int(rng.integers(-2, 3))
    if shift:  # up or down, the row that leaves one edge not coming back at the other
        ink = np.roll(ink, shift, axis=0)
        if shift > 0:
            ink[:shift] = 0.0
        else:
            ink[shift:] = 0.0
    pad = int(rng.integers(0, 5))
    if pad:
        ink = np.pad(ink, ((0, 0), (pad, 0)))
    return pad_line(ink)


def epoch_lines(
    train: list[Field],
    bank: StripBank,
    synthetic: int,
    real_repeat: int,
    rng: np.random.Generator,
    tilt: float = 0.0,
) -> tuple[np.ndarray, list[str]]:
    """One epoch's lines (uint8, 0..255) and texts: each real field `real_repeat` times with new
    looks (the first time as it is) and `synthetic` made-up amounts, shuffled; `tilt`: `_look`."""
    xs, ts = [], []
    for k in range(real_repeat):
        for f in train:
            xs.append(pad_line(f.ink) if k == 0 else augmented_real(f, rng, tilt))
            ts.append(f.text)
    for _ in range(synthetic):
        x, t = synthetic_line(bank, rng, tilt)
        xs.append(x)
        ts.append(t)
    order = rng.permutation(len(xs))
    x = (np.stack([xs[i] for i in order]) * 255.0 + 0.5).astype(np.uint8)
    return x, [ts[i] for i in order]


def prepared(fields: list[Field]) -> np.ndarray:
    return (np.stack([pad_line(f.ink) for f in fields]) * 255.0 + 0.5).astype(np.uint8)


__all__ = ["LINE_WIDTH", "Field", "StripBank", "epoch_lines", "load_fields", "prepared", "synthetic_line"]
