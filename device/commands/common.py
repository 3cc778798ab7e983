"""Options and set-up shared by the commands that recognize digits."""

from __future__ import annotations

import argparse

from ..backends import CHOICES
from ..settings import Settings


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", help="model .tflite or its .json card (default: the bundled model, or DIGITKIOSK_MODEL)"
    )
    p.add_argument(
        "--backend",
        choices=CHOICES,
        default=None,
        help=f"interpreter: auto (default; or DIGITKIOSK_BACKEND), {', '.join(CHOICES[1:])}",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="interpreter threads (default 1, or DIGITKIOSK_THREADS)"
    )
    add_trust_arguments(p)


def add_trust_arguments(p: argparse.ArgumentParser) -> None:
    """The trust policy: the same options for every command that loads a model."""
    p.add_argument(
        "--trust-dir",
        help="trusted public keys (default /etc/digitkiosk/trusted_keys, or DIGITKIOSK_TRUST_DIR)",
    )
    p.add_argument(
        "--allow-unsigned",
        action="store_true",
        default=None,
        help="development only: accept unsigned models and unknown keys (or DIGITKIOSK_ALLOW_UNSIGNED=1)",
    )


def settings(args: argparse.Namespace) -> Settings:
    """The command's settings: its flags, else the environment, else the defaults, read once
    here (settings.py); what runs below takes them as plain arguments."""
    return Settings.resolve(
        model=args.model,
        backend=args.backend,
        threads=args.threads,
        trust_dir=args.trust_dir,
        allow_unsigned=args.allow_unsigned,
        samples=getattr(args, "samples", None),  # the commands that keep or read corrections
    )


def open_recognizer(settings: Settings, fields: bool = False, pen: bool = False, pictures: bool = True):
    """Load the model through the verified path, under the settings' trust policy, and wrap it
    in a Recognizer; with `fields`, the line model too (fields, and numbers whose digits touch in
    pictures: `touching.py`), with `pen` the stroke model for
    pen digits, with `pictures` the paper model for pictures (the same policy; if one is missing
    or refused, one warning, and fields are read by segmentation, pen digits and pictures by the
    digit model alone)."""
    from ..loader import load_model
    from ..recognizer import Recognizer

    policy = settings.policy()
    model = load_model(settings.model, backend=settings.backend, num_threads=settings.threads, policy=policy)
    recognizer = Recognizer(model)
    if fields and settings.fields_by_line_model:
        from ..line_reader import open_line_model

        recognizer.line_model = open_line_model(
            settings.line_model, policy, backend=settings.backend, num_threads=settings.threads
        )
    if pen and settings.pen_by_stroke_model:
        from ..stroke_reader import open_stroke_model

        recognizer.stroke_model = open_stroke_model(
            settings.stroke_model, policy, backend=settings.backend, num_threads=settings.threads
        )
    if pictures and settings.pictures_by_paper_model:
        from ..paper_reader import open_paper_model

        recognizer.paper_model = open_paper_model(
            settings.paper_model, policy, backend=settings.backend, num_threads=settings.threads
        )
    return recognizer
