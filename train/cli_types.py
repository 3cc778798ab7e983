"""The trainer's argument types: each flag checked as it is parsed, before TensorFlow loads, so
a typo costs a second and gives one line (argparse's error, exit 2)."""

from __future__ import annotations

import argparse


def integer(v: str, minimum: int) -> int:
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {v!r}") from None
    if n < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}: {v}")
    return n


def positive(v: str) -> int:
    return integer(v, 1)


def non_negative(v: str) -> int:
    return integer(v, 0)


def widths(v: str) -> tuple[int, ...]:
    from .model import STRIDES

    parts = [positive(p) for p in v.split(",")]
    if len(parts) != len(STRIDES):
        raise argparse.ArgumentTypeError(f"needs {len(STRIDES)} comma-separated widths: {v!r}")
    return tuple(parts)


def number(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {v!r}") from None


def source(v: str) -> str:
    """FILE or FILE:REPEAT (REPEAT ≥ 1): checked here so a typo fails before TensorFlow loads."""
    from .errors import DataError
    from .sources import parse_source

    try:
        parse_source(v, 1)
    except DataError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return v


def smoothing(v: str) -> float:  # also a fraction of extra images (--not-a-digit)
    x = number(v)
    if not 0.0 <= x < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1): {v}")
    return x


def pixels(v: str) -> float:
    x = number(v)
    if not 0.0 <= x <= 8.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 8] pixels: {v}")
    return x
