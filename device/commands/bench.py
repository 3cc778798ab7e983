"""`digitkiosk bench`: speed and memory figures as JSON."""

from __future__ import annotations

import argparse
import json

from .common import add_model_arguments

HELP = "measure cold start, inference latency, strokes and image paths, peak RSS (JSON)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeats", type=int, default=500, help="timed single-digit inferences (default 500)")
    add_model_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ..bench import run_bench

    print(json.dumps(run_bench(args.model, args.backend, args.repeats), indent=1))
    return 0
