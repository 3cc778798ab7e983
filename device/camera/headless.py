"""The camera without a display: readings as JSON lines (the "null preview" path).

Runs the camera loop (`loop.py`) with a presenter that shows nothing, until the source ends (a
video file), fails for good (after the reconnect attempts), a frame or time limit is reached,
or the user interrupts; then reports a summary. Exit status: 0 when the source ended or a limit
was reached, 1 when the source could not be opened or was lost.
"""

from __future__ import annotations

from ..events import EventLog
from ..recognizer import Recognizer
from .loop import CameraLoop, LoopOptions, LoopStats
from .source import SourceSpec


def run_headless(recognizer: Recognizer, spec: SourceSpec, events: EventLog, options: LoopOptions) -> int:
    stats = CameraLoop(recognizer, spec, options, events).run()
    emit_summary(events, stats)
    return 1 if stats.state == "failed" else 0


def emit_summary(events: EventLog, stats: LoopStats) -> None:
    elapsed, busy = stats.elapsed_s, stats.busy_s
    events.emit(
        "summary",
        frames=stats.frames_read,
        processed=stats.processed,
        dropped=stats.dropped,
        readings=stats.readings,
        fps=round(stats.processed / elapsed, 2) if elapsed > 0 else 0.0,
        # Frames per second of pure processing (segmentation + inference), what one core could
        # sustain if the source were fast enough.
        processing_fps=round(stats.processed / busy, 2) if busy > 0 else 0.0,
        state=stats.state,
    )
