"""The camera's Tk view: the live picture with a box and the recognized digit over each digit,
the number read, the frame rate, the source's status and a toggle for the thresholded view.

`CameraView` is a `tk.Frame`, so the kiosk can embed it in its own window (or a Toplevel) as a
second mode; `open_window` is what `digitkiosk camera` runs. Capture and recognition run in a
worker thread; the Tk thread only draws the newest result, so a slow frame never blocks the UI.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import tkinter as tk
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageTk

from ..errors import DigitkioskError
from ..recognizer import Recognizer
from .capture import Capture, CaptureStatus
from .events import EventSink, stable_event, status_event
from .pipeline import STABLE_FRAMES, FrameAnalyzer, FrameResult, StabilityFilter
from .render import annotate
from .source import SourceSpec

log = logging.getLogger(__name__)

REFRESH_MS = 30
BACKGROUND = "#101010"
FOREGROUND = "#f0f0f0"


@dataclass
class _Shown:
    image: np.ndarray
    result: FrameResult
    number: str  # the last stable reading ("" when none)
    fps: float


class CameraView(tk.Frame):
    """Live camera reading, embeddable in any Tk window. Call start() to begin, stop() to end
    (also done when the widget is destroyed)."""

    def __init__(
        self,
        master: tk.Misc,
        recognizer: Recognizer,
        source: str | int | SourceSpec,
        roi: tuple[int, int, int, int] | None = None,
        events: str | Path | EventSink | None = None,
        *,
        stable_frames: int = STABLE_FRAMES,
        retries: int | None = None,
        every_frame: bool = False,
        **frame_options: object,
    ) -> None:
        super().__init__(master, bg=BACKGROUND, **frame_options)
        self.spec = source if isinstance(source, SourceSpec) else SourceSpec.parse(str(source))
        self.roi = roi
        self._analyzer = FrameAnalyzer(recognizer, roi)
        self._stability = StabilityFilter(stable_frames)
        self._retries = retries
        self._every_frame = every_frame
        self._own_sink = not isinstance(events, EventSink) and events is not None
        self._sink = EventSink(None, events) if self._own_sink else events
        self._capture: Capture | None = None
        self._worker: threading.Thread | None = None
        self._running = threading.Event()
        self._lock = threading.Lock()
        self._latest: _Shown | None = None
        self._drawn: _Shown | None = None
        self._status = CaptureStatus("stopped", "")
        self._after: str | None = None
        self._photo: ImageTk.PhotoImage | None = None
        #: Every stable reading shown so far (text), for the embedding window and for tests.
        self.readings: list[str] = []
        self.threshold_view = tk.BooleanVar(master=self, value=False)
        self._build()
        self.bind("<Destroy>", self._on_destroy, add="+")

    # -- layout -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.number_label = tk.Label(
            self, text="—", font=("DejaVu Sans", 40, "bold"), bg=BACKGROUND, fg=FOREGROUND
        )
        self.number_label.pack(side=tk.TOP, fill=tk.X, pady=(8, 0))
        # The bar is packed before the picture so that a large picture never squeezes it out.
        bar = tk.Frame(self, bg=BACKGROUND)
        bar.pack(side=tk.BOTTOM, fill=tk.X, padx=8, pady=(0, 8))
        self.picture = tk.Label(self, bg="black")
        self.picture.pack(side=tk.TOP, fill=tk.BOTH, expand=True, padx=8, pady=8)
        self.status_label = tk.Label(
            bar, text="", anchor="w", font=("DejaVu Sans", 12), bg=BACKGROUND, fg=FOREGROUND
        )
        self.status_label.pack(side=tk.LEFT, fill=tk.X, expand=True)
        self.threshold_toggle = tk.Checkbutton(
            bar,
            text="Threshold view",
            variable=self.threshold_view,
            command=self._redraw,
            font=("DejaVu Sans", 12),
            bg=BACKGROUND,
            fg=FOREGROUND,
            selectcolor="#303030",
            activebackground=BACKGROUND,
            activeforeground=FOREGROUND,
        )
        self.threshold_toggle.pack(side=tk.RIGHT)

    # -- control ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._running.is_set():
            return
        self._running.set()
        self._capture = Capture(
            self.spec, every_frame=self._every_frame, retries=self._retries, on_status=self._on_status
        ).start()
        self._worker = threading.Thread(target=self._work, name="camera view worker", daemon=True)
        self._worker.start()
        self._tick()

    def stop(self) -> None:
        self._running.clear()
        if self._after is not None:
            with contextlib.suppress(tk.TclError):
                self.after_cancel(self._after)
            self._after = None
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None
        if self._capture is not None:
            self._capture.close()
            self._capture = None
        if self._own_sink and self._sink is not None:
            self._sink.close()

    def toggle_threshold(self) -> None:
        self.threshold_view.set(not self.threshold_view.get())
        self._redraw()

    @property
    def status(self) -> CaptureStatus:
        return self._status

    @property
    def number(self) -> str:
        with self._lock:
            return self._latest.number if self._latest else ""

    # -- worker thread: capture → analyze → stability ------------------------------------------

    def _on_status(self, status: CaptureStatus) -> None:
        self._status = status
        if self._sink is not None:
            self._sink.emit(status_event(status))

    def _work(self) -> None:
        number = ""
        fps = 0.0
        last = time.monotonic()
        capture = self._capture
        while self._running.is_set() and capture is not None:
            frame = capture.next_frame(timeout=0.2)
            if frame is None:
                if capture.status.finished:
                    break
                continue
            try:
                result = self._analyzer.analyze(frame.image, frame.index)
            except Exception:  # never let one bad frame end the view
                log.exception("analysing frame %d failed", frame.index)
                continue
            now = time.monotonic()
            dt, last = now - last, now
            fps = (1.0 / dt) if fps == 0.0 and dt > 0 else 0.9 * fps + 0.1 * (1.0 / max(dt, 1e-6))
            stable = self._stability.update(result)
            if stable is not None:
                number = stable.text
                if stable.result.reading is not None:
                    self.readings.append(stable.text)
                if self._sink is not None:
                    self._sink.emit(stable_event(stable))
            with self._lock:
                self._latest = _Shown(frame.image, result, number, fps)

    # -- Tk thread: draw the newest result -----------------------------------------------------

    def _tick(self) -> None:
        self._after = None
        if not self._running.is_set():
            return
        with self._lock:
            latest = self._latest
        if latest is not None and latest is not self._drawn:
            self._draw(latest)
        self._update_status(latest)
        self._after = self.after(REFRESH_MS, self._tick)

    def _redraw(self) -> None:
        if self._drawn is not None:
            self._draw(self._drawn)

    def _draw(self, shown: _Shown) -> None:
        self._drawn = shown
        picture = annotate(shown.image, shown.result, self.threshold_view.get(), self.roi)
        width = max(64, self.picture.winfo_width() - 4)
        height = max(48, self.picture.winfo_height() - 4)
        h, w = picture.shape[:2]
        scale = min(width / w, height / h)
        if abs(scale - 1.0) > 0.02:
            picture = cv2.resize(
                picture,
                (max(1, int(w * scale)), max(1, int(h * scale))),
                interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
            )
        rgb = cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)
        self._photo = ImageTk.PhotoImage(Image.fromarray(rgb), master=self)
        self.picture.configure(image=self._photo)
        self.number_label.configure(text=shown.number or "—")

    def _update_status(self, shown: _Shown | None) -> None:
        status = self._status
        parts = [status.state if not status.message else f"{status.state}: {status.message}"]
        if shown is not None:
            parts.append(f"{shown.fps:.1f} fps")
            if shown.result.status != "ok":
                parts.append(shown.result.status)
        text = "  ·  ".join(parts)
        if self.status_label.cget("text") != text:
            self.status_label.configure(text=text)

    def _on_destroy(self, event: tk.Event) -> None:
        if event.widget is self:
            self.stop()


def open_window(
    recognizer: Recognizer,
    spec: SourceSpec,
    *,
    roi: tuple[int, int, int, int] | None = None,
    events: str | None = None,
    fullscreen: bool = True,
    stable_frames: int = STABLE_FRAMES,
    retries: int | None = 5,
    every_frame: bool = False,
) -> int:
    """`digitkiosk camera` with a display: a window (fullscreen on the kiosk) until closed.
    Escape or q closes it, t toggles the thresholded view."""
    try:
        root = tk.Tk()
    except tk.TclError as e:
        raise DigitkioskError(f"no display for the camera window ({e}); use --headless") from None
    root.title("digitkiosk camera")
    root.configure(bg=BACKGROUND)
    if fullscreen:
        root.attributes("-fullscreen", True)
    else:
        root.geometry("900x760")
    view = CameraView(
        root,
        recognizer,
        spec,
        roi,
        events,
        stable_frames=stable_frames,
        retries=retries,
        every_frame=every_frame,
    )
    view.pack(fill=tk.BOTH, expand=True)
    for key in ("<Escape>", "q"):
        root.bind(key, lambda _e: root.destroy())
    root.bind("t", lambda _e: view.toggle_threshold())
    view.start()
    try:
        root.mainloop()
    finally:
        view.stop()
        with contextlib.suppress(tk.TclError):
            root.destroy()
    return 1 if view.status.state == "failed" else 0
