"""Pages written with real digits (glyphs.py): numbers in lines, with an underline, a box and
specks, as ink alpha with its true text."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .glyphs import GlyphBank


def _scaled(glyph: np.ndarray, height: int) -> np.ndarray:
    h, w = glyph.shape
    s = height / h
    return cv2.resize(glyph, (max(1, round(w * s)), height), interpolation=cv2.INTER_LINEAR)


def layout(
    bank: GlyphBank,
    rng: np.random.Generator,
    size: tuple[int, int] = (640, 480),
    lines: int = 2,
    numbers_per_line: tuple[int, int] = (1, 2),
    digits_per_number: tuple[int, int] = (2, 4),
    height: tuple[int, int] = (44, 64),
    underline: bool = True,
    box: bool = True,
    sources: list[tuple[str, Any]] | None = None,
    spacing: tuple[float, float] = (0.12, 0.3),
) -> tuple[np.ndarray, str]:
    """Ink alpha (H, W) float32 with numbers written in lines, and the true text. `sources`, if
    given, receives each placed digit (GlyphBank.pick), in reading order. `spacing`: the gap
    between the digits of a number, as a fraction of their height (negative: they touch)."""
    w, h = size
    ink = np.zeros((h, w), np.float32)
    texts = []
    dh = int(rng.integers(*height))
    line_pitch = int(dh * 2.0)
    top = int((h - line_pitch * (lines - 1) - dh) / 2)
    for li in range(lines):
        y = top + li * line_pitch
        x = int(rng.integers(int(0.08 * w), int(0.14 * w)))
        numbers = []
        for ni in range(int(rng.integers(numbers_per_line[0], numbers_per_line[1] + 1))):
            n_digits = int(rng.integers(digits_per_number[0], digits_per_number[1] + 1))
            labels = [int(v) for v in rng.integers(0, 10, n_digits)]
            x_start = x
            placed = []
            for label in labels:
                alpha, source = bank.pick(label, rng)
                g = _scaled(alpha, int(dh * rng.uniform(0.92, 1.08)))
                gh, gw = g.shape
                yy = y + (dh - gh) // 2 + int(rng.integers(-2, 3))
                if x + gw >= w - 10:
                    break
                ink[yy : yy + gh, x : x + gw] = np.maximum(ink[yy : yy + gh, x : x + gw], g)
                placed.append(label)
                if sources is not None:
                    sources.append(source)
                x += gw + int(dh * rng.uniform(*spacing))
            if not placed:
                break
            numbers.append("".join(map(str, placed)))
            right = x - int(dh * 0.12)
            t = max(2, dh // 22)
            if underline and ni == 0 and li == 0:
                uy = y + dh + int(dh * 0.12)
                cv2.line(
                    ink, (x_start - 6, uy), (right + 6, uy + int(rng.integers(-2, 3))), 1.0, t, cv2.LINE_AA
                )
            if box and ni == 0 and li == lines - 1:
                pad = int(dh * 0.35)
                cv2.rectangle(ink, (x_start - pad, y - pad), (right + pad, y + dh + pad), 1.0, t, cv2.LINE_AA)
            x += int(dh * rng.uniform(1.3, 1.8))
            if x > w - dh:
                break
        texts.append(" ".join(numbers))
    return ink, "\n".join(texts)


def plain_page(
    bank: GlyphBank, rng: np.random.Generator, paper: float = 230.0, contrast: float = 200.0, **layout_args
) -> tuple[np.ndarray, np.ndarray, str]:
    """Writing with no underline or box, photographed flat (even light, no blur, no noise):
    → (gray photo uint8, ink alpha, true text)."""
    ink, text = layout(bank, rng, underline=False, box=False, **layout_args)
    return np.clip(paper - contrast * ink, 0, 255).astype(np.uint8), ink, text


def add_specks(ink: np.ndarray, rng: np.random.Generator, count: int, max_radius: int = 2) -> None:
    h, w = ink.shape
    for _ in range(count):
        cv2.circle(
            ink,
            (int(rng.integers(w)), int(rng.integers(h))),
            int(rng.integers(1, max_radius + 1)),
            float(rng.uniform(0.5, 1.0)),
            -1,
            cv2.LINE_AA,
        )
