"""Real pen digits in training (train/pendigits.py, fit.split_data): which writers are held out
for validation, and that no held-out writer's digit is trained on."""

from __future__ import annotations

from dataclasses import replace

import pytest
from digitkiosk.train.data import load_mnist
from digitkiosk.train.pendigits import load_jsonl


@pytest.mark.slow
def test_held_out_writers_validate_and_none_held_out_trains_on_every_writer(mnist_dir, shared_data):
    from digitkiosk.train.fit import TrainConfig, split_data

    data = load_mnist(str(mnist_dir))
    pen = str(shared_data / "pendigits" / "train.jsonl")
    n_pen = len(load_jsonl(pen))
    cfg = TrainConfig(limit=1000, validation=100, pendigits=pen, pendigits_repeat=3)
    x_tr, _y_tr, x_val, y_val = split_data(data, cfg)
    held = len(x_val) - 100  # pen digits of the 3 held-out writers
    assert 0 < held < n_pen and len(x_tr) - 900 == 3 * (n_pen - held) and len(y_val) == len(x_val)
    all_x, _all_y, all_val, _ = split_data(data, replace(cfg, hold_out=False))
    assert len(all_val) == 100  # MNIST only
    assert len(all_x) - 900 == 3 * n_pen
