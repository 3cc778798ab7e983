"""`digitkiosk bench`: speed and memory figures as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_model_arguments, settings

HELP = "measure cold start, inference latency, strokes and image and field paths, peak RSS (JSON)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--repeats",
        type=int,
        default=500,
        help="timed single-digit inferences (default 500; under 100, a short run: 20 pen "
        "readings, 10 pages, 3 fields)",
    )
    add_model_arguments(p)


def _model_arg(path: Path | None, used: bool) -> str | None:
    """A setting's model for run_bench: its path, None for the bundled one, "off" when not used."""
    return (str(path) if path else None) if used else "off"


def run(args: argparse.Namespace) -> int:
    from ..bench import run_bench
    from ..errors import InputError

    if args.repeats < 1:
        raise InputError("--repeats must be at least 1")
    config = settings(args)
    model = str(config.model) if config.model else None
    result = run_bench(
        model,
        config.backend,
        args.repeats,
        threads=config.threads,
        policy=config.policy(),
        stroke_model=_model_arg(config.stroke_model, config.pen_by_stroke_model),
        paper_model=_model_arg(config.paper_model, config.pictures_by_paper_model),
        line_model=_model_arg(config.line_model, config.fields_by_line_model),
    )
    print(json.dumps(result, indent=1))
    return 0
