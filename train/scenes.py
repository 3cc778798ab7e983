"""Photographed pages made from real handwritten digits: MNIST images and real pen trajectories
(pendigits) placed on paper-like backgrounds with the troubles of a real photo: uneven light, a
shadow, perspective, blur, noise, JPEG compression, an underline, a box border, specks.

Every scene knows its true text. The camera tests and tests/benchmarks/bench_camera.py make
their clips from *test* glyphs; the trainer makes camera-domain training digits from *training*
glyphs (see camera_digits.py). Needs only numpy and OpenCV, not TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from digitkiosk.device.mnist_prep import fit_to_mnist
from digitkiosk.device.strokes import parse_strokes, render_ink, strokes_to_mnist


class GlyphBank:
    """Real digits by label, as ink alpha images (float32, ink 1, paper 0, cropped to the ink)."""

    def __init__(
        self,
        mnist: tuple[np.ndarray, np.ndarray] | None = None,
        pen: list[dict] | None = None,
        pen_width_ratio: float = 0.06,
    ) -> None:
        self._by_label: dict[int, list] = {d: [] for d in range(10)}
        if mnist is not None:
            images, labels = mnist
            for img, lab in zip(images, labels, strict=True):
                self._by_label[int(lab)].append(("mnist", img))
        if pen is not None:
            for rec in pen:
                # Records as in the JSON lines, or with strokes already parsed (pendigits.load_jsonl).
                strokes = rec["strokes"]
                parsed = strokes if strokes and isinstance(strokes[0], np.ndarray) else parse_strokes(strokes)
                self._by_label[int(rec["label"])].append(("pen", parsed))
        self.pen_width_ratio = pen_width_ratio

    def pick(self, label: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[str, Any]]:
        """A random digit of this label → (its ink alpha for a page, and the digit itself:
        ("mnist", image) or ("pen", strokes), for read_directly)."""
        source = self._by_label[label][rng.integers(len(self._by_label[label]))]
        kind, data = source
        if kind == "mnist":
            a = data.astype(np.float32) / 255.0
        else:
            # A thin pen: the stroke width photographs as a hairline relative to the digit.
            a = render_ink(data, width_ratio=self.pen_width_ratio)
        rows, cols = np.flatnonzero(a.max(axis=1) > 0.1), np.flatnonzero(a.max(axis=0) > 0.1)
        return a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], source


def read_directly(source: tuple[str, Any]) -> np.ndarray:
    """The 28x28 image a digit (GlyphBank.pick) gives read without a camera: the MNIST image
    prepared as it is, the pen strokes as the kiosk renders them."""
    kind, data = source
    return fit_to_mnist(data.astype(np.float32) / 255.0) if kind == "mnist" else strokes_to_mnist(data)


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


@dataclass
class Look:
    """How the page is photographed."""

    dark_ink: bool = True
    paper: float = 215.0
    ink: float = 35.0
    light_gradient: float = 0.35  # fraction of brightness lost across the page
    shadow: float = 0.35  # fraction of light a shadow takes away (0: none)
    perspective: float = 0.05  # corner jitter as a fraction of the size
    blur: float = 1.0  # Gaussian sigma, px
    noise: float = 4.0  # grey levels
    jpeg: int = 70  # quality; 0: none


def random_look(rng: np.random.Generator, dark_ink: bool | None = None) -> Look:
    dark = bool(rng.integers(2)) if dark_ink is None else dark_ink
    return Look(
        dark_ink=dark,
        paper=float(rng.uniform(185, 235) if dark else rng.uniform(25, 60)),
        ink=float(rng.uniform(20, 70) if dark else rng.uniform(185, 235)),
        light_gradient=float(rng.uniform(0.2, 0.45)),
        shadow=float(rng.uniform(0.2, 0.4)),
        perspective=float(rng.uniform(0.02, 0.06)),
        blur=float(rng.uniform(0.6, 1.4)),
        noise=float(rng.uniform(2, 6)),
        jpeg=int(rng.integers(55, 85)),
    )


@dataclass
class Camera:
    """A fixed photographic set-up (light field, shadow, perspective) for a page, so that the
    frames of a static scene differ only by sensor noise, a little shake and compression."""

    look: Look
    light: np.ndarray  # (H, W) float32 multiplier
    warp: np.ndarray  # 3x3 perspective

    @staticmethod
    def random(look: Look, size: tuple[int, int], rng: np.random.Generator) -> Camera:
        w, h = size
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(angle) * (xx / w - 0.5) + np.sin(angle) * (yy / h - 0.5)) + 0.5
        light = 1.0 - look.light_gradient * ramp
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        light *= 1.0 - 0.15 * (((xx - cx) / w) ** 2 + ((yy - cy) / h) ** 2)  # vignette
        if look.shadow > 0:
            # A soft-edged shadow (a hand, the kiosk's frame) over one corner of the page.
            shadow = np.zeros((h, w), np.float32)
            pts = np.array(
                [[0, 0], [rng.uniform(0.3, 0.6) * w, 0], [rng.uniform(0.1, 0.3) * w, h], [0, h]], np.int32
            )
            if rng.integers(2):
                pts[:, 0] = w - pts[:, 0]
            cv2.fillPoly(shadow, [pts], 1.0)
            shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(6, 20))
            light *= 1.0 - look.shadow * shadow
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = src + rng.uniform(-1, 1, (4, 2)).astype(np.float32) * look.perspective * np.float32([w, h])
        warp = cv2.getPerspectiveTransform(src, dst)
        return Camera(look, light.astype(np.float32), warp)

    def shoot(self, ink: np.ndarray, rng: np.random.Generator, shake: float = 0.0) -> np.ndarray:
        """Ink alpha → BGR photo."""
        look = self.look
        h, w = ink.shape
        warp = self.warp
        if shake:
            t = np.eye(3, dtype=np.float64)
            t[:2, 2] = rng.uniform(-shake, shake, 2)
            warp = t @ warp
        # The table around the sheet shows where perspective pulls the sheet in.
        table = look.paper * 0.55 if look.dark_ink else look.paper * 1.6
        page = look.paper * (1 - ink) + look.ink * ink
        page = cv2.warpPerspective(
            page, warp, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=table
        )
        page *= self.light
        if look.blur:
            page = cv2.GaussianBlur(page, (0, 0), look.blur)
        if look.noise:
            page += rng.normal(0, look.noise, page.shape).astype(np.float32)
        gray = np.clip(page, 0, 255).astype(np.uint8)
        # A slight colour cast: cameras are not grey.
        bgr = cv2.merge([gray, cv2.add(gray, 4), cv2.add(gray, 8)])
        if look.jpeg:
            _ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, look.jpeg])
            bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        return bgr


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


def write_clip(
    path: str,
    scenes: list[tuple[Scene, Camera]],
    frames_per_scene: int,
    rng: np.random.Generator,
    fps: float = 30.0,
    shake: float = 1.0,
) -> None:
    """An MJPG .avi of static scenes one after the other, each frame a new shot (fresh noise,
    a little shake, compression): what a camera pointed at a sheet produces."""
    h, w = scenes[0][0].ink.shape
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    try:
        for scene, camera in scenes:
            for _ in range(frames_per_scene):
                writer.write(camera.shoot(scene.ink, rng, shake=shake))
    finally:
        writer.release()


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def digits_correct(truth: str, read: str) -> int:
    """How many of the true digits were read correctly: the digit count minus the edits needed
    (a missed, extra or wrong digit each costs one)."""
    t = "".join(c for c in truth if c.isdigit())
    r = "".join(c for c in read if c.isdigit() or c == "?")
    return max(0, len(t) - edit_distance(t, r))
