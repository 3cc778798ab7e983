"""Photographed pages made from real handwritten digits: MNIST images and real pen trajectories
(pendigits, `glyphs.py`) written in lines on a page (`pages.py`) and photographed with the
troubles of a real photo (`photo.py`): uneven light, a shadow, perspective, blur, noise, JPEG
compression, an underline, a box border, specks. `clips.py` writes them as video,
`amounts.py` scores what was read.

Every scene knows its true text. The camera tests and tests/benchmarks/bench_camera.py make
their clips from *test* glyphs; the trainer makes camera-domain training digits from *training*
glyphs (see camera_digits.py). Needs only numpy and OpenCV, not TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .glyphs import GlyphBank, read_directly
from .pages import add_specks, layout
from .photo import Camera, Look, random_look


@dataclass
class Scene:
    image: np.ndarray  # BGR uint8
    text: str  # the truth: digits, " " between numbers, "\n" between lines
    ink: np.ndarray = field(repr=False)  # the clean ink alpha, for making video frames
    # Each digit on the page (GlyphBank.pick), in reading order.
    sources: list[tuple[str, Any]] = field(default_factory=list, repr=False)

    @property
    def digits(self) -> str:
        return "".join(c for c in self.text if c.isdigit())

    def read_directly(self) -> np.ndarray:
        """(digits, 28, 28): the page's digits read without the camera (read_directly): what
        the model makes of the handwriting itself, to set the camera against."""
        return np.stack([read_directly(source) for source in self.sources])


def make_scene(
    bank: GlyphBank,
    rng: np.random.Generator,
    size: tuple[int, int] = (640, 480),
    look: Look | None = None,
    specks: int = 12,
    **layout_args,
) -> tuple[Scene, Camera]:
    sources: list[tuple[str, Any]] = []
    ink, text = layout(bank, rng, size, sources=sources, **layout_args)
    if specks:
        add_specks(ink, rng, specks)
    camera = Camera.random(look or random_look(rng), size, rng)
    return Scene(camera.shoot(ink, rng), text, ink, sources), camera
