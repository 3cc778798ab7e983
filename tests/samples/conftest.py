"""Fixtures for the sample store: real SQLite files, samples made of real pen digits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest


def pen_sample(row: dict, *, label: str | None = None, t: float | None = None, confirmed: bool = True):
    """A Sample from a real pen record (strokes as the kiosk would keep them)."""
    from digitkiosk.device.samples import Sample
    from digitkiosk.device.samples.records import round_strokes

    return Sample(
        strokes=round_strokes(row["strokes"]),
        label=(str(row["label"]) if label is None else label) if confirmed else None,
        predicted="?",
        model="1.4.0",
        time=time.time() if t is None else t,
        confirmed=confirmed,
    )


@pytest.fixture()
def samples_dir(tmp_path: Path) -> Path:
    return tmp_path / "samples"


@pytest.fixture()
def make_sample(pendigits_train):
    """make_sample(i, ...) → a Sample of the i-th real pen digit of pendigits' train split."""

    def make(i: int = 0, **kwargs):
        return pen_sample(pendigits_train[i % len(pendigits_train)], **kwargs)

    return make


@pytest.fixture()
def filled_store(samples_dir: Path, make_sample):
    """A store holding 6 corrections (digits of 6 pen records) and 2 unconfirmed readings."""
    from digitkiosk.device.samples import SampleStore

    start = time.time() - 8 * 3600
    with SampleStore(samples_dir, kiosk="kiosk-a") as store:
        for i in range(6):
            store.add(make_sample(i, t=start + i * 3600))
        for i in range(6, 8):
            store.add(make_sample(i, t=start + i * 3600, confirmed=False))
    return samples_dir
