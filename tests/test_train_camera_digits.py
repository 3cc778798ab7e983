"""Camera-domain training digits (train/camera_digits.py): real training glyphs photographed on
synthetic pages and found by the device's own segmentation, with the right label on each."""

from __future__ import annotations

import numpy as np
import pytest
from digitkiosk.train.camera_digits import camera_digits
from digitkiosk.train.data import load_mnist
from digitkiosk.train.pendigits import load_jsonl


def _glyphs(mnist_dir, shared_data):
    data = load_mnist(str(mnist_dir))
    records = load_jsonl(shared_data / "pendigits" / "train.jsonl")
    pen = [r for r in records if r["writer"] in ("tra-1", "tra-2")]
    return (data.x_train[:3000], data.y_train[:3000]), pen


def test_camera_digits_carry_the_label_of_what_they_show(mnist_dir, shared_data, recognizer):
    mnist, pen = _glyphs(mnist_dir, shared_data)
    x, y = camera_digits(mnist, pen, count=240, seed=5)
    assert x.shape == (240, 28, 28) and x.dtype == np.uint8 and y.shape == (240,)
    assert set(y.tolist()) == set(range(10))
    # The bundled model reads them as labelled: a label shifted by even one digit of a page
    # would leave it near chance.
    readings = recognizer.classify(x.astype(np.float32) / 255.0)
    agree = np.mean([r.top3[0][0] == label for r, label in zip(readings, y, strict=True)])
    assert agree > 0.9, agree


def test_camera_digits_are_the_same_for_the_same_seed(mnist_dir, shared_data):
    mnist, pen = _glyphs(mnist_dir, shared_data)
    a = camera_digits(mnist, pen, count=60, seed=2)
    b = camera_digits(mnist, pen, count=60, seed=2)
    c = camera_digits(mnist, pen, count=60, seed=3)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.slow
def test_training_split_mixes_them_in_and_leaves_validation_alone(mnist_dir, shared_data):
    from dataclasses import replace

    from digitkiosk.train.fit import TrainConfig, split_data

    data = load_mnist(str(mnist_dir))
    cfg = TrainConfig(limit=2000, pendigits=str(shared_data / "pendigits" / "train.jsonl"), camera_digits=50)
    x_tr, y_tr, x_val, y_val = split_data(data, cfg)
    bx_tr, by_tr, bx_val, by_val = split_data(data, replace(cfg, camera_digits=0))
    assert len(x_tr) == len(bx_tr) + 50 and len(y_tr) == len(x_tr)
    assert np.array_equal(x_tr[: len(bx_tr)], bx_tr) and np.array_equal(y_tr[: len(by_tr)], by_tr)
    assert np.array_equal(x_val, bx_val) and np.array_equal(y_val, by_val)


def test_glyphs_the_segmentation_never_finds_stop_with_a_clear_error():
    from digitkiosk.train.errors import DataError

    # Solid squares: no page's digits are ever all found, so no label is ever known.
    squares = (np.full((20, 28, 28), 255, np.uint8), np.arange(20, dtype=np.uint8) % 10)
    with pytest.raises(DataError, match="every digit found"):
        camera_digits(squares, [], count=100, seed=1)
