"""The event log every front end writes: one JSON object per line, `{"event", "time", ...}`.

The kiosk, its camera mode and `digitkiosk camera` all emit through `EventLog.emit(name,
**fields)`, to a file (appended, for operators' analytics and the tests), a stream (the camera's
stdout) or both; the schema of every event is documented once, in the README ("Event log").

Writing must never take a front end down: an output that cannot be written (disk full, removed
directory, a reader that closed the pipe) is reported once and then left alone, while the other
output, if any, goes on. Lines are flushed one by one, so another process can follow the file
(`tail -f`) as events happen.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import IO, Any

from .errors import InputError

log = logging.getLogger(__name__)


class EventLog:
    """Append-only JSON-lines writer to a file and/or a stream; with neither, a no-op.

    Thread-safe: the kiosk writes from its UI thread while its camera view (and the capture
    thread's status reports) share the same log."""

    def __init__(self, path: str | Path | None = None, stream: IO[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._outputs: list[IO[str]] = [] if stream is None else [stream]
        self._file: IO[str] | None = None
        if self.path is not None:
            try:
                self._file = self.path.open("a", encoding="utf-8")
            except OSError as e:
                raise InputError(f"cannot write the event log {self.path}: {e.strerror or e}") from None
            self._outputs.append(self._file)
        self._fields: dict[str, Any] = {}

    def tagged(self, **fields: Any) -> EventLog:
        """The same log, with `fields` added to every event emitted through the result (the
        kiosk's camera mode: `mode="camera"`). Closing the result leaves this log open."""
        child = EventLog.__new__(EventLog)
        child.path, child._lock, child._outputs, child._file = self.path, self._lock, self._outputs, None
        child._fields = {**self._fields, **fields}
        return child

    def emit(self, event: str, **fields: Any) -> None:
        if not self._outputs:
            return
        record = {"event": event, "time": round(time.time(), 3), **fields, **self._fields}
        line = json.dumps(record, separators=(",", ":"), default=_jsonable) + "\n"
        with self._lock:
            for out in list(self._outputs):
                try:
                    out.write(line)
                    out.flush()
                except (OSError, ValueError) as e:  # a full disk, a closed pipe or file
                    log.error(
                        "event log %s cannot be written (%s); events are no longer written there",
                        _name(out),
                        e,
                    )
                    self._outputs.remove(out)
                    if out is self._file:
                        self._close_file()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                with contextlib.suppress(ValueError):
                    self._outputs.remove(self._file)
                self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _name(out: IO[str]) -> str:
    return str(getattr(out, "name", out))


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays, paths: whatever a field happens to hold, as plain JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
