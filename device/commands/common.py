"""Options and set-up shared by the commands that recognize digits."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

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


def _line_model():
    from ..line_reader import default_line_model_path, open_line_model

    return default_line_model_path, open_line_model


def _stroke_model():
    from ..stroke_reader import default_stroke_model_path, open_stroke_model

    return default_stroke_model_path, open_stroke_model


def _paper_model():
    from ..paper_reader import default_paper_model_path, open_paper_model

    return default_paper_model_path, open_paper_model


# Kind → (its bundled model's path, its opener), each reader imported only when its model is used:
# the line reader pulls in OpenCV, which the pen path does without.
_COMPANIONS = {"line": _line_model, "stroke": _stroke_model, "paper": _paper_model}


def companion_paths(
    settings: Settings, fields: bool = False, pen: bool = False, pictures: bool = True
) -> dict[str, Callable[[], Path]]:
    """Kind → where the recognizer's companion model of that kind is, for each one used (`fields`:
    the line model, `pen`: the stroke model, `pictures`: the paper model, unless its setting is
    "off"): the one the setting names, else the one installed in the store (`digitkiosk model
    install --kind KIND`, a deploy push), else the bundled one (model_watch.companion_path)."""
    from ..model_watch import companion_path

    s = settings
    wanted = (
        ("line", fields and s.fields_by_line_model, s.line_model),
        ("stroke", pen and s.pen_by_stroke_model, s.stroke_model),
        ("paper", pictures and s.pictures_by_paper_model, s.paper_model),
    )
    return {k: companion_path(s.store, k, named, _COMPANIONS[k]()[0]()) for k, on, named in wanted if on}


def open_recognizer(settings: Settings, fields: bool = False, pen: bool = False, pictures: bool = True):
    """Load the model through the verified path, under the settings' trust policy, and wrap it
    in a Recognizer; with `fields`, the line model too (fields, and numbers whose digits touch in
    pictures: `touching.py`), with `pen` the stroke model for pen digits, with `pictures` the paper
    model for pictures, each from where `companion_paths` says, under the same policy; if one is
    missing or refused, one warning, and fields are read by segmentation, pen digits and pictures
    by the digit model alone."""
    from ..loader import load_model
    from ..recognizer import Recognizer

    policy = settings.policy()
    model = load_model(settings.model, backend=settings.backend, num_threads=settings.threads, policy=policy)
    recognizer = Recognizer(model)
    for kind, where in companion_paths(settings, fields, pen, pictures).items():
        open_model = _COMPANIONS[kind]()[1]
        companion = open_model(where(), policy, backend=settings.backend, num_threads=settings.threads)
        setattr(recognizer, f"{kind}_model", companion)
    return recognizer
