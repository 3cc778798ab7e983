"""`digitkiosk kiosk`: the fullscreen touch canvas with live recognition.

Imports stay light here (the CLI imports every command module at start-up): Tk and the kiosk
package are imported in `run`.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from ..errors import DigitkioskError
from ..settings import Settings
from .common import add_model_arguments, companion_paths, open_recognizer, settings

log = logging.getLogger(__name__)

HELP = (
    "touch kiosk: write digits on a fullscreen canvas and see them recognized live "
    "(Ctrl+Shift+Q quits, Ctrl+Shift+F toggles fullscreen; Escape clears)"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--windowed", action="store_true", help="a normal window instead of fullscreen")
    p.add_argument(
        "--events", type=Path, metavar="FILE", help="append JSON-lines events (ready, prediction, ...)"
    )
    p.add_argument(
        "--idle-clear",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="clear the canvas after this many idle seconds (default 0: never)",
    )
    p.add_argument(
        "--camera",
        metavar="SOURCE",
        help="show a Camera button that reads digits from this camera (device index or video path)",
    )
    p.add_argument(
        "--watch-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often to look for a new model file on disk (default 1)",
    )
    p.add_argument(
        "--samples",
        metavar="DIR",
        help="keep corrections here: a Wrong? button opens a digit pad (or DIGITKIOSK_SAMPLES; default off)",
    )
    p.add_argument(
        "--samples-all",
        action="store_true",
        help="with --samples: also keep the readings nobody corrected, marked unconfirmed",
    )
    p.add_argument(
        "--correction-idle",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="close the correction pad after this many idle seconds (default 15)",
    )
    add_model_arguments(p)


def _open_samples(args: argparse.Namespace, config: Settings):
    """The sample store, or (None, why): a store the kiosk cannot use turns corrections off and is
    reported in the kiosk's status line and log; it never keeps the kiosk from starting."""
    directory = config.samples
    if not directory:
        if args.samples_all:
            raise DigitkioskError("--samples-all needs --samples DIR (or DIGITKIOSK_SAMPLES)")
        return None, ""
    from ..samples import SampleStore, SampleStoreError

    try:
        return SampleStore(directory, kiosk=config.kiosk_id), ""
    except SampleStoreError as e:
        log.error("corrections are off: %s", e)
        return None, str(e)


def run(args: argparse.Namespace) -> int:
    if args.idle_clear < 0:
        raise DigitkioskError("--idle-clear must be 0 (off) or a positive number of seconds")
    if args.watch_interval <= 0:
        raise DigitkioskError("--watch-interval must be a positive number of seconds")
    if args.correction_idle <= 0:
        raise DigitkioskError("--correction-idle must be a positive number of seconds")
    display = os.environ.get("DISPLAY")
    if not display:
        raise DigitkioskError("no display: set DISPLAY or run under a graphical session")
    try:
        import tkinter as tk
    except ImportError:
        raise DigitkioskError("Tkinter is not installed (e.g. apt install python3-tk)") from None
    # Load (and verify) the model before opening a window: a refused model is one clear line.
    config = settings(args)
    recognizer = open_recognizer(config, pen=True)
    if args.events is not None:
        try:
            args.events.parent.mkdir(parents=True, exist_ok=True)
            args.events.open("a").close()
        except OSError as e:
            raise DigitkioskError(f"cannot write the event log {args.events}: {e.strerror or e}") from None
    try:
        root = tk.Tk(className="digitkiosk")
    except tk.TclError as e:
        raise DigitkioskError(f"no display: cannot open {display} ({e})") from None

    from ..kiosk.options import KioskOptions
    from ..kiosk.run import run_kiosk

    store, refused = _open_samples(args, config)

    options = KioskOptions(
        fullscreen=not args.windowed,
        events=args.events,
        idle_clear_s=args.idle_clear,
        camera=args.camera,
        model_path=config.model,
        backend=config.backend,
        threads=config.threads,
        watch_interval_s=args.watch_interval,
        companions=companion_paths(config, pen=True),
        policy=config.policy(),
        sample_store=store,
        samples_refused=refused,
        keep_unconfirmed=args.samples_all,
        pad_idle_s=args.correction_idle,
    )
    return run_kiosk(recognizer, options, root)
