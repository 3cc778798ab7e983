"""The kiosk's corrections (`--samples DIR`): the Wrong? button, the pad, and keeping samples.

The kiosk window calls a handful of hooks (a reading was shown, the ink changed, the pump ticked,
the kiosk quits); everything else about corrections lives here. Nothing here runs between pen-up
and the answer being drawn: the reading is only remembered, and the strokes of a digit are worked
out when somebody taps it. Samples are written on the writer's thread.

Events (through the kiosk's `EventLog.emit`): `correcting` {"keys": {"0".."9", "none": rect},
"cancel": rect, "digits": [rect, ...] (a number only), "selected", "text"} when the pad opens or
another digit of a number is picked; `corrected` {"text", "was", "strokes", "digit", "label"} on a
key; `correction_closed` {"reason": "cancel" | "idle" | "ink"}; `samples_stored` {"ids"} once the
writer has them on disk; `error` {"error", "where": "samples"} when it cannot (a full disk).
"""

from __future__ import annotations

import logging
import queue
import time
import tkinter as tk
from collections.abc import Callable

from ..samples.records import Sample
from ..samples.store import SampleStore
from ..samples.writer import SampleWriter
from .controller import CanvasResult
from .correction import Correction, label_text
from .events import EventLog
from .pad import CorrectionPad, screen_rect

log = logging.getLogger(__name__)

DEFAULT_PAD_IDLE_S = 15.0


class Corrections:
    def __init__(
        self,
        store: SampleStore,
        events: EventLog,
        *,
        keep_unconfirmed: bool = False,
        pad_idle_s: float = DEFAULT_PAD_IDLE_S,
        show_answer: Callable[[str, str], None],
        notice: Callable[[str], None],
    ) -> None:
        self.writer = SampleWriter(store)
        self.events = events
        self.keep_unconfirmed = keep_unconfirmed
        self.pad_idle_s = pad_idle_s
        self.show_answer = show_answer  # (big text, caption): the side panel's answer
        self.notice = notice
        self.current: Correction | None = None
        self.button: tk.Button | None = None
        self.pad: CorrectionPad | None = None
        self._pad_since = 0.0

    # -- widgets --------------------------------------------------------------------------------
    def build(self, buttons: tk.Frame, panel: tk.Widget, row: int, unit: int, style: dict) -> None:
        """The Wrong? button in the button grid (disabled until there is a reading), the pad over
        the panel above the buttons (Clear and Undo stay where they are while it is open)."""
        style = {"fg": "white", **style}  # the screen's small-button style, foreground included
        self.button = tk.Button(
            buttons,
            text="Wrong?",
            bg="#b7791f",
            disabledforeground="#6d6d6d",
            state="disabled",
            command=self.open_pad,
            **style,
        )
        self.button.grid(row=row, column=0, columnspan=2, sticky="ew", pady=(unit // 2, 0))
        self.pad = CorrectionPad(
            panel, buttons, unit, on_key=self.on_key, on_pick=self.on_pick, on_cancel=self.cancel
        )

    def control_rect(self) -> dict:
        assert self.button is not None
        return screen_rect(self.button)

    # -- hooks from the kiosk ------------------------------------------------------------------
    def on_reading(self, result: CanvasResult, strokes: list, model: str) -> None:
        """A final reading was shown. Its ink may be corrected until it changes."""
        self._close("ink")
        reading = result.reading
        if reading is None or not reading.digits:
            self.current = None
        else:
            self.current = Correction(reading, strokes, model)
        self._enable(self.current is not None)

    def on_ink_changed(self, cleared: bool, keep: bool = True) -> None:
        """New ink, an undo, a clear. A cleared reading's uncorrected digits are kept unconfirmed
        with --samples-all (not when the last stroke was undone: its writer took it back)."""
        self._close("ink")
        if cleared:
            if self.current is not None and self.keep_unconfirmed and keep:
                self._keep(self._safe(self.current.unconfirmed))
            self.current = None
            self._enable(False)

    def poll(self, now: float) -> None:
        """From the kiosk's pump: the writer's news, and the pad's idle timeout."""
        while True:
            try:
                done = self.writer.done.get_nowait()
            except queue.Empty:
                break
            if done.error is None:
                self.events.emit("samples_stored", ids=[done.sample.id], confirmed=done.sample.confirmed)
            else:
                self.events.emit("error", error=done.error, where="samples")
                self.notice(f"Could not keep the correction: {done.error}")
        if self.pad is not None and self.pad.is_open and now - self._pad_since >= self.pad_idle_s:
            self._close("idle")

    def close(self) -> None:
        """The kiosk quits: keep what is pending, finish writing."""
        if self.current is not None and self.keep_unconfirmed:
            self._keep(self._safe(self.current.unconfirmed))
        self.writer.close()

    # -- the pad --------------------------------------------------------------------------------
    def open_pad(self) -> None:
        if self.current is None or self.pad is None:
            return
        self._pad_since = time.monotonic()
        self.pad.show(self.current.labels, self.current.selected)
        self.events.emit(
            "correcting", **self.pad.rects(), selected=self.current.selected, text=self.current.text
        )

    def on_pick(self, index: int) -> None:
        if self.current is None:
            return
        self.current.selected = index
        self.open_pad()

    def on_key(self, label: str) -> None:
        c = self.current
        if c is None:
            return
        made = self._safe(lambda: c.correct(label))
        self._close(None)
        if made is None:
            return
        sample, was = made
        self.events.emit(
            "corrected", text=c.text, was=was, strokes=len(sample.strokes), digit=c.selected, label=label
        )
        self._keep([sample])
        self.show_answer(c.text, f"Thanks! Kept as {label_text(label)}")

    def cancel(self) -> None:
        self._close("cancel")

    # -- helpers --------------------------------------------------------------------------------
    def _close(self, reason: str | None) -> None:
        if self.pad is not None and self.pad.is_open:
            self.pad.hide()
            if reason is not None:
                self.events.emit("correction_closed", reason=reason)

    def _enable(self, on: bool) -> None:
        if self.button is not None:
            self.button.configure(state="normal" if on else "disabled")

    def _keep(self, samples: list[Sample] | None) -> None:
        for s in samples or []:
            self.writer.put(s)

    def _safe(self, make: Callable):
        """Samples refused by their own bounds (a scribble of thousands of points) are not kept;
        the kiosk says so and goes on."""
        try:
            return make()
        except ValueError as e:
            log.warning("sample not kept: %s", e)
            self.events.emit("notice", message=f"sample not kept: {e}")
            return None
