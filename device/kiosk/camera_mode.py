"""The kiosk's camera mode: a window over the kiosk with the camera view (`camera/view.py`) and a
"Back to drawing" button; its events go to the kiosk's own log, tagged `"mode": "camera"`.

The camera is another module's (OpenCV capture, a source that may be missing): whatever it
raises while opening or closing, the kiosk stays up and says so.
"""

from __future__ import annotations

import logging
import tkinter as tk
from collections.abc import Callable

from ..events import EventLog
from ..recognizer import Recognizer
from . import theme

log = logging.getLogger(__name__)


class CameraMode:
    def __init__(
        self,
        root: tk.Tk,
        recognizer: Recognizer,
        source: str,
        events: EventLog,
        notice: Callable[[str], None],
    ) -> None:
        self.root = root
        self.recognizer = recognizer
        self.source = source
        self.events = events
        self.notice = notice
        self._view: object | None = None
        self._window: tk.Toplevel | None = None

    @property
    def open(self) -> bool:
        return self._view is not None

    def start(self, size: tuple[int, int], fullscreen: bool, unit: int) -> None:
        if self._view is not None:
            return
        try:
            from ..camera.view import CameraView  # lazy: OpenCV capture is only needed here
        except ImportError as e:
            log.warning("camera mode unavailable: %s", e)
            self.notice("Camera mode is not available on this kiosk")
            self.events.emit("notice", message=f"camera mode unavailable: {e}")
            return
        top = tk.Toplevel(self.root, bg=theme.BG)
        sw, sh = size
        top.geometry(f"{sw}x{sh}+0+0" if fullscreen else f"{int(sw * 0.8)}x{int(sh * 0.8)}+0+0")
        if fullscreen:
            top.attributes("-fullscreen", True)
        top.protocol("WM_DELETE_WINDOW", self.close)
        tk.Button(
            top,
            text="Back to drawing",
            font=theme.font(unit, 1.2, bold=True),
            bg=theme.UNDO_BG,
            fg=theme.BUTTON_FG,
            bd=0,
            pady=unit,
            command=self.close,
        ).pack(side="bottom", fill="x")
        try:
            view = CameraView(
                top, self.recognizer, self.source, roi=None, events=self.events.tagged(mode="camera")
            )
            if isinstance(view, tk.Widget) and not view.winfo_manager():
                view.pack(fill="both", expand=True)
            view.start()
        except Exception as e:  # the camera is another module's: whatever it raises, stay up
            log.exception("camera mode failed to start")
            top.destroy()
            self.notice(f"Camera could not start: {e}")
            self.events.emit("error", error=f"camera: {e}")
            return
        self._view, self._window = view, top
        self.events.emit("camera_opened", source=self.source)

    def close(self) -> None:
        view, top = self._view, self._window
        self._view = self._window = None
        try:
            if view is not None:
                view.stop()  # type: ignore[attr-defined]
        except Exception:
            log.exception("camera view failed to stop")
        if top is not None:
            top.destroy()
        self.root.focus_force()
        self.events.emit("camera_closed")
