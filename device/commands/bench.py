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
    import os

    from ..bench import run_bench

    # The same trust policy as every command; through the environment, so that the cold-start
    # measurement in a fresh process applies it too.
    if args.trust_dir:
        os.environ["DIGITKIOSK_TRUST_DIR"] = str(args.trust_dir)
    if args.allow_unsigned:
        os.environ["DIGITKIOSK_ALLOW_UNSIGNED"] = "1"

    print(json.dumps(run_bench(args.model, args.backend, args.repeats), indent=1))
    return 0
