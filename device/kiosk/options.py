"""What the kiosk is started with (`digitkiosk kiosk`'s flags and settings, resolved by the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..package import TrustPolicy

if TYPE_CHECKING:
    from ..samples import SampleStore


@dataclass
class KioskOptions:
    fullscreen: bool = True
    events: Path | None = None
    idle_clear_s: float = 0.0
    camera: str | None = None
    model_path: Path | None = None
    backend: str | None = None
    threads: int | None = None
    watch_interval_s: float = 1.0
    policy: TrustPolicy | None = None  # hot reloads verify like the first load (default: TrustPolicy())
    sample_store: SampleStore | None = None  # corrections on (--samples): corrections.py
    samples_refused: str = ""  # why --samples could not be used (the kiosk runs on without it)
    keep_unconfirmed: bool = False  # --samples-all
    pad_idle_s: float = 15.0
    # The companion models the kiosk reads with, watched like the digit model: kind → where it is
    # (model_watch.companion_path), so a push of a paper or stroke model is used without a restart.
    companions: dict[str, Callable[[], Path]] = field(default_factory=dict)
