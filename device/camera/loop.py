"""The camera loop, the one for every front end: capture → analyse → vote → report.

Frames come from the capture thread (`capture.py`, newest only); each is read by the recognizer
(`pipeline.FrameAnalyzer`) and voted on over recent frames (`pipeline.StabilityFilter`); stable
readings and the source's status go to the event log. What a front end does with each frame is
its `Presenter`: the Tk view (`view.py`) draws it, the headless command (`headless.py`) shows
nothing (`NullPresenter`, picamera2's NullPreview idea). The loop ends when the source ends or
fails for good, a frame or time limit is reached, or `stop()` is called.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..events import EventLog
from ..recognizer import Recognizer
from .capture import Capture, CaptureStatus
from .events import emit_stable, emit_status
from .pipeline import STABLE_FRAMES, FrameAnalyzer, FrameResult, StabilityFilter
from .source import SourceSpec

log = logging.getLogger(__name__)

#: How long one wait for a frame lasts: how soon stop() and the limits are noticed.
FRAME_WAIT_S = 0.2


@dataclass
class LoopOptions:
    roi: tuple[int, int, int, int] | None = None
    stable_frames: int = STABLE_FRAMES
    every_frame: bool = False
    retries: int | None = 5  # reconnect attempts; None: forever
    max_frames: int | None = None  # stop after this many processed frames
    duration: float | None = None  # stop after this many seconds


@dataclass
class LoopStats:
    processed: int = 0
    readings: int = 0  # stable readings with digits
    busy_s: float = 0.0  # time spent analysing frames (segmentation + inference)
    elapsed_s: float = 0.0
    frames_read: int = 0
    dropped: int = 0
    state: str = "stopped"  # the source's final state


class Presenter:
    """What a front end does with each analysed frame. Called on the loop's thread: a Tk
    presenter hands the frame over to its own thread instead of drawing here."""

    def show(self, image: np.ndarray, result: FrameResult, number: str, fps: float) -> None:
        """`number`: the last stable reading ("" when none); `fps`: smoothed frame rate."""

    def status(self, status: CaptureStatus) -> None:
        """The source's status changed (on the capture thread)."""


class NullPresenter(Presenter):
    """Shows nothing: the headless camera."""


class CameraLoop:
    def __init__(
        self,
        recognizer: Recognizer,
        spec: SourceSpec,
        options: LoopOptions,
        events: EventLog | None = None,
        presenter: Presenter | None = None,
    ) -> None:
        self.spec = spec
        self.options = options
        self.events = events or EventLog()
        self.presenter = presenter or NullPresenter()
        self._analyzer = FrameAnalyzer(recognizer, options.roi)
        self._stability = StabilityFilter(options.stable_frames)
        self._stop = threading.Event()
        # Set on the capture thread when the source drops; the loop restarts the vote
        # (StabilityFilter.restart) on its own thread, before the next frame votes.
        self._dropped = threading.Event()
        #: Every stable reading with digits so far (text), for the embedding window and for tests.
        self.readings: list[str] = []
        self.stats = LoopStats()

    def stop(self) -> None:
        """Ask the loop to end; it does within FRAME_WAIT_S (or when the frame at hand is read)."""
        self._stop.set()

    def run(self) -> LoopStats:
        """Run until the source ends or fails, a limit is reached, or stop(); → what was done."""
        opts, stats = self.options, self.stats
        number, fps = "", 0.0
        t_start = last = time.monotonic()
        capture = Capture(
            self.spec, every_frame=opts.every_frame, retries=opts.retries, on_status=self._on_status
        )
        with capture:
            while not self._stop.is_set():
                if opts.max_frames is not None and stats.processed >= opts.max_frames:
                    break
                if opts.duration is not None and time.monotonic() - t_start >= opts.duration:
                    break
                frame = capture.next_frame(timeout=FRAME_WAIT_S)
                if frame is None:
                    if capture.status.finished:
                        break
                    continue  # reconnecting, or a slow source
                t0 = time.perf_counter()
                try:
                    result = self._analyzer.analyze(frame.image, frame.index)
                except Exception:  # one bad frame never ends the camera
                    log.exception("analysing frame %d failed", frame.index)
                    continue
                stats.busy_s += time.perf_counter() - t0
                stats.processed += 1
                now = time.monotonic()
                dt, last = now - last, now
                fps = (1.0 / dt) if fps == 0.0 and dt > 0 else 0.9 * fps + 0.1 * (1.0 / max(dt, 1e-6))
                if self._dropped.is_set():
                    self._dropped.clear()
                    self._stability.restart()
                stable = self._stability.update(result)
                if stable is not None:
                    number = stable.text
                    if stable.result.reading is not None:
                        stats.readings += 1
                        self.readings.append(stable.text)
                    emit_stable(self.events, stable)
                self.presenter.show(frame.image, result, number, fps)
            stats.state = capture.status.state
            stats.frames_read, stats.dropped = capture.frames_read, capture.frames_dropped
        stats.elapsed_s = time.monotonic() - t_start
        return stats

    def _on_status(self, status: CaptureStatus) -> None:
        if status.state == "reconnecting":
            self._dropped.set()
        emit_status(self.events, status)
        self.presenter.status(status)
