"""Digits as the kiosk's camera sees them, for training.

Training-split glyphs (MNIST training images, pen digits of training writers) are written on
synthetic photographed pages (scenes.py: perspective, uneven light, shadow, blur, noise, JPEG,
lines, specks) and found and prepared by the device's own segmentation (segment.find_digits),
exactly as a camera frame is. This is to the camera what the pen digits are to the touchscreen:
it shows the model a photographed digit after *our* preparation (a stroke thinned by the
threshold, a loop half filled by blur), which MNIST alone never does.

Only pages whose digits were all found, in reading order, are used, so every label is known.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from digitkiosk.device.layout import layout_of
from digitkiosk.device.segment import find_digits

from .errors import DataError
from .glyphs import GlyphBank
from .photo import random_look
from .scenes import make_scene

log = logging.getLogger(__name__)

#: Shots of each page (fresh noise, shake and compression each time).
SHOTS_PER_PAGE = 2
#: Pen width as a fraction of the digit's size, drawn per page: a fine pen to a marker.
PEN_WIDTH = (0.03, 0.09)
#: Give up when fewer than this fraction of the shots have every digit found (about 95% do): the
#: segmentation or the glyphs are broken, and the loop would never end.
MIN_MATCHED = 0.2
#: ...judged once this many shots were taken.
JUDGE_AFTER = 50


def camera_digits(
    mnist: tuple[np.ndarray, np.ndarray], pen: list[dict], count: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """→ `count` prepared digits (N, 28, 28) uint8 and their labels, from photographed pages of
    the given glyphs (MNIST images with labels; pen records as in pendigits.load_jsonl)."""
    rng = np.random.default_rng(seed)
    bank = GlyphBank(mnist=mnist, pen=pen)
    images: list[np.ndarray] = []
    labels: list[int] = []
    pages = used = 0
    t0 = time.perf_counter()
    while len(labels) < count:
        bank.pen_width_ratio = float(rng.uniform(*PEN_WIDTH))
        scene, camera = make_scene(bank, rng, look=random_look(rng))
        pages += 1
        for _ in range(SHOTS_PER_PAGE):
            seg = find_digits(camera.shoot(scene.ink, rng, shake=1.0))
            if seg.layout != layout_of(scene.text):
                continue  # a digit missed, split or merged: its labels are unknown
            used += 1
            images += [d.image for d in seg.digits]
            labels += [int(c) for c in scene.digits]
        shots = pages * SHOTS_PER_PAGE
        if shots >= JUDGE_AFTER and used < MIN_MATCHED * shots:
            raise DataError(
                f"camera digits: only {used} of {shots} shots of photographed pages had every digit found; "
                "the glyphs do not look like digits"
            )
    log.info(
        "camera digits: %d from %d of %d shots of %d pages (%.0f s)",
        count,
        used,
        pages * SHOTS_PER_PAGE,
        pages,
        time.perf_counter() - t0,
    )
    x = (np.stack(images[:count]) * 255.0 + 0.5).astype(np.uint8)
    return x, np.array(labels[:count], np.uint8)
