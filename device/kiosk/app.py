"""The kiosk (Tk): ink in, answers out, and kiosk hygiene; `run.run_kiosk` is the entry point.

Everything here runs on the Tk thread. Decisions live in `controller.py`, the widgets and how
they look in `screen.py`, the camera window in `camera_mode.py`; recognition runs on the worker
thread (`worker.py`), the model watcher on its own thread (`model_watch.py`); both hand their
news over through queues that `_pump` drains, so Tk is never called from another thread.

Keys: Escape / Delete clear, Ctrl+Z undoes the last stroke, Ctrl+Shift+F toggles fullscreen,
Ctrl+Shift+Q quits. Plain Escape never quits: a kiosk must not be left by accident.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
import tkinter as tk

from ..events import EventLog
from ..loader import LoadedModel
from ..model_watch import ModelChange, watch_models
from ..recognizer import Recognizer
from . import theme
from .camera_mode import CameraMode
from .controller import (
    IDLE_PRESENTATION,
    CanvasResult,
    InkController,
    prediction_record,
    present,
    stroke_width_for_screen,
)
from .options import KioskOptions
from .reading import read_canvas
from .screen import KioskScreen
from .worker import RecognitionWorker, Request, Result

log = logging.getLogger(__name__)

# While a recognition is in flight the UI looks for its result every FAST_POLL_MS, so polling adds
# at most that much to pen-up → answer; otherwise it idles at SLOW_POLL_MS (watcher news, auto-clear).
FAST_POLL_MS = 2
SLOW_POLL_MS = 100
NOTICE_MS = 20_000
X_TIME_WRAP = 1 << 32
SHIFT_MASK = 0x0001


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
        self.ctl = InkController(idle_clear_s=options.idle_clear_s)
        self.worker = RecognitionWorker(self._recognize)
        self.changes: queue.Queue[ModelChange] = queue.Queue()
        # The digit model, and the companions it reads with (a push of any of them is used at once).
        self.watchers = watch_models(
            recognizer,
            {"digit": options.model_path or recognizer.model.path, **options.companions},
            backend=options.backend,
            num_threads=options.threads,
            interval=options.watch_interval_s,
            on_change=self.changes.put,
            policy=options.policy,
        )
        self.camera = (
            CameraMode(root, recognizer, options.camera, self.events, self._notice)
            if options.camera
            else None
        )
        self._seq = 0
        self._shown_seq = 0
        self._live_shown = 0
        self._gesture_ink = False
        self._pump_id: str | None = None
        self._pump_fast = False
        self._notice_id: str | None = None
        self._canvas_rect: dict | None = None
        self._quit_requested = False
        root.report_callback_exception = self._on_callback_error
        self.screen = KioskScreen(
            root,
            options.fullscreen,
            on_clear=lambda: self.clear("button"),
            on_undo=self.undo,
            on_camera=self.open_camera if self.camera is not None else None,
        )
        self.pen_width = stroke_width_for_screen(*self.screen.size)
        self.corrections = None
        if options.sample_store is not None:
            from .corrections import Corrections  # corrections.py: the Wrong? button, pad, samples

            screen = self.screen
            self.corrections = Corrections(
                options.sample_store,
                self.events,
                keep_unconfirmed=options.keep_unconfirmed,
                pad_idle_s=options.pad_idle_s,
                show_answer=lambda big, caption: (
                    screen.big.configure(text=big, fg=theme.TEXT),
                    screen.caption.configure(text=caption, fg=theme.DIM),
                ),
                notice=self._notice,
            )
            self.corrections.build(screen.buttons, screen.panel, 3, screen.unit, screen.small_style)
            screen.extra_controls["wrong"] = self.corrections.button
        self._update_status()
        self._bind()

    @property
    def canvas(self) -> tk.Canvas:
        return self.screen.canvas

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
        self._canvas_rect = self.screen.measure_canvas()
        self.ctl.resize(self._canvas_rect["width"], self._canvas_rect["height"])
        self.screen.place_hint()
        model = self.recognizer.model
        sw, sh = self.screen.size
        self.events.emit(
            "ready",
            canvas=self._canvas_rect,
            controls=self.screen.measure_controls(),
            model=model.describe(),
            fullscreen=self.screen.fullscreen,
            screen={"width": sw, "height": sh},
        )
        log.info("kiosk ready: canvas %s, model %s", self._canvas_rect, _model_text(model))
        if self.options.samples_refused:
            self._notice(f"Corrections are off: {self.options.samples_refused}")
            self.events.emit("notice", message=f"corrections off: {self.options.samples_refused}")
        self.watchers.start()
        self._schedule_pump(SLOW_POLL_MS)

    def request_quit(self) -> None:
        """Quit soon, from anywhere (a signal handler): only sets a flag that the pump checks,
        as Tk may not be called between two Python bytecodes of another handler."""
        self._quit_requested = True

    def quit(self) -> None:
        """Close everything and end the main loop. Every step runs even where one before it fails
        (logged): a quit stopped halfway would leave Tk running with its pump gone, and systemd's
        stop would wait for its SIGKILL."""
        camera, corrections = self.camera, self.corrections
        steps = [
            lambda: self.events.emit("quit"),
            lambda: camera.close() if camera is not None and camera.open else None,
            self.watchers.stop,
            self.worker.stop,
            lambda: corrections.close() if corrections is not None else None,
            self.events.close,
        ]
        try:
            for step in steps:
                try:
                    step()
                except Exception:
                    log.exception("while quitting")
        finally:
            self.root.destroy()

    # -- pointer --------------------------------------------------------------------------------
    def _on_press(self, e: tk.Event) -> None:
        self._gesture_ink = False
        stroke = self.ctl.pen_down(e.x, e.y, time.monotonic())
        if stroke is None:
            return
        self._gesture_ink = True
        if self.corrections is not None:
            self.corrections.on_ink_changed(cleared=False)
        self.screen.show_hint(False)
        self.screen.dot(e.x, e.y, stroke.id, self.pen_width)

    def _on_motion(self, e: tk.Event) -> None:
        now = time.monotonic()
        was = self.ctl.current
        path = self.ctl.pen_move(e.x, e.y, now)
        stroke = self.ctl.current or was
        if stroke is None:
            return
        if len(path) == 1:
            self.screen.dot(*path[0], stroke.id, self.pen_width)
            self._gesture_ink = True
        elif len(path) >= 2:
            self.screen.line(path, stroke.id, self.pen_width)
            self._gesture_ink = True
        if self.ctl.wants_live(now):
            self._submit("live", time.perf_counter())

    def _on_release(self, e: tk.Event) -> None:
        started = time.perf_counter() - _input_lag_s(e.time)
        stroke, path = self.ctl.pen_up(e.x, e.y, time.monotonic())
        if stroke is not None and len(path) >= 2:
            self.screen.line(path, stroke.id, self.pen_width)
        if self._gesture_ink and not self.ctl.empty:
            self._submit("final", started)
        self._gesture_ink = False

    # -- keys and buttons -----------------------------------------------------------------------
    def _on_control_key(self, e: tk.Event) -> None:
        key = e.keysym.lower()
        shift = bool(e.state & SHIFT_MASK)
        if shift and key == "q":
            self.quit()
        elif shift and key == "f":
            self.screen.apply_fullscreen(not self.screen.fullscreen)
        elif not shift and key == "z":
            self.undo()

    def clear(self, reason: str) -> None:
        had = self.ctl.clear(time.monotonic())
        self._live_shown = 0
        self.screen.erase()
        self.screen.show_hint(True)
        self.screen.show(IDLE_PRESENTATION, live=False)
        self.events.emit("cleared", reason=reason, had_ink=had)
        if self.corrections is not None:
            self.corrections.on_ink_changed(cleared=True)

    def undo(self) -> None:
        stroke = self.ctl.undo(time.monotonic())
        if stroke is None:
            return
        self.screen.erase(stroke.id)
        self.events.emit("undo", strokes=len(self.ctl.strokes))
        if self.corrections is not None:
            self.corrections.on_ink_changed(cleared=self.ctl.empty, keep=False)
        if self.ctl.empty:
            self.screen.show_hint(True)
            self.screen.show(IDLE_PRESENTATION, live=False)
        else:
            self._submit("final", time.perf_counter(), trigger="undo")

    def open_camera(self) -> None:
        if self.camera is not None:
            self.camera.start(self.screen.size, self.screen.fullscreen, self.screen.unit)

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
        last = strokes[-1].array() if strokes else None
        self.screen.show(present(result.outcome, last), live=req.kind == "live")
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
        self.screen.set_status(text, notice=bool(notice))

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

    def _on_configure(self, e: tk.Event) -> None:
        if self._canvas_rect is None:
            return
        rect = self.screen.measure_canvas()
        if rect == self._canvas_rect:
            return
        self._canvas_rect = rect
        self.ctl.resize(rect["width"], rect["height"])
        self.screen.place_hint()
        self.events.emit("resized", canvas=rect, controls=self.screen.measure_controls())
