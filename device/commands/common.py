"""Options and set-up shared by the commands that recognize digits."""

from __future__ import annotations

import argparse

from ..backends import CHOICES


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", help="model .tflite or its .json card (default: the bundled model, or DIGITKIOSK_MODEL)"
    )
    p.add_argument(
        "--backend",
        choices=CHOICES,
        default=None,
        help="interpreter: auto (default; or DIGITKIOSK_BACKEND), litert, tflite-runtime, tensorflow",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="interpreter threads (default 1, or DIGITKIOSK_THREADS)"
    )


def open_recognizer(args: argparse.Namespace):
    """Load the model through the verified path and wrap it in a Recognizer."""
    from ..loader import load_model
    from ..recognizer import Recognizer

    return Recognizer(load_model(args.model, backend=args.backend, num_threads=args.threads))
