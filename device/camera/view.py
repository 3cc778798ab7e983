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
import tkinter as tk
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageTk

from ..errors import DigitkioskError
from ..events import EventLog
from ..recognizer import Recognizer
from .capture import CaptureStatus
from .loop import CameraLoop, LoopOptions, Presenter
from .pipeline import STABLE_FRAMES, FrameResult
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


class _Handover(Presenter):
    """The loop's presenter for the Tk view: on the loop's thread it only hands the newest frame
    and status over; the Tk thread draws them (`CameraView._tick`)."""

    def __init__(self, view: CameraView) -> None:
        self.view = view

    def show(self, image: np.ndarray, result: FrameResult, number: str, fps: float) -> None:
        with self.view._lock:
            self.view._latest = _Shown(image, result, number, fps)

    def status(self, status: CaptureStatus) -> None:
        self.view._status = status


class CameraView(tk.Frame):
    """Live camera reading, embeddable in any Tk window: the camera loop (`loop.py`) on a worker
    thread, with this widget as its presenter. Call start() to begin, stop() to end (also done
    when the widget is destroyed); a view runs once."""

    def __init__(
        self,
        master: tk.Misc,
        recognizer: Recognizer,
        source: str | int | SourceSpec,
        roi: tuple[int, int, int, int] | None = None,
        events: str | Path | EventLog | None = None,
        *,
        stable_frames: int = STABLE_FRAMES,
        retries: int | None = None,
        every_frame: bool = False,
        max_frames: int | None = None,
        duration: float | None = None,
        **frame_options: object,
    ) -> None:
        super().__init__(master, bg=BACKGROUND, **frame_options)
        self.spec = source if isinstance(source, SourceSpec) else SourceSpec.parse(str(source))
        self.roi = roi
        self._own_events = events is not None and not isinstance(events, EventLog)
        self._events = EventLog(events) if self._own_events else events  # type: ignore[arg-type]
        options = LoopOptions(roi, stable_frames, every_frame, retries, max_frames, duration)
        self._loop = CameraLoop(recognizer, self.spec, options, self._events, _Handover(self))
        self._worker: threading.Thread | None = None
        self._running = threading.Event()
        self._lock = threading.Lock()
        self._latest: _Shown | None = None
        self._drawn: _Shown | None = None
        self._status = CaptureStatus("stopped", "")
        self._after: str | None = None
        self._photo: ImageTk.PhotoImage | None = None
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
        self._worker = threading.Thread(target=self._loop.run, name="camera view worker", daemon=True)
        self._worker.start()
        self._tick()

    def stop(self) -> None:
        self._running.clear()
        if self._after is not None:
            with contextlib.suppress(tk.TclError):
                self.after_cancel(self._after)
            self._after = None
        self._loop.stop()
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None
        if self._own_events and self._events is not None:
            self._events.close()

    def toggle_threshold(self) -> None:
        self.threshold_view.set(not self.threshold_view.get())
        self._redraw()

    @property
    def status(self) -> CaptureStatus:
        return self._status

    @property
    def finished(self) -> bool:
        """The loop has ended (the source ended or failed, or a limit was reached)."""
        return self._worker is not None and not self._worker.is_alive()

    @property
    def readings(self) -> list[str]:
        """Every stable reading shown so far (text), for the embedding window and for tests."""
        return self._loop.readings

    @property
    def number(self) -> str:
        with self._lock:
            return self._latest.number if self._latest else ""

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
    options: LoopOptions,
    *,
    events: EventLog | None = None,
    fullscreen: bool = True,
) -> int:
    """`digitkiosk camera` with a display: a window (fullscreen on the kiosk) until closed, or,
    with a frame or time limit (`options.max_frames`, `options.duration`), until the loop ends.
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
        options.roi,
        events,
        stable_frames=options.stable_frames,
        retries=options.retries,
        every_frame=options.every_frame,
        max_frames=options.max_frames,
        duration=options.duration,
    )
    view.pack(fill=tk.BOTH, expand=True)
    for key in ("<Escape>", "q"):
        root.bind(key, lambda _e: root.destroy())
    root.bind("t", lambda _e: view.toggle_threshold())
    limited = options.max_frames is not None or options.duration is not None

    def close_when_done() -> None:
        # With a limit the window is a run of fixed length (a demo, a soak test): it closes
        # when the loop ends, as the headless command exits.
        if view.finished:
            root.destroy()
        else:
            root.after(REFRESH_MS * 5, close_when_done)

    view.start()
    if limited:
        close_when_done()
    try:
        root.mainloop()
    finally:
        view.stop()
        with contextlib.suppress(tk.TclError):
            root.destroy()
    return 1 if view.status.state == "failed" else 0
