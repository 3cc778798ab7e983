"""Photographing a page: how it looks (`Look`: light, shadow, perspective, blur, noise, JPEG) and
a fixed set-up (`Camera`) whose shots of a static page differ only by noise, shake and
compression, as a camera pointed at a sheet."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


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
