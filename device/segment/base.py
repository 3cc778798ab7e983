"""Shared by the stages: what segmentation returns (FoundDigit, Segmentation), gray conversion,
connected components and stroke width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import InputError
from ..layout import layout


@dataclass
class FoundDigit:
    image: np.ndarray  # (28, 28) float32 in [0, 1], prepared the MNIST way (mnist_prep.fit_to_mnist)
    box: list[float]  # [x, y, width, height] in the input image's pixel coordinates
    line: int = 0  # text line index, top to bottom
    # When the mark may be digits written so close that they touch ("88"): the two sides of its
    # thinnest column (each may be cut again). Only reading tells (Recognizer.read_segmentation).
    parts: list[FoundDigit] = field(default_factory=list)
    # When the mark is wide enough to hold several digits: the candidate digits between its
    # candidate cuts, keyed by (from, to) cut index (0 = its left edge, `cuts` = its right
    # edge). The recognizer reads them all in one batch and takes the best path (read_segmentation).
    segments: dict[tuple[int, int], FoundDigit] = field(default_factory=dict)
    cuts: int = 0
    # Much smaller than the digits of its line: maybe a mark that is no digit (a comma, a dash,
    # a fragment), kept only if it reads clearly as a digit (read_segmentation).
    small: bool = False


@dataclass
class Segmentation:
    digits: list[FoundDigit]  # lines top to bottom, left to right within a line
    separators: list[str] = field(default_factory=list)  # len(digits)-1: "", " " or "\n"
    mask: np.ndarray | None = None  # the thresholded ink mask (for the camera's threshold view)
    # Why nothing was found, for a status line: "blank image", "too dark", "overexposed",
    # "no digits found", "too cluttered". Empty when digits were found.
    note: str = ""
    # The picture's gray, in the boxes' coordinates: touching numbers are read again from it by
    # the line model (`touching.py`).
    gray: np.ndarray | None = field(default=None, repr=False)
    # The pixels of `gray` that were printed lines (underlines, box borders, ruled lines) which
    # segmentation erased, or None: the line model reads a number's crop with them as paper.
    lines: np.ndarray | None = field(default=None, repr=False)

    @property
    def layout(self) -> str:
        """The digits' arrangement with each digit as "d" ("dd d\nddd"); "" when none."""
        return layout(len(self.digits), self.separators)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Gray (H, W) or BGR/BGRA (H, W, 3|4) → gray uint8. Raises InputError on anything else."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = cv2.cvtColor(_as_uint8(a), cv2.COLOR_BGR2GRAY if a.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    elif a.ndim != 2:
        raise InputError(f"expected a gray or BGR image, got an array of shape {a.shape}")
    a = _as_uint8(a)
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError("the image is empty (0 pixels)")
    return np.ascontiguousarray(a)


def _as_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if np.issubdtype(a.dtype, np.floating):
        # Floats in [0, 1] (as the trainer uses) or in [0, 255].
        top = 1.0 if a.size and float(np.nanmax(a)) <= 1.0 else 255.0
        return np.clip(np.nan_to_num(a) * (255.0 / top), 0, 255).astype(np.uint8)
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.integer):
        top = float(a.max()) if a.size else 0.0
        return (a.astype(np.float32) * (255.0 / top)).astype(np.uint8) if top > 255 else a.astype(np.uint8)
    raise InputError(f"unsupported image data type {a.dtype}")


def _odd(n: float) -> int:
    n = max(3, round(n))
    return n if n % 2 else n + 1


def _label(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected components: (count with the background, labels, stats). Grana's algorithm
    gives the same labels as the default but computes the statistics about 3x faster."""
    n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    return n, labels, stats


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, labels, stats = _label(mask)
    return labels, stats[1:n]  # row i is label i + 1


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary mask: area over half the perimeter (boundary pixels)."""
    area = cv2.countNonZero(mask)
    if area == 0:
        return 0.0
    inner = cv2.countNonZero(cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))))
    return 2.0 * area / max(1, area - inner)
