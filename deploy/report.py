"""What the operator sees: progress while hosts finish (stderr), a result table at the end (stdout)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from .inventory import Host
from .results import FAILED, SKIPPED, HostResult

BAR_WIDTH = 24


class ProgressReporter:
    """A progress bar redrawn in place on a terminal; one line per finished host otherwise (logs,
    CI). Failures are always printed as their own line so they scroll into view."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, event: str, host: Host, result: HostResult | None) -> None:
        if event != "done" or result is None:
            return
        self.done += 1
        self.failed += result.status in (FAILED, SKIPPED)
        line = f"[{self.done}/{self.total}] {host.name}: {result.status} {result.message}".rstrip()
        if self.tty:
            filled = BAR_WIDTH * self.done // max(1, self.total)
            bar = (
                f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.done}/{self.total}, {self.failed} failed"
            )
            if result.status in (FAILED, SKIPPED):
                self.stream.write("\r\033[K" + line + "\n")
            self.stream.write("\r\033[K" + bar + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


Column = tuple[str, Callable[[HostResult], str]]

DEPLOY_COLUMNS: tuple[Column, ...] = (
    ("HOST", lambda r: r.host),
    ("RESULT", lambda r: r.status),
    ("ACTIVE", lambda r: r.active or "-"),
    ("PREVIOUS", lambda r: r.previous or "-"),
    ("TIME", lambda r: f"{r.seconds:.1f}s"),
    ("DETAIL", lambda r: r.message),
)


def format_table(
    results: list[HostResult], columns: tuple[Column, ...] = DEPLOY_COLUMNS, summary: str = ""
) -> str:
    """One row per host under `columns` (push/status/rollback's by default), then a count line."""
    headers = tuple(h for h, _ in columns)
    rows = [tuple(get(r) for _, get in columns) for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    failed = sum(r.failed for r in results)
    lines.append(
        f"{len(results) - failed}/{len(results)} hosts ok"
        + (f", {summary}" if summary else "")
        + (f", {failed} failed" if failed else "")
    )
    return "\n".join(lines)
