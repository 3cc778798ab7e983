"""Video sources: a camera index, a V4L2 device path, a video file or a network stream.

`VideoSource` wraps one `cv2.VideoCapture` as a context manager with an explicit `close()`, so a
camera is always released, also when the reader fails half-way.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError

log = logging.getLogger(__name__)

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class SourceError(InputError):
    """A source cannot be opened or read."""


@dataclass(frozen=True)
class SourceSpec:
    text: str  # as the user wrote it
    kind: str  # "index", "device", "file" or "stream"

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @staticmethod
    def parse(text: str | int) -> SourceSpec:
        s = str(text).strip()
        if not s:
            raise SourceError("the video source is empty (give a camera index, /dev/videoN, a file or a URL)")
        if s.isdigit():
            return SourceSpec(s, "index")
        if _URL.match(s):
            return SourceSpec(s, "stream")
        if s.startswith("/dev/"):
            return SourceSpec(s, "device")
        return SourceSpec(s, "file")


def _quiet_opencv() -> None:
    # OpenCV prints its own warnings ("can't open camera by index") to stderr; we report a
    # clear status instead.
    with contextlib.suppress(AttributeError):  # very old OpenCV builds lack cv2.utils.logging
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class VideoSource:
    """One opened source. `read()` returns a BGR frame, or None when the source ended/failed."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> VideoSource:
        _quiet_opencv()
        spec = self.spec
        if spec.is_file:
            p = Path(spec.text)
            if not p.is_file():
                raise SourceError(f"video file not found: {spec.text}")
            if p.stat().st_size == 0:
                raise SourceError(f"video file is empty: {spec.text}")
        if spec.kind == "index":
            cap = cv2.VideoCapture(int(spec.text))
        elif spec.kind == "device":
            cap = cv2.VideoCapture(spec.text, cv2.CAP_V4L2)
        else:
            cap = cv2.VideoCapture(spec.text, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            what = {"index": "camera", "device": "camera device", "file": "video file", "stream": "stream"}[
                spec.kind
            ]
            raise SourceError(f"cannot open {what} {spec.text}")
        if spec.kind in ("index", "device"):
            # Ask for the size the pipeline is tuned for, and keep the driver's own queue short
            # so that what we read is recent.
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, 640)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, 480)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap
        log.info("opened %s %s", spec.kind, spec.text)
        return self

    @property
    def fps(self) -> float:
        """The source's nominal frame rate (0 when it does not say)."""
        if self._cap is None:
            return 0.0
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        return fps if 0.5 <= fps <= 240 else 0.0

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        try:
            ok, frame = self._cap.read()
        except cv2.error as e:
            log.warning("reading %s failed: %s", self.spec.text, e)
            return None
        if not ok or frame is None or frame.size == 0:
            return None
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> VideoSource:
        return self.open() if self._cap is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()
