"""The kiosk's event log: one JSON object per line, for operators' analytics and for the tests.

Events (every line also carries "event" and "time", seconds since the epoch):
  ready          {"canvas": {"x", "y", "width", "height"}, "model": {...}, "fullscreen"}
  prediction     {"text", "digits": [{"digit", "confidence", "top3"}], "latency_ms", "strokes",
                  "status", "model"}
  cleared        {"reason": "button" | "key" | "idle"}
  undo           {"strokes": remaining stroke count}
  resized        {"canvas": {...}}
  model_reloaded / model_refused / model_missing   {"message", "model"}
  notice         {"message"}
  error          {"error"}
  quit           {}

Writing must never take the kiosk down: a log that cannot be written (disk full, removed
directory) is reported once and then left alone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)


class EventLog:
    """Append-only JSON-lines writer; a no-op when constructed without a path."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._file: IO[str] | None = None
        # Lines are written from the UI thread, but the camera view may share this log.
        self._lock = threading.Lock()
        if self.path is not None:
            # Line-buffered so that each event is on disk as soon as it happens (tests tail it).
            self._file = self.path.open("a", encoding="utf-8", buffering=1)

    def emit(self, event: str, **fields: Any) -> None:
        if self._file is None:
            return
        record = {"event": event, "time": round(time.time(), 3), **fields}
        line = json.dumps(record, separators=(",", ":"), default=_jsonable)
        with self._lock:
            if self._file is None:
                return
            try:
                self._file.write(line + "\n")
            except OSError as e:
                log.error("event log %s cannot be written (%s); events are no longer logged", self.path, e)
                self._close_quietly()

    def close(self) -> None:
        with self._lock:
            self._close_quietly()

    def _close_quietly(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays, paths: whatever a field happens to hold, as plain JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
