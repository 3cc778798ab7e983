"""`digitkiosk camera`: read handwritten digits live from a camera, a video file or a stream.

Imports stay light here (the CLI imports every command at start-up): OpenCV, Tk and the model
are loaded in `run`.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError
from .common import add_model_arguments, companion_paths, open_recognizer, settings

HELP = "read digits live from a camera, video file or stream (Tk window, or --headless JSON lines)"


def parse_roi(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--roi must be X,Y,W,H in pixels (got {text!r})") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise InputError(f"--roi needs X,Y >= 0 and W,H > 0 (got {text!r})")
    return x, y, w, h


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        default="0",
        help="camera index (default 0), /dev/videoN, a video file, or a stream URL (rtsp://...)",
    )
    p.add_argument("--headless", action="store_true", help="no window: JSON lines of readings on stdout")
    p.add_argument("--events", metavar="FILE", help="also append the JSON events to FILE")
    p.add_argument("--roi", metavar="X,Y,W,H", help="read only this part of the picture (pixels)")
    p.add_argument("--windowed", action="store_true", help="a normal window instead of fullscreen")
    p.add_argument(
        "--stable",
        type=int,
        default=5,
        metavar="N",
        help="report a reading once N frames in a row agree (default 5)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=5,
        metavar="N",
        help="reconnect attempts when a camera or stream fails (default 5; -1: forever)",
    )
    p.add_argument(
        "--every-frame",
        action="store_true",
        help="video files: process every frame as fast as possible (no pacing, no dropping)",
    )
    p.add_argument(
        "--max-frames", type=int, metavar="N", help="stop after N processed frames (a window then closes)"
    )
    p.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this many seconds (a window then closes)",
    )
    add_model_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ..camera.loop import LoopOptions
    from ..camera.source import SourceSpec
    from ..events import EventLog
    from ..model_watch import watch_models

    spec = SourceSpec.parse(args.source)
    roi = parse_roi(args.roi) if args.roi else None
    if args.stable < 1:
        raise InputError("--stable must be at least 1")
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError("--max-frames must be at least 1")
    if args.duration is not None and args.duration <= 0:
        raise InputError("--duration must be a positive number of seconds")
    retries = None if args.retries < 0 else args.retries
    options = LoopOptions(roi, args.stable, args.every_frame, retries, args.max_frames, args.duration)
    # The line model reads numbers whose digits touch (`touching.py`).
    config = settings(args)
    recognizer = open_recognizer(config, fields=True)
    headless = args.headless
    with EventLog(args.events, stream=sys.stdout if headless else None) as events:
        # A model installed or pushed while the camera runs is used from the next frame on, as in
        # the kiosk (model_watch.py); each change is an event ("model_reloaded", ...).
        where = {"digit": config.model or recognizer.model.path, **companion_paths(config, fields=True)}
        watchers = watch_models(
            recognizer,
            where,
            backend=config.backend,
            num_threads=config.threads,
            policy=config.policy(),
            on_change=lambda change: events.emit(f"model_{change.kind}", message=change.message),
        )
        with watchers:
            if headless:
                from ..camera.headless import run_headless

                return run_headless(recognizer, spec, events, options)
            from ..camera.view import open_window

            return open_window(recognizer, spec, options, events=events, fullscreen=not args.windowed)
