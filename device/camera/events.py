"""What the camera reports, as events of the device's event log (`device/events.py`; the
schema is in the README, "Event log"): the source's status and each stable reading or view
condition. The loop (`loop.py`) emits them; `digitkiosk camera --headless` adds a summary."""

from __future__ import annotations

from typing import Any

from ..events import EventLog
from .capture import CaptureStatus
from .pipeline import StableReading


def emit_status(events: EventLog, status: CaptureStatus) -> None:
    events.emit("status", state=status.state, message=status.message)


def emit_stable(events: EventLog, stable: StableReading) -> None:
    result = stable.result
    if result.reading is None:
        events.emit("view", frame=result.index, status=result.status)
        return
    fields: dict[str, Any] = {
        "frame": result.index,
        "text": result.text,
        "sure": result.reading.sure,
        "digits": [d.to_json() for d in result.reading.digits],
        "stable_frames": stable.frames,
        "latency_ms": round(result.latency_ms, 3),
    }
    events.emit("reading", **fields)
