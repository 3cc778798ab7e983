"""`digitkiosk bench`: speed and memory figures as JSON."""

from __future__ import annotations

import argparse
import json

from .common import add_model_arguments, settings

HELP = "measure cold start, inference latency, strokes and image and field paths, peak RSS (JSON)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeats", type=int, default=500, help="timed single-digit inferences (default 500)")
    add_model_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ..bench import run_bench
    from ..errors import InputError

    if args.repeats < 1:
        raise InputError("--repeats must be at least 1")
    config = settings(args)
    model = str(config.model) if config.model else None
    pen = None if config.stroke_model is None else str(config.stroke_model)
    line = (str(config.line_model) if config.line_model else None) if config.fields_by_line_model else "off"
    result = run_bench(
        model,
        config.backend,
        args.repeats,
        threads=config.threads,
        policy=config.policy(),
        stroke_model=pen if config.pen_by_stroke_model else "off",
        paper_model=(str(config.paper_model) if config.paper_model else None)
        if config.pictures_by_paper_model
        else "off",
        line_model=line,
    )
    print(json.dumps(result, indent=1))
    return 0
