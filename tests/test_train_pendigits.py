"""Real pen digits in training (train/pendigits.py): jittered repeats, as another writer might
have drawn each digit, and which writers are held out for validation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from digitkiosk.train.data import load_mnist
from digitkiosk.train.pendigits import load_jsonl, render, render_jittered


@pytest.fixture(scope="module")
def pen_records(shared_data):
    records = load_jsonl(shared_data / "pendigits" / "train.jsonl")
    return [r for r in records if r["writer"] in ("tra-1", "tra-2")][:300]


def test_jittered_digits_differ_but_still_show_their_digit(pen_records, recognizer):
    clean, labels, _ = render(pen_records)
    a = render_jittered(pen_records, seed=4)
    assert a.shape == clean.shape and a.dtype == np.uint8
    assert np.array_equal(a, render_jittered(pen_records, seed=4))
    assert not np.array_equal(a, render_jittered(pen_records, seed=5))
    # Each one changed (a warp, nudged strokes, another pen width), not merely re-rendered...
    changed = np.abs(a.astype(np.int16) - clean).reshape(len(a), -1).mean(axis=1)
    assert (changed > 2.0).mean() > 0.95, np.percentile(changed, [5, 50])
    # ...and still the digit it was: the bundled model reads them as well as the originals.
    read = lambda x: np.mean(  # noqa: E731
        [r.top3[0][0] == lab for r, lab in zip(recognizer.classify(x / 255.0), labels, strict=True)]
    )
    assert read(a.astype(np.float32)) >= read(clean.astype(np.float32)) - 0.03


def test_split_jitters_only_the_repeats_and_can_train_on_every_writer(mnist_dir, shared_data):
    from digitkiosk.train.fit import TrainConfig, split_data

    data = load_mnist(str(mnist_dir))
    pen = str(shared_data / "pendigits" / "train.jsonl")
    cfg = TrainConfig(limit=1000, validation=100, pendigits=pen, pendigits_repeat=3)
    x_tr, y_tr, x_val, y_val = split_data(data, cfg)
    jx_tr, jy_tr, jx_val, jy_val = split_data(data, replace(cfg, pen_jitter=True))
    n_pen = (len(x_tr) - 900) // 3
    assert jx_tr.shape == x_tr.shape and np.array_equal(jy_tr, y_tr)
    assert np.array_equal(jx_tr[: 900 + n_pen], x_tr[: 900 + n_pen])  # MNIST and the first copy
    assert not np.array_equal(jx_tr[900 + n_pen :], x_tr[900 + n_pen :])
    assert np.array_equal(jx_val, x_val) and np.array_equal(jy_val, y_val)
    # Held-out writers validate; with none held out, every pen digit trains and validation is MNIST.
    all_x, _all_y, all_val, _ = split_data(data, replace(cfg, pendigits_val_writers=0))
    assert len(all_val) == 100 and len(x_val) > 100
    assert len(all_x) - 900 == 3 * len(load_jsonl(pen))
