"""The training augmentation, run on real MNIST digits: the elastic distortion bends digits by
at most the pixels asked for, is the same for the same seed, and is off by default."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from digitkiosk.train.augment import AugmentConfig, _elastic, augment_batch  # noqa: E402


@pytest.fixture(scope="module")
def digits(mnist_test):
    x, _ = mnist_test
    return tf.constant((x[:64] / 255.0).astype(np.float32)[..., None])


def _seed(a: int) -> tf.Tensor:
    return tf.constant([a, 7], tf.int64)


def test_elastic_moves_ink_by_at_most_the_pixels_asked_for():
    # One lit pixel per image, anywhere inside: after the warp its ink lies within max_px of
    # where it was (the field is a bicubic blend of control points, +1 for bilinear sampling).
    rng = np.random.default_rng(0)
    where = rng.integers(6, 22, size=(32, 2))
    dots = np.zeros((32, 28, 28, 1), np.float32)
    dots[np.arange(32), where[:, 0], where[:, 1], 0] = 1.0
    out = _elastic(tf.constant(dots), 3.0, _seed(1)).numpy()
    moved = []
    for img, (r, c) in zip(out[..., 0], where, strict=True):
        ys, xs = np.nonzero(img > 0.05)
        assert len(ys), "the dot vanished"
        moved.append(np.hypot(ys - r, xs - c).max())
    assert max(moved) <= 3.0 * 1.15 + 1.5, max(moved)
    assert np.mean(moved) > 0.5  # and it does move


def test_elastic_bends_digits_but_keeps_them(digits):
    out = _elastic(digits, 3.0, _seed(2)).numpy()
    x = digits.numpy()
    change = np.abs(out - x).mean(axis=(1, 2, 3))
    assert (change > 0.005).mean() > 0.75  # most digits bent (the strength is drawn from [0, max]) ...
    ink = out.sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3))
    assert ink.min() > 0.6 and ink.max() < 1.4  # ... none torn apart, lost or smeared out
    assert np.array_equal(out, _elastic(digits, 3.0, _seed(2)).numpy())  # same seed, same bend
    assert not np.array_equal(out, _elastic(digits, 3.0, _seed(3)).numpy())


def test_elastic_is_off_by_default(digits):
    assert AugmentConfig().elastic_px == 0.0
    plain = augment_batch(digits, _seed(4), AugmentConfig()).numpy()
    bent = augment_batch(digits, _seed(4), AugmentConfig(elastic_px=3.0)).numpy()
    assert not np.array_equal(plain, bent)
    # A vanishing distortion leaves the rest of the augmentation's draws as they were.
    tiny = augment_batch(digits, _seed(4), AugmentConfig(elastic_px=1e-6)).numpy()
    assert np.abs(tiny - plain).max() < 1e-3
