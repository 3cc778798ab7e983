"""The capture thread: reads frames as they come and keeps only the newest.

A camera produces frames whether or not we keep up; queueing them would make the picture lag
further and further behind. So the thread overwrites a single slot and counts what it dropped.
A source that fails (camera unplugged, stream dropped) is reopened with exponential backoff;
a video file that ends simply ends. For measurements, `every_frame=True` hands over every frame
of a file without pacing or dropping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .source import SourceError, SourceSpec, VideoSource

log = logging.getLogger(__name__)

# Reconnect delays: first, growth factor, cap (seconds).
BACKOFF_FIRST = 0.5
BACKOFF_FACTOR = 2.0
BACKOFF_MAX = 8.0
# A live source that gives this many failed reads in a row is considered lost.
FAILED_READS = 5


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # BGR uint8
    index: int  # sequence number from the source (counts dropped frames too)
    time: float  # time.monotonic() when captured


@dataclass(frozen=True)
class CaptureStatus:
    state: str  # "opening", "live", "reconnecting", "ended", "failed", "stopped"
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("ended", "failed", "stopped")


class Capture:
    """Background reader of one source. Use as a context manager, or start() / close()."""

    def __init__(
        self,
        spec: SourceSpec,
        *,
        every_frame: bool = False,
        retries: int | None = 5,
        on_status: Callable[[CaptureStatus], None] | None = None,
    ) -> None:
        self.spec = spec
        self.every_frame = every_frame and spec.is_file
        self.retries = retries  # reconnect attempts after a failure; None: forever
        self._on_status = on_status
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._taken = -1  # index of the last frame handed out
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = CaptureStatus("opening", spec.text)
        self.frames_read = 0
        self.frames_dropped = 0

    # -- public -------------------------------------------------------------------------------

    @property
    def status(self) -> CaptureStatus:
        with self._cond:
            return self._status

    def start(self) -> Capture:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"capture {self.spec.text}", daemon=True)
            self._thread.start()
        return self

    def next_frame(self, timeout: float = 1.0) -> Frame | None:
        """The newest frame not yet handed out; None if none came within `timeout` or the
        source has finished (check `status`)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._latest is None or self._latest.index <= self._taken:
                if self._status.finished:
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            frame = self._latest
            self._taken = frame.index
            self._cond.notify_all()  # an every-frame reader waits for the slot to be taken
            return frame

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the thread ---------------------------------------------------------------------------

    def _set_status(self, state: str, message: str = "") -> None:
        status = CaptureStatus(state, message)
        with self._cond:
            if status == self._status:
                return
            self._status = status
            self._cond.notify_all()
        log.info("source %s: %s %s", self.spec.text, state, message)
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:  # a broken listener must not kill the capture
                log.exception("status listener failed")

    def _wait_to_retry(self, attempt: int, delay: float, reason: str) -> tuple[int, float] | None:
        """Report `reason` and wait out the backoff; the next (attempt, delay), or None when the
        retries are spent (status "failed"). A stop during the wait ends the run loop."""
        if self.retries is not None and attempt >= self.retries:
            self._set_status("failed", reason)
            return None
        attempt += 1
        self._set_status("reconnecting", f"{reason}; retry {attempt} in {delay:.1f} s")
        self._stop.wait(delay)
        return attempt, min(delay * BACKOFF_FACTOR, BACKOFF_MAX)

    def _run(self) -> None:
        attempt = 0
        delay = BACKOFF_FIRST
        index = 0
        try:
            while not self._stop.is_set():
                try:
                    source = VideoSource(self.spec).open()
                except SourceError as e:
                    if self.spec.is_file:  # a file that cannot be opened will not get better
                        self._set_status("failed", str(e))
                        return
                    retry = self._wait_to_retry(attempt, delay, str(e))
                    if retry is None:
                        return
                    attempt, delay = retry
                    continue
                with source:
                    self._set_status("live", self.spec.text)
                    attempt, delay = 0, BACKOFF_FIRST
                    index, ended = self._read_loop(source, index)
                if self._stop.is_set():
                    break
                if ended:
                    self._set_status("ended", f"end of {self.spec.text}")
                    return
                # A live source stopped giving frames: unplugged, or the stream dropped.
                retry = self._wait_to_retry(attempt, delay, f"lost {self.spec.text}")
                if retry is None:
                    return
                attempt, delay = retry
            self._set_status("stopped")
        except Exception as e:  # never die silently: the user sees the state
            log.exception("capture thread failed")
            self._set_status("failed", f"{type(e).__name__}: {e}")

    def _read_loop(self, source: VideoSource, index: int) -> tuple[int, bool]:
        """Read until stopped or the source fails. Returns (next index, ended normally)."""
        period = 1.0 / source.fps if (self.spec.is_file and source.fps and not self.every_frame) else 0.0
        next_due = time.monotonic()
        failures = 0
        while not self._stop.is_set():
            image = source.read()
            if image is None:
                if self.spec.is_file:
                    return index, True  # a file's end (a corrupt tail reads the same)
                failures += 1
                if failures >= FAILED_READS:
                    return index, False
                self._stop.wait(0.05)
                continue
            failures = 0
            if period:
                # Play a file at its own frame rate, as a camera would deliver it.
                next_due += period
                wait = next_due - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
            self._publish(Frame(image, index, time.monotonic()))
            index += 1
        return index, False

    def _publish(self, frame: Frame) -> None:
        with self._cond:
            if self.every_frame:
                while (
                    self._latest is not None and self._latest.index > self._taken and not self._stop.is_set()
                ):
                    self._cond.wait(0.1)
            elif self._latest is not None and self._latest.index > self._taken:
                self.frames_dropped += 1  # nobody took the previous one: it is stale now
            self._latest = frame
            self.frames_read += 1
            self._cond.notify_all()
