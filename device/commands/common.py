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


def trust_policy(args: argparse.Namespace):
    from ..package import TrustPolicy

    return TrustPolicy.from_env(args.trust_dir, args.allow_unsigned)


def open_recognizer(args: argparse.Namespace, fields: bool = False):
    """Load the model through the verified path (the trust policy of the flags / environment)
    and wrap it in a Recognizer; with `fields`, the line model for fields too (the same policy;
    if it is missing or refused, one warning and fields are read by segmentation)."""
    from ..loader import load_model
    from ..recognizer import Recognizer

    policy = trust_policy(args)
    recognizer = Recognizer(
        load_model(args.model, backend=args.backend, num_threads=args.threads, policy=policy)
    )
    if fields:
        from ..line_reader import open_line_model

        recognizer.line_model = open_line_model(policy, backend=args.backend, num_threads=args.threads)
    return recognizer
