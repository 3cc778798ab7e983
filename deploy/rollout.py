"""The order of a rollout across the fleet (what happens on each host is `hosts.py`).

The first `canary` hosts go first; if any of them fails, the rollout stops and the rest are not
touched. After that, up to `parallel` hosts at a time; a failed host does not stop the others (it
is reported, and the exit status says so). Whatever one host's action raises becomes that host's
failure, never the whole rollout's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from . import ssh
from .inventory import Host
from .results import FAILED, SKIPPED, HostResult

log = logging.getLogger(__name__)

HostAction = Callable[[Host], Awaitable[HostResult]]
Progress = Callable[[str, Host, HostResult | None], None]  # ("start" | "done", host, result)


async def _guarded(action: HostAction, host: Host, progress: Progress | None) -> HostResult:
    if progress:
        progress("start", host, None)
    started = time.monotonic()
    try:
        result = await action(host)
    except ssh.HostError as e:
        result = HostResult(host.name, FAILED, str(e))
    except Exception as e:  # one host's surprise must not take the whole rollout down
        log.exception("unexpected error on %s", host.name)
        result = HostResult(host.name, FAILED, f"internal error: {type(e).__name__}: {e}")
    result.seconds = round(time.monotonic() - started, 2)
    if progress:
        progress("done", host, result)
    return result


async def _wave(
    action: HostAction, hosts: list[Host], parallel: int, progress: Progress | None
) -> list[HostResult]:
    limit = asyncio.Semaphore(max(1, parallel))

    async def one(host: Host) -> HostResult:
        async with limit:
            return await _guarded(action, host, progress)

    return list(await asyncio.gather(*(one(h) for h in hosts)))


async def roll_out(
    action: HostAction,
    hosts: list[Host],
    *,
    parallel: int = 10,
    canary: int = 0,
    progress: Progress | None = None,
) -> list[HostResult]:
    """Canary hosts first; a canary failure leaves every other host untouched ("skipped")."""
    canaries, rest = hosts[:canary], hosts[canary:]
    results: list[HostResult] = []
    if canaries:
        results = await _wave(action, canaries, parallel, progress)
        bad = [r.host for r in results if r.failed]
        if bad:
            why = f"not attempted: canary {', '.join(bad)} failed"
            skipped = [HostResult(h.name, SKIPPED, why) for h in rest]
            for h, r in zip(rest, skipped, strict=True):
                if progress:
                    progress("done", h, r)
            return results + skipped
    return results + await _wave(action, rest, parallel, progress)
