"""Copies of bundled model packages for tests that edit or re-sign them (shared by the tests of
each kind of model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def copy_package(card: Path, folder: Path) -> Path:
    """A model's card and .tflite copied into `folder` → the copy's card."""
    for f in (card, card.with_suffix(".tflite")):
        shutil.copy(f, folder / f.name)
    return folder / card.name


def edit_card(card: Path, **changes) -> None:
    """Change top-level fields of a card in place (the copy is then no longer the pinned one)."""
    data = json.loads(card.read_text())
    data.update(changes)
    card.write_text(json.dumps(data))
