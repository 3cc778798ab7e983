"""The kinds of model a kiosk runs, each installed, pushed and rolled back on its own.

    digit   the digit model (digitnet): pen digits, and every path's fallback
    paper   the paper model (papernet): digits in photos, scans and camera frames
    line    the line model (linenet): cheque amount fields, touching numbers in pictures
    stroke  the stroke model (strokenet): pen digits from their strokes, beside the digit model

Each kind has its own model store (`store.py`): the digit model's is the store folder itself, as
it always was (`<store>/current`, what the kiosk session and the deploy tools already use); the
others' are sub-folders named after the kind (`<store>/paper/current`, ...). A kind's loader is
the device's own: the same verification under the same trust policy and the same self-test as
when the kiosk loads that model, so a model the store accepts is one the kiosk will run, and a
package of the wrong kind (a line model pushed as a paper model) is refused by that check.

Where a setting does not name a model (DIGITKIOSK_PAPER_MODEL, ...), the one installed in the
store is used, and the bundled one until a model of that kind is installed (`installed_card`).
This module imports no numpy: `digitkiosk model status --no-check` does without.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError


@dataclass(frozen=True)
class ModelKind:
    name: str
    subfolder: str  # its store inside the store folder ("": the store folder itself)
    load: Callable[..., Any]  # (package, policy, backend=, num_threads=) → the verified, self-tested model

    @property
    def noun(self) -> str:
        """How messages name it: "model" for the digit model, as always; "paper model"..."""
        return "model" if self.name == DEFAULT_KIND else f"{self.name} model"

    def store_root(self, store: Path) -> Path:
        return store / self.subfolder if self.subfolder else store


def _digit(package, policy, *, backend=None, num_threads=None):
    from .loader import load_package

    return load_package(package, policy, backend=backend, num_threads=num_threads)


def _paper(package, policy, *, backend=None, num_threads=None):
    from .loader import load_package
    from .paper_reader import paper_model_from

    return paper_model_from(load_package(package, policy, backend=backend, num_threads=num_threads))


def _line(package, policy, *, backend=None, num_threads=None):
    from .line_reader import line_model_from

    return line_model_from(package, policy, backend=backend, num_threads=num_threads)


def _stroke(package, policy, *, backend=None, num_threads=None):
    from .stroke_reader import stroke_model_from

    return stroke_model_from(package, policy, backend=backend, num_threads=num_threads)


KINDS: dict[str, ModelKind] = {
    k.name: k
    for k in (
        ModelKind("digit", "", _digit),  # what each reads: the module's docstring
        ModelKind("paper", "paper", _paper),
        ModelKind("line", "line", _line),
        ModelKind("stroke", "stroke", _stroke),
    )
}
DEFAULT_KIND = "digit"


def model_kind(name: str | None) -> ModelKind:
    """The kind called `name` (None: the digit model), or InputError naming the known ones."""
    kind = KINDS.get((name or DEFAULT_KIND).strip().lower())
    if kind is None:
        raise InputError(f"unknown model kind {name!r} (one of: {', '.join(KINDS)})")
    return kind


def installed_card(store: Path, kind: str) -> Path | None:
    """The card of the `kind` model active in `store` (through its `current` link, so a later
    switch is seen at the same path), or None when none is installed there. The card's name is
    `<model>.json` beside the version's one `<model>.tflite`, as the store writes it."""
    current = model_kind(kind).store_root(store) / "current"
    try:
        names = [n for n in os.listdir(current) if n.endswith(".tflite") and not n.startswith(".")]
    except OSError:
        return None
    if len(names) != 1:
        return None
    card = current / (names[0][: -len(".tflite")] + ".json")
    return card if card.is_file() else None
