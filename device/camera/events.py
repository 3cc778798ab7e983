"""Camera events as JSON lines: readings, view conditions and source status.

One object per line, written to stdout and (optionally) appended to an events file, flushed
line by line so that another process can follow it (`tail -f`).

    {"event": "status",  "time": ..., "state": "live"|"reconnecting"|"ended"|"failed", "message": ...}
    {"event": "reading", "time": ..., "frame": 41, "text": "3072", "sure": true, "digits": [...],
     "stable_frames": 5, "latency_ms": 3.1}
    {"event": "view",    "time": ..., "frame": 90, "status": "no digits in view"|"too dark"|...}
    {"event": "summary", "time": ..., "frames": ..., "processed": ..., "dropped": ..., "fps": ...}
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import IO

from ..errors import InputError
from .capture import CaptureStatus
from .pipeline import StableReading

log = logging.getLogger(__name__)


def status_event(status: CaptureStatus) -> dict:
    return {
        "event": "status",
        "time": round(time.time(), 3),
        "state": status.state,
        "message": status.message,
    }


def stable_event(stable: StableReading) -> dict:
    result = stable.result
    base = {"time": round(time.time(), 3), "frame": result.index}
    if result.reading is None:
        return {"event": "view", **base, "status": result.status}
    return {
        "event": "reading",
        **base,
        "text": result.text,
        "sure": result.reading.sure,
        "digits": [d.to_json() for d in result.reading.digits],
        "stable_frames": stable.frames,
        "latency_ms": round(result.latency_ms, 3),
    }


class EventSink:
    """Writes events to a stream and optionally a file. Thread-safe: the capture thread reports
    status while the main loop reports readings."""

    def __init__(self, stream: IO[str] | None, path: str | Path | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        if path is not None:
            try:
                self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            except OSError as e:
                raise InputError(f"cannot write the events file {path}: {e.strerror or e}") from None

    def emit(self, event: dict) -> None:
        line = json.dumps(event, separators=(", ", ": "))
        with self._lock:
            for out in (self._stream, self._file):
                if out is None:
                    continue
                try:
                    out.write(line + "\n")
                    out.flush()
                except (OSError, ValueError) as e:  # a closed pipe, a full disk
                    log.warning("cannot write event: %s", e)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> EventSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
