"""Video clips of photographed pages (an MJPG .avi, as a camera records), for the camera's tests
and benchmark."""

from __future__ import annotations

import cv2
import numpy as np

from .photo import Camera
from .scenes import Scene


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
