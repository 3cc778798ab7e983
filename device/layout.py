"""How digits are laid out in text: between two digits no separator, a space (another number on
the line) or a line break ("12 7\n305"). The layout alone writes each digit as "d" ("dd d\nddd"),
which is what the camera votes on and the trainer matches a page against. Written here once, for
the recognizer's readings, segmentation and the trainer; no imports, so every side can use it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

DIGIT = "d"
SEPARATORS = ("", " ", "\n")  # from none to most separating


def join(labels: Sequence[str], separators: Sequence[str] = ()) -> str:
    """Labels with `separators` between them (none given: written together); "" for no labels."""
    if not labels:
        return ""
    seps = list(separators) or [""] * (len(labels) - 1)
    return labels[0] + "".join(sep + label for sep, label in zip(seps, labels[1:], strict=True))


def layout(count: int, separators: Sequence[str] = ()) -> str:
    """`count` digits with these separators, each digit as "d"; "" for none."""
    return join([DIGIT] * count, separators)


def layout_of(text: str) -> str:
    """The layout of a text of digits (and "?" for a digit read as none): "12 7" → "dd d"."""
    return re.sub(r"[0-9?]", DIGIT, text)
