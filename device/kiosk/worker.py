"""Recognition off the UI thread.

One worker thread and a one-request slot where the latest request wins: while the pen moves the
UI asks for a live reading every ~0.1 s, and if the worker is still busy the older, not yet
started request is simply replaced, so the queue never grows and the answer shown is always for
recent ink. Results go into a `queue.Queue` that the UI thread drains (Tk must only be called from
its own thread).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .controller import CanvasResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    seq: int  # increasing: a result for an older request than the one shown is dropped
    version: int  # the ink version it was made for (see InkController.version)
    kind: str  # "live" while drawing, "final" after pen-up / undo
    strokes: list[np.ndarray]
    canvas_size: tuple[int, int]
    started: float  # perf_counter() of the user action the answer responds to (pen-up)
    trigger: str = "pen_up"


@dataclass(frozen=True)
class Result:
    request: Request
    outcome: CanvasResult | None
    error: str | None = None


class RecognitionWorker:
    def __init__(self, recognize: Callable[[Request], CanvasResult]) -> None:
        self._recognize = recognize
        self.results: queue.Queue[Result] = queue.Queue()
        self._slot: Request | None = None
        self._running = False
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="recognition", daemon=True)
        self._thread.start()

    def submit(self, request: Request) -> None:
        with self._cond:
            self._slot = request  # latest wins: an unstarted older request is dropped
            self._cond.notify()

    @property
    def busy(self) -> bool:
        """A request is waiting or running (the UI polls faster while this is true)."""
        with self._cond:
            return self._slot is not None or self._running

    def stop(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._slot is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                request, self._slot = self._slot, None
                self._running = True
            try:
                result = Result(request, self._recognize(request))
            except Exception as e:  # a bug must not kill the thread: report it, keep serving
                log.exception("recognition failed")
                result = Result(request, None, f"recognition failed: {type(e).__name__}: {e}")
            # Put the result before clearing `busy`, so a UI that sees busy == False has it queued.
            self.results.put(result)
            with self._cond:
                self._running = False
