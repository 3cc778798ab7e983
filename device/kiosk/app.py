"""The kiosk window (Tk): a drawing canvas, the answer beside it, and kiosk hygiene.

Everything here runs on the Tk thread. Decisions live in `controller.py`; recognition runs on the
worker thread (`worker.py`), the model watcher on its own thread (`model_watch.py`); both hand
their news over through queues that `_pump` drains, so Tk is never called from another thread.

Keys: Escape / Delete clear, Ctrl+Z undoes the last stroke, Ctrl+Shift+F toggles fullscreen,
Ctrl+Shift+Q quits. Plain Escape never quits: a kiosk must not be left by accident.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import signal
import time
import tkinter as tk
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..loader import LoadedModel
from ..model_watch import ModelChange, ModelWatcher
from ..package import TrustPolicy
from ..recognizer import Recognizer
from .controller import (
    IDLE_PRESENTATION,
    CanvasResult,
    InkController,
    Presentation,
    prediction_record,
    present,
    stroke_width_for_screen,
)
from .events import EventLog
from .reading import read_canvas
from .worker import RecognitionWorker, Request, Result

if TYPE_CHECKING:
    from ..samples import SampleStore

log = logging.getLogger(__name__)

# While a recognition is in flight the UI looks for its result every FAST_POLL_MS, so polling adds
# at most that much to pen-up → answer; otherwise it idles at SLOW_POLL_MS (watcher news, auto-clear).
FAST_POLL_MS = 2
SLOW_POLL_MS = 100
NOTICE_MS = 20_000
X_TIME_WRAP = 1 << 32
WINDOWED_FRACTION = 0.8  # --windowed: a window this fraction of the screen
SHIFT_MASK = 0x0001

BG = "#14202b"
PANEL_BG = "#1d2d3b"
CANVAS_BG = "#fbfbf8"
INK = "#101418"
TEXT = "#f2f4f5"
DIM = "#8fa3b3"
UNSURE_FG = "#ffb347"
BAR = "#4f7ea8"
BAR_TOP = "#7fd48a"


@dataclass
class KioskOptions:
    fullscreen: bool = True
    events: Path | None = None
    idle_clear_s: float = 0.0
    camera: str | None = None
    model_path: Path | None = None
    backend: str | None = None
    threads: int | None = None
    watch_interval_s: float = 1.0
    policy: TrustPolicy | None = None  # hot reloads verify like the first load (default: environment)
    sample_store: SampleStore | None = None  # corrections on (--samples): corrections.py
    samples_refused: str = ""  # why --samples could not be used (the kiosk runs on without it)
    keep_unconfirmed: bool = False  # --samples-all
    pad_idle_s: float = 15.0


def _model_text(model: LoadedModel) -> str:
    return f"{model.card.name} {model.card.version}"


def _input_lag_s(event_time_ms: int) -> float:
    """How long ago the X server stamped an input event. X timestamps are the server's
    CLOCK_MONOTONIC in ms (32-bit); on the same machine that measures the time the event waited
    before Tk handed it to us. Implausible values (a remote display) count as 0."""
    now_ms = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1000.0) % X_TIME_WRAP
    lag = (now_ms - int(event_time_ms)) % X_TIME_WRAP
    return lag / 1000.0 if lag < 2000 else 0.0


class KioskApp:
    def __init__(self, root: tk.Tk, recognizer: Recognizer, options: KioskOptions) -> None:
        self.root = root
        self.recognizer = recognizer
        self.options = options
        self.events = EventLog(options.events)
        self.screen = (root.winfo_screenwidth(), root.winfo_screenheight())
        self.pen_width = stroke_width_for_screen(*self.screen)
        self.ctl = InkController(idle_clear_s=options.idle_clear_s)
        self.worker = RecognitionWorker(self._recognize)
        self.changes: queue.Queue[ModelChange] = queue.Queue()
        self.watcher = ModelWatcher(
            recognizer,
            options.model_path or recognizer.model.path,
            backend=options.backend,
            num_threads=options.threads,
            interval=options.watch_interval_s,
            on_change=self.changes.put,
            policy=options.policy,
        )
        self.fullscreen = options.fullscreen
        self.show_seen = tk.BooleanVar(value=False)
        self._seq = 0
        self._shown_seq = 0
        self._live_shown = 0
        self._gesture_ink = False
        self._pump_id: str | None = None
        self._pump_fast = False
        self._notice_id: str | None = None
        self._canvas_rect: dict | None = None
        self._quit_requested = False
        self._photos: list[tk.PhotoImage] = []
        self._last_presentation = IDLE_PRESENTATION
        self._camera: object | None = None
        self._camera_window: tk.Toplevel | None = None
        root.report_callback_exception = self._on_callback_error
        self._build()
        self._bind()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        root = self.root
        sw, sh = self.screen
        if not self.fullscreen:
            sw, sh = int(sw * WINDOWED_FRACTION), int(sh * WINDOWED_FRACTION)  # size the UI to the window
        root.title("digitkiosk")
        root.configure(bg=BG)
        self.unit = max(8, sh // 40)  # one "line" of UI: touch targets are multiples of it
        panel_w = max(300, int(sw * 0.3))
        big_px = max(48, int(sh * 0.16))
        ui_font = ("DejaVu Sans", -self.unit)
        button_font = ("DejaVu Sans", -self.unit, "bold")

        root.rowconfigure(0, weight=1)
        root.columnconfigure(0, weight=1)
        self.canvas = tk.Canvas(root, bg=CANVAS_BG, highlightthickness=0, bd=0)
        self.canvas.grid(row=0, column=0, sticky="nsew")
        self.hint = self.canvas.create_text(
            10,
            10,
            text="Write a digit or a number here",
            fill="#b9c0c6",
            font=("DejaVu Sans", -int(self.unit * 1.4)),
        )

        panel = tk.Frame(root, bg=PANEL_BG, width=panel_w)
        panel.grid(row=0, column=1, sticky="ns")
        panel.grid_propagate(False)
        panel.columnconfigure(0, weight=1)
        self.big = tk.Label(panel, text="", font=("DejaVu Sans", -big_px, "bold"), fg=TEXT, bg=PANEL_BG)
        self.big.grid(row=0, column=0, sticky="ew", pady=(self.unit, 0))
        self.caption = tk.Label(
            panel,
            text=IDLE_PRESENTATION.caption,
            font=ui_font,
            fg=DIM,
            bg=PANEL_BG,
            wraplength=panel_w - 2 * self.unit,
        )
        self.caption.grid(row=1, column=0, sticky="ew", padx=self.unit)
        self.bars_w, self.bars_h = panel_w - 2 * self.unit, int(sh * 0.15)
        self.bars = tk.Canvas(panel, width=self.bars_w, height=self.bars_h, bg=PANEL_BG, highlightthickness=0)
        self.bars.grid(row=2, column=0, pady=self.unit)
        self._build_bars()
        self.bars_label = tk.Label(panel, text="", font=ui_font, fg=DIM, bg=PANEL_BG)
        self.bars_label.grid(row=3, column=0)
        self.seen = tk.Frame(panel, bg=PANEL_BG)
        self.seen.grid(row=4, column=0, pady=(self.unit // 2, 0))
        panel.rowconfigure(5, weight=1)

        buttons = tk.Frame(panel, bg=PANEL_BG)
        buttons.grid(row=6, column=0, sticky="ew", padx=self.unit, pady=self.unit)
        buttons.columnconfigure((0, 1), weight=1, uniform="b")
        style = {
            "font": button_font,
            "bd": 0,
            "relief": "flat",
            "activebackground": "#3c5a75",
            "pady": self.unit,
        }
        self.clear_button = tk.Button(
            buttons, text="Clear", bg="#c0504d", fg="white", command=lambda: self.clear("button"), **style
        )
        self.clear_button.grid(row=0, column=0, sticky="ew", padx=(0, self.unit // 2))
        self.undo_button = tk.Button(
            buttons, text="Undo stroke", bg="#34495e", fg="white", command=self.undo, **style
        )
        self.undo_button.grid(row=0, column=1, sticky="ew", padx=(self.unit // 2, 0))
        small = {**style, "font": ui_font, "pady": self.unit // 2}
        self.seen_button = tk.Checkbutton(
            buttons,
            text="Show what the model sees",
            variable=self.show_seen,
            indicatoron=False,
            command=self._refresh_seen,
            bg="#2b3e50",
            fg="white",
            selectcolor="#3c5a75",
            **small,
        )
        self.seen_button.grid(row=1, column=0, columnspan=2, sticky="ew", pady=(self.unit // 2, 0))
        self.camera_button: tk.Button | None = None
        if self.options.camera:
            self.camera_button = tk.Button(
                buttons, text="Camera", bg="#2b3e50", fg="white", command=self.open_camera, **small
            )
            self.camera_button.grid(row=2, column=0, columnspan=2, sticky="ew", pady=(self.unit // 2, 0))
        self.corrections = None
        if self.options.sample_store is not None:
            from .corrections import Corrections  # corrections.py: the Wrong? button, pad, samples

            self.corrections = Corrections(
                self.options.sample_store,
                self.events,
                keep_unconfirmed=self.options.keep_unconfirmed,
                pad_idle_s=self.options.pad_idle_s,
                show_answer=lambda big, caption: (
                    self.big.configure(text=big, fg=TEXT),
                    self.caption.configure(text=caption, fg=DIM),
                ),
                notice=self._notice,
            )
            self.corrections.build(buttons, panel, 3, self.unit, small)

        self.status = tk.Label(
            root, text="", anchor="w", font=("DejaVu Sans", -int(self.unit * 0.8)), fg=DIM, bg=BG
        )
        self.status.grid(row=1, column=0, columnspan=2, sticky="ew", padx=self.unit // 2)
        self._update_status()
        self._apply_fullscreen()

    def _build_bars(self) -> None:
        slot = self.bars_w / 10
        label_h = self.unit * 1.4
        self._bar_bottom = self.bars_h - label_h
        self._bar_items = []
        for d in range(10):
            x0 = d * slot + slot * 0.15
            x1 = (d + 1) * slot - slot * 0.15
            item = self.bars.create_rectangle(x0, self._bar_bottom, x1, self._bar_bottom, fill=BAR, width=0)
            self.bars.create_text(
                (x0 + x1) / 2,
                self.bars_h - label_h / 2,
                text=str(d),
                fill=DIM,
                font=("DejaVu Sans", -self.unit),
            )
            self._bar_items.append((item, x0, x1))

    def _apply_fullscreen(self) -> None:
        sw, sh = self.screen
        if self.fullscreen:
            # Geometry first: with no window manager (a bare X kiosk session) -fullscreen is not
            # honoured, and a borderless screen-sized window at 0,0 is the fullscreen there.
            self.root.geometry(f"{sw}x{sh}+0+0")
            self.root.attributes("-fullscreen", True)
            self.root.configure(cursor="none")  # children inherit it: no pointer on a touch kiosk
        else:
            self.root.attributes("-fullscreen", False)
            w, h = int(sw * WINDOWED_FRACTION), int(sh * WINDOWED_FRACTION)
            self.root.geometry(f"{w}x{h}+{sw // 20}+{sh // 20}")
            self.root.configure(cursor="")

    def _bind(self) -> None:
        c = self.canvas
        c.bind("<ButtonPress-1>", self._on_press)
        c.bind("<B1-Motion>", self._on_motion)
        c.bind("<ButtonRelease-1>", self._on_release)
        r = self.root
        r.bind("<Escape>", lambda e: self.clear("key"))
        r.bind("<Delete>", lambda e: self.clear("key"))
        r.bind("<Control-KeyPress>", self._on_control_key)
        r.bind("<Configure>", self._on_configure)
        r.protocol("WM_DELETE_WINDOW", self.quit)

    # -- start / stop ---------------------------------------------------------------------------
    def start(self) -> None:
        self.root.update_idletasks()
        self.root.wait_visibility(self.canvas)
        self.root.update()
        self.root.focus_force()
        self._canvas_rect = self._measure_canvas()
        self.ctl.resize(self._canvas_rect["width"], self._canvas_rect["height"])
        self._place_hint()
        model = self.recognizer.model
        self.events.emit(
            "ready",
            canvas=self._canvas_rect,
            controls=self._measure_controls(),
            model=model.describe(),
            fullscreen=self.fullscreen,
            screen={"width": self.screen[0], "height": self.screen[1]},
        )
        log.info("kiosk ready: canvas %s, model %s", self._canvas_rect, _model_text(model))
        if self.options.samples_refused:
            self._notice(f"Corrections are off: {self.options.samples_refused}")
            self.events.emit("notice", message=f"corrections off: {self.options.samples_refused}")
        self.watcher.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self._schedule_pump(SLOW_POLL_MS)

    def quit(self) -> None:
        self.events.emit("quit")
        if self._camera is not None:
            self._close_camera()
        self.watcher.stop()
        self.worker.stop()
        if self.corrections is not None:
            self.corrections.close()
        self.events.close()
        self.root.destroy()

    def _on_signal(self, signum: int, frame: object) -> None:
        # Runs between Python bytecodes; Tk is left to the pump, which checks this flag.
        self._quit_requested = True

    # -- pointer --------------------------------------------------------------------------------
    def _on_press(self, e: tk.Event) -> None:
        self._gesture_ink = False
        stroke = self.ctl.pen_down(e.x, e.y, time.monotonic())
        if stroke is None:
            return
        self._gesture_ink = True
        if self.corrections is not None:
            self.corrections.on_ink_changed(cleared=False)
        self.canvas.itemconfigure(self.hint, state="hidden")
        self._dot(e.x, e.y, stroke.id)

    def _on_motion(self, e: tk.Event) -> None:
        now = time.monotonic()
        was = self.ctl.current
        path = self.ctl.pen_move(e.x, e.y, now)
        stroke = self.ctl.current or was
        if stroke is None:
            return
        if len(path) == 1:
            self._dot(*path[0], stroke.id)
            self._gesture_ink = True
        elif len(path) >= 2:
            self._line(path, stroke.id)
            self._gesture_ink = True
        if self.ctl.wants_live(now):
            self._submit("live", time.perf_counter())

    def _on_release(self, e: tk.Event) -> None:
        started = time.perf_counter() - _input_lag_s(e.time)
        stroke, path = self.ctl.pen_up(e.x, e.y, time.monotonic())
        if stroke is not None and len(path) >= 2:
            self._line(path, stroke.id)
        if self._gesture_ink and not self.ctl.empty:
            self._submit("final", started)
        self._gesture_ink = False

    def _dot(self, x: float, y: float, stroke_id: int) -> None:
        r = self.pen_width / 2
        self.canvas.create_oval(x - r, y - r, x + r, y + r, fill=INK, width=0, tags=("ink", f"s{stroke_id}"))

    def _line(self, path: list[tuple[float, float]], stroke_id: int) -> None:
        flat = [v for p in path for v in p]
        self.canvas.create_line(
            *flat,
            fill=INK,
            width=self.pen_width,
            capstyle=tk.ROUND,
            joinstyle=tk.ROUND,
            tags=("ink", f"s{stroke_id}"),
        )

    # -- keys and buttons -----------------------------------------------------------------------
    def _on_control_key(self, e: tk.Event) -> None:
        key = e.keysym.lower()
        shift = bool(e.state & SHIFT_MASK)
        if shift and key == "q":
            self.quit()
        elif shift and key == "f":
            self.fullscreen = not self.fullscreen
            self._apply_fullscreen()
        elif not shift and key == "z":
            self.undo()

    def clear(self, reason: str) -> None:
        had = self.ctl.clear(time.monotonic())
        self._live_shown = 0
        self.canvas.delete("ink")
        self.canvas.itemconfigure(self.hint, state="normal")
        self._show(IDLE_PRESENTATION, live=False)
        self.events.emit("cleared", reason=reason, had_ink=had)
        if self.corrections is not None:
            self.corrections.on_ink_changed(cleared=True)

    def undo(self) -> None:
        stroke = self.ctl.undo(time.monotonic())
        if stroke is None:
            return
        self.canvas.delete(f"s{stroke.id}")
        self.events.emit("undo", strokes=len(self.ctl.strokes))
        if self.corrections is not None:
            self.corrections.on_ink_changed(cleared=self.ctl.empty, keep=False)
        if self.ctl.empty:
            self.canvas.itemconfigure(self.hint, state="normal")
            self._show(IDLE_PRESENTATION, live=False)
        else:
            self._submit("final", time.perf_counter(), trigger="undo")

    # -- recognition ----------------------------------------------------------------------------
    def _recognize(self, request: Request) -> CanvasResult:
        """Worker thread: no Tk here."""
        return read_canvas(self.recognizer, request.strokes, request.canvas_size)

    def _submit(self, kind: str, started: float, trigger: str = "pen_up") -> None:
        self._seq += 1
        self.worker.submit(
            Request(
                self._seq, self.ctl.version, kind, self.ctl.snapshot(), self.ctl.canvas_size, started, trigger
            )
        )
        if not self._pump_fast:
            self._schedule_pump(FAST_POLL_MS)

    def _on_result(self, result: Result) -> None:
        req = result.request
        if req.version != self.ctl.version or req.seq <= self._shown_seq:
            return  # the ink changed since (or a newer answer is shown): this answer is stale
        if req.kind == "live" and not self.ctl.drawing:
            return  # a live answer arriving after pen-up: the final one is on its way
        self._shown_seq = req.seq
        if result.error is not None or result.outcome is None:
            self._notice(f"Could not read that: {result.error}")
            self.events.emit("error", error=result.error)
            return
        strokes = self.ctl.strokes
        last = np.asarray(strokes[-1].points) if strokes else None
        self._show(present(result.outcome, last), live=req.kind == "live")
        if req.kind == "live":
            self._live_shown += 1
        else:
            # Let Tk redraw the changed widgets now, so the time below includes drawing the answer.
            self.root.update_idletasks()
            latency_ms = (time.perf_counter() - req.started) * 1000.0
            self.events.emit(
                "prediction",
                **prediction_record(
                    result.outcome,
                    latency_ms=latency_ms,
                    strokes=self.ctl.stroke_lists(),
                    model=self.recognizer.model.card.version,
                    trigger=req.trigger,
                ),
                live_updates=self._live_shown,  # live answers shown while this ink was drawn
            )
            self._live_shown = 0
            if self.corrections is not None:
                version = self.recognizer.model.card.version
                self.corrections.on_reading(result.outcome, self.ctl.stroke_lists(), version)

    def _show(self, p: Presentation, live: bool) -> None:
        self._last_presentation = p
        fg = DIM if live else (TEXT if p.sure else UNSURE_FG)
        self.big.configure(text=p.big, fg=fg)
        self.caption.configure(text=p.caption, fg=DIM if live or p.sure else UNSURE_FG)
        self.bars_label.configure(text=p.bars_label)
        probs = p.bars if p.bars is not None else np.zeros(10)
        top = int(np.argmax(probs)) if p.bars is not None else -1
        usable = self._bar_bottom - 2
        for d, (item, x0, x1) in enumerate(self._bar_items):
            y0 = self._bar_bottom - max(0.0, min(1.0, float(probs[d]))) * usable
            self.bars.coords(item, x0, y0, x1, self._bar_bottom)
            self.bars.itemconfigure(item, fill=BAR_TOP if d == top else BAR)
        if self.show_seen.get():
            self._refresh_seen()

    def _refresh_seen(self) -> None:
        for w in self.seen.winfo_children():
            w.destroy()
        self._photos.clear()
        if not self.show_seen.get():
            return
        zoom = max(2, self.unit // 6)
        for image in self._last_presentation.images[:6]:
            photo = _photo_28(image, zoom)
            self._photos.append(photo)  # Tk drops an image whose Python object is collected
            tk.Label(self.seen, image=photo, bd=1, bg=DIM).pack(side="left", padx=2)

    # -- the pump: results, model news, auto-clear ----------------------------------------------
    def _schedule_pump(self, delay_ms: int) -> None:
        if self._pump_id is not None:
            self.root.after_cancel(self._pump_id)
        self._pump_fast = delay_ms == FAST_POLL_MS
        self._pump_id = self.root.after(delay_ms, self._pump)

    def _pump(self) -> None:
        self._pump_id = None
        try:
            if self._quit_requested:
                self.quit()
                return
            while True:
                try:
                    self._on_result(self.worker.results.get_nowait())
                except queue.Empty:
                    break
            while True:
                try:
                    self._on_model_change(self.changes.get_nowait())
                except queue.Empty:
                    break
            if self.ctl.idle_clear_due(time.monotonic()):
                self.clear("idle")
            if self.corrections is not None:
                self.corrections.poll(time.monotonic())
        finally:
            if not self._quit_requested:
                busy = self.worker.busy or not self.worker.results.empty()
                self._schedule_pump(FAST_POLL_MS if busy else SLOW_POLL_MS)

    def _on_model_change(self, change: ModelChange) -> None:
        self._notice(change.message)
        self._update_status()
        self.events.emit(
            f"model_{change.kind}", message=change.message, model=self.recognizer.model.describe()
        )

    # -- status line and notices ----------------------------------------------------------------
    def _update_status(self, notice: str = "") -> None:
        model = self.recognizer.model
        text = f"Model {_model_text(model)}"
        if notice:
            text += f"   |   {notice}"
        self.status.configure(text=text, fg=UNSURE_FG if notice else DIM)

    def _notice(self, message: str) -> None:
        log.warning("%s", message)
        self._update_status(message)
        if self._notice_id is not None:
            self.root.after_cancel(self._notice_id)
        self._notice_id = self.root.after(NOTICE_MS, self._end_notice)

    def _end_notice(self) -> None:
        self._notice_id = None
        self._update_status()

    def _on_callback_error(self, exc: type[BaseException], value: BaseException, tb: object) -> None:
        # A bug in a handler must not take the kiosk down: log it, say so, keep running.
        log.error("error in the kiosk UI", exc_info=(exc, value, tb))  # type: ignore[arg-type]
        self.events.emit("error", error=f"{exc.__name__}: {value}")
        with contextlib.suppress(tk.TclError):
            self._notice(f"Something went wrong ({exc.__name__}); press Clear and try again")

    # -- geometry -------------------------------------------------------------------------------
    def _measure_canvas(self) -> dict:
        c = self.canvas
        return {
            "x": c.winfo_rootx(),
            "y": c.winfo_rooty(),
            "width": c.winfo_width(),
            "height": c.winfo_height(),
        }

    def _measure_controls(self) -> dict:
        """Where the buttons are on the screen (for operators' touch analytics and the tests)."""
        out = {}
        widgets = {"clear": self.clear_button, "undo": self.undo_button, "seen": self.seen_button}
        if self.camera_button is not None:
            widgets["camera"] = self.camera_button
        if self.corrections is not None:
            widgets["wrong"] = self.corrections.button
        for name, w in widgets.items():
            out[name] = {
                "x": w.winfo_rootx(),
                "y": w.winfo_rooty(),
                "width": w.winfo_width(),
                "height": w.winfo_height(),
            }
        return out

    def _on_configure(self, e: tk.Event) -> None:
        if self._canvas_rect is None:
            return
        rect = self._measure_canvas()
        if rect == self._canvas_rect:
            return
        self._canvas_rect = rect
        self.ctl.resize(rect["width"], rect["height"])
        self._place_hint()
        self.events.emit("resized", canvas=rect, controls=self._measure_controls())

    def _place_hint(self) -> None:
        self.canvas.coords(self.hint, self.canvas.winfo_width() / 2, self.canvas.winfo_height() / 2)

    # -- camera mode ----------------------------------------------------------------------------
    def open_camera(self) -> None:
        if self._camera is not None or not self.options.camera:
            return
        try:
            from ..camera.view import CameraView  # lazy: OpenCV capture is only needed here
        except ImportError as e:
            log.warning("camera mode unavailable: %s", e)
            self._notice("Camera mode is not available on this kiosk")
            self.events.emit("notice", message=f"camera mode unavailable: {e}")
            return
        top = tk.Toplevel(self.root, bg=BG)
        sw, sh = self.screen
        top.geometry(f"{sw}x{sh}+0+0" if self.fullscreen else f"{int(sw * 0.8)}x{int(sh * 0.8)}+0+0")
        if self.fullscreen:
            top.attributes("-fullscreen", True)
        top.protocol("WM_DELETE_WINDOW", self._close_camera)
        tk.Button(
            top,
            text="Back to drawing",
            font=("DejaVu Sans", -int(self.unit * 1.2), "bold"),
            bg="#34495e",
            fg="white",
            bd=0,
            pady=self.unit,
            command=self._close_camera,
        ).pack(side="bottom", fill="x")
        try:
            view = CameraView(
                top, self.recognizer, self.options.camera, roi=None, events=_camera_events(self.events)
            )
            if isinstance(view, tk.Widget) and not view.winfo_manager():
                view.pack(fill="both", expand=True)
            view.start()
        except Exception as e:  # the camera is another module's: whatever it raises, stay up
            log.exception("camera mode failed to start")
            top.destroy()
            self._notice(f"Camera could not start: {e}")
            self.events.emit("error", error=f"camera: {e}")
            return
        self._camera, self._camera_window = view, top
        self.events.emit("camera_opened", source=self.options.camera)

    def _close_camera(self) -> None:
        view, top = self._camera, self._camera_window
        self._camera = self._camera_window = None
        try:
            if view is not None:
                view.stop()  # type: ignore[attr-defined]
        except Exception:
            log.exception("camera view failed to stop")
        if top is not None:
            top.destroy()
        self.root.focus_force()
        self.events.emit("camera_closed")


def _photo_28(image: np.ndarray, zoom: int) -> tk.PhotoImage:
    """A 28x28 [0, 1] image as a Tk photo, scaled up by an integer factor (crisp pixels)."""
    levels = np.clip(np.asarray(image) * 255.0, 0, 255).astype(np.uint8)
    rows = ["{" + " ".join(f"#{v:02x}{v:02x}{v:02x}" for v in row) + "}" for row in levels]
    photo = tk.PhotoImage(width=levels.shape[1], height=levels.shape[0])
    photo.put(" ".join(rows))
    return photo.zoom(zoom)


def run_kiosk(recognizer: Recognizer, options: KioskOptions, root: tk.Tk) -> int:
    app = KioskApp(root, recognizer, options)
    app.start()
    try:
        root.mainloop()
    except KeyboardInterrupt:
        app.quit()
    return 0


def _camera_events(kiosk_log: EventLog):
    """The camera view writes dict events to an EventSink; forward them into the kiosk's own log
    (one file for operators), tagged with the mode they came from."""
    from ..camera.events import EventSink

    class KioskForward(EventSink):
        def __init__(self) -> None:
            super().__init__(None)

        def emit(self, event: dict) -> None:
            fields = dict(event)
            name = str(fields.pop("event", "camera"))
            kiosk_log.emit(name, mode="camera", **fields)

    return KioskForward()
