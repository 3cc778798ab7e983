"""Drive the real kiosk the way a person does: a real `digitkiosk kiosk` process on a real X
server, real pointer drags through `xdotool` (XTest events, exactly what a touchscreen driver
injects), and the kiosk's own JSON-lines event log to see what it answered.

Shared by the Xvfb tests and by tests/benchmarks/bench_kiosk.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

Point = tuple[float, float]

# Written digits are scaled to this fraction of the canvas height: big, finger-on-kiosk writing.
DIGIT_HEIGHT_FRACTION = 0.4
# Pause between pointer moves: 5 ms is a 200 Hz touchscreen, and a digit takes ~0.2 s (a hand
# takes ~0.5-1 s). Much faster replays are not what a kiosk meets: Tk merges motion events that
# queue up while it is busy, so a digit thrown in at 20x human speed on a loaded machine can
# arrive as two points.
MOVE_PAUSE_S = 0.005


def place_digits(
    digits: Sequence[Sequence[Sequence[Sequence[float]]]],
    canvas: dict,
    *,
    height_fraction: float = DIGIT_HEIGHT_FRACTION,
    gap_fraction: float = 0.25,
) -> list[list[Point]]:
    """Pen digits (tablet units, y down) → strokes in screen coordinates, side by side, centred in
    the canvas, each digit scaled to the same height (aspect kept)."""
    height = canvas["height"] * height_fraction
    scaled: list[tuple[list[list[Point]], float]] = []
    for strokes in digits:
        pts = [p for s in strokes for p in s]
        x0, y0 = min(p[0] for p in pts), min(p[1] for p in pts)
        x1, y1 = max(p[0] for p in pts), max(p[1] for p in pts)
        s = height / max(y1 - y0, (x1 - x0) * 0.6, 1.0)
        scaled.append(([[((p[0] - x0) * s, (p[1] - y0) * s) for p in st] for st in strokes], (x1 - x0) * s))
    gap = height * gap_fraction
    total = sum(w for _, w in scaled) + gap * (len(scaled) - 1)
    left = canvas["x"] + (canvas["width"] - total) / 2
    top = canvas["y"] + (canvas["height"] - height) / 2
    out: list[list[Point]] = []
    for strokes, width in scaled:
        out += [[(left + x, top + y) for x, y in st] for st in strokes]
        left += width + gap
    return out


def drag_commands(strokes: Sequence[Sequence[Point]], pause: float = MOVE_PAUSE_S) -> list[str]:
    """xdotool script lines that draw `strokes` (screen coordinates) as button-1 drags."""
    lines: list[str] = []
    for stroke in strokes:
        (x, y), rest = stroke[0], stroke[1:]
        lines += [f"mousemove {round(x)} {round(y)}", "mousedown 1"]
        for px, py in rest:
            lines.append(f"mousemove {round(px)} {round(py)}")
            if pause:
                lines.append(f"sleep {pause}")
        lines.append("mouseup 1")
    return lines


def xdotool(lines: Sequence[str]) -> None:
    """Run many xdotool commands in one process (a script on stdin): one exec per digit, not per point."""
    script = "\n".join(lines) + "\n"
    subprocess.run(["xdotool", "-"], input=script.encode(), check=True, timeout=60, capture_output=True)


class Kiosk:
    """A running `digitkiosk kiosk` and its event log."""

    def __init__(self, events: Path, *args: str, env: dict | None = None, log: Path | None = None) -> None:
        self.events_path = events
        self.log_path = log or events.with_suffix(".log")
        self._offset = 0
        self.seen: list[dict] = []
        self._backlog: list[dict] = []
        cmd = [sys.executable, "-m", "digitkiosk.device", "-v", "kiosk", "--events", str(events), *args]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env or os.environ.copy()
        )
        self.ready = self.wait_for(lambda e: e["event"] == "ready", timeout=30)
        self.canvas: dict = self.ready["canvas"]

    def new_events(self) -> list[dict]:
        if not self.events_path.exists():
            return []
        with self.events_path.open("rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # only whole lines: the writer may be mid-line
        self._offset += end
        out = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
        for e in out:
            if e["event"] == "resized":
                self.canvas = e["canvas"]
        self.seen += out
        return out

    def wait_for(self, match: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        """The first not yet consumed event that matches; events before it are consumed (all stay
        in `seen`)."""
        deadline = time.monotonic() + timeout
        while True:
            self._backlog += self.new_events()
            while self._backlog:
                e = self._backlog.pop(0)
                if match(e):
                    return e
            if self.proc.poll() is not None:
                raise AssertionError(f"kiosk exited with {self.proc.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching event in {timeout} s; last events: {self.seen[-5:]}")
            time.sleep(0.003)

    def draw(self, digits: Sequence, *, keys_before: Sequence[str] = (), pause: float = MOVE_PAUSE_S) -> int:
        """Write pen digits side by side; returns the number of strokes drawn."""
        strokes = place_digits(digits, self.canvas)
        xdotool([*(f"key {k}" for k in keys_before), *drag_commands(strokes, pause)])
        return len(strokes)

    def prediction(self, strokes: int, timeout: float = 10.0) -> dict:
        return self.wait_for(lambda e: e["event"] == "prediction" and len(e["strokes"]) == strokes, timeout)

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


def screenshot(path: Path) -> bool:
    """Save the whole X screen (the kiosk fills it) as PNG with ImageMagick's `import`."""
    if shutil.which("import") is None:
        return False
    r = subprocess.run(["import", "-window", "root", str(path)], capture_output=True, timeout=30)
    return r.returncode == 0 and path.is_file()
