"""The camera without a display: readings as JSON lines (the "null preview" path).

Runs until the source ends (a video file), fails for good (after the reconnect attempts), a
frame or time limit is reached, or the user interrupts. Exit status: 0 when the source ended or
a limit was reached, 1 when the source could not be opened or was lost.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ..recognizer import Recognizer
from .capture import Capture
from .events import EventSink, stable_event, status_event
from .pipeline import STABLE_FRAMES, FrameAnalyzer, StabilityFilter
from .source import SourceSpec

log = logging.getLogger(__name__)


@dataclass
class HeadlessOptions:
    roi: tuple[int, int, int, int] | None = None
    stable_frames: int = STABLE_FRAMES
    every_frame: bool = False
    retries: int | None = 5
    max_frames: int | None = None
    duration: float | None = None


def run_headless(recognizer: Recognizer, spec: SourceSpec, sink: EventSink, options: HeadlessOptions) -> int:
    analyzer = FrameAnalyzer(recognizer, options.roi)
    stability = StabilityFilter(options.stable_frames)
    processed = 0
    readings = 0
    busy = 0.0
    t_start = time.monotonic()
    capture = Capture(
        spec,
        every_frame=options.every_frame,
        retries=options.retries,
        on_status=lambda s: sink.emit(status_event(s)),
    )
    with capture:
        while True:
            if options.max_frames is not None and processed >= options.max_frames:
                break
            if options.duration is not None and time.monotonic() - t_start >= options.duration:
                break
            frame = capture.next_frame(timeout=0.5)
            if frame is None:
                if capture.status.finished:
                    break
                continue  # reconnecting, or a slow source
            t0 = time.perf_counter()
            result = analyzer.analyze(frame.image, frame.index)
            busy += time.perf_counter() - t0
            processed += 1
            stable = stability.update(result)
            if stable is not None:
                readings += stable.result.reading is not None
                sink.emit(stable_event(stable))
        final = capture.status
        frames_read, dropped = capture.frames_read, capture.frames_dropped
    elapsed = time.monotonic() - t_start
    sink.emit(
        {
            "event": "summary",
            "time": round(time.time(), 3),
            "frames": frames_read,
            "processed": processed,
            "dropped": dropped,
            "readings": readings,
            "fps": round(processed / elapsed, 2) if elapsed > 0 else 0.0,
            # Frames per second of pure processing (segmentation + inference), what one core
            # could sustain if the source were fast enough.
            "processing_fps": round(processed / busy, 2) if busy > 0 else 0.0,
            "state": final.state,
        }
    )
    return 1 if final.state == "failed" else 0
