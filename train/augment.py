"""Augmentation that matches how people write on a touchscreen or on paper.

Random affine (rotation, scale with some aspect change, shear, shift) done as one projective
transform per image, optionally a smooth elastic distortion (Simard et al. 2003: the local
wobble by which one writer's 4 differs from another's, which no affine map gives), plus
stroke-thickness changes (soft dilation/erosion), on whole batches in the tf.data pipeline so
the 2-core CPU spends its time on the model, not on Python loops.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import tensorflow as tf


@dataclass(frozen=True)
class AugmentConfig:
    rotation_deg: float = 12.0
    scale_min: float = 0.85
    scale_max: float = 1.10
    aspect: float = 0.12  # x and y scales differ by up to ±12%
    shear: float = 0.25  # radians-ish: a slanted hand
    shift_px: float = 2.0
    thickness: float = 0.7  # blend factor towards a 3x3 dilation (thicker) or erosion (thinner)
    elastic_px: float = 0.0  # largest elastic displacement in pixels (0: none)

    def to_json(self) -> dict:
        return asdict(self)


def _affine(batch: int, cfg: AugmentConfig, seed: tf.Tensor) -> tf.Tensor:
    """Per-image 8-vector transforms (output → input mapping) for ImageProjectiveTransformV3."""
    seeds = tf.random.experimental.stateless_split(seed, 6)
    u = lambda i, lo, hi: tf.random.stateless_uniform([batch], seeds[i], lo, hi)  # noqa: E731
    theta = u(0, -1.0, 1.0) * cfg.rotation_deg * math.pi / 180.0
    scale = u(1, cfg.scale_min, cfg.scale_max)
    aspect = u(2, -cfg.aspect, cfg.aspect)
    sx, sy = scale * (1.0 + aspect), scale * (1.0 - aspect)
    shear = u(3, -cfg.shear, cfg.shear)
    tx, ty = u(4, -cfg.shift_px, cfg.shift_px), u(5, -cfg.shift_px, cfg.shift_px)
    cos, sin = tf.cos(theta), tf.sin(theta)
    # Forward map A = R · Shear · S about the image centre (13.5, 13.5), then shift.
    a00 = cos * sx
    a01 = cos * shear * sy - sin * sy
    a10 = sin * sx
    a11 = sin * shear * sy + cos * sy
    det = a00 * a11 - a01 * a10
    i00, i01, i10, i11 = a11 / det, -a01 / det, -a10 / det, a00 / det
    c = 13.5
    # input = A^-1 (out - c - t) + c
    ox, oy = c + tx, c + ty
    b0 = c - (i00 * ox + i01 * oy)
    b1 = c - (i10 * ox + i11 * oy)
    zeros = tf.zeros([batch])
    return tf.stack([i00, i01, b0, i10, i11, b1, zeros, zeros], axis=1)


ELASTIC_GRID = 4  # control points per side: features of about a quarter of the digit bend


def _elastic(images: tf.Tensor, max_px: float, seed: tf.Tensor) -> tf.Tensor:
    """Each image resampled through its own smooth random displacement field.

    The field is random displacements on a coarse grid, upsampled bicubically (as smooth as
    Simard's Gaussian-filtered noise, at a fraction of the cost), scaled per image by a random
    strength up to `max_px`; sampling is bilinear with black outside the picture."""
    batch = tf.shape(images)[0]
    s_field, s_strength = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    coarse = tf.random.stateless_uniform([batch, ELASTIC_GRID, ELASTIC_GRID, 2], s_field, -1.0, 1.0)
    strength = tf.random.stateless_uniform([batch, 1, 1, 1], s_strength, 0.0, max_px)
    field = tf.image.resize(coarse, [28, 28], method="bicubic") * strength
    grid_y, grid_x = tf.meshgrid(tf.range(28.0), tf.range(28.0), indexing="ij")
    # One pixel of black padding all round: samples falling outside read 0.
    sx = tf.clip_by_value(grid_x[None] + field[..., 0] + 1.0, 0.0, 29.0)
    sy = tf.clip_by_value(grid_y[None] + field[..., 1] + 1.0, 0.0, 29.0)
    flat = tf.reshape(tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]]), [batch, 30 * 30])
    x0, y0 = tf.floor(sx), tf.floor(sy)
    wx, wy = sx - x0, sy - y0
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    x1, y1 = tf.minimum(x0 + 1, 29), tf.minimum(y0 + 1, 29)

    def at(y: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
        return tf.gather(flat, tf.reshape(y * 30 + x, [batch, -1]), batch_dims=1)

    shape = [batch, 28 * 28]
    wx, wy = tf.reshape(wx, shape), tf.reshape(wy, shape)
    top = at(y0, x0) * (1.0 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1.0 - wx) + at(y1, x1) * wx
    return tf.reshape(top * (1.0 - wy) + bottom * wy, [batch, 28, 28, 1])


def augment_batch(images: tf.Tensor, seed: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    """images: (B, 28, 28, 1) float32 in [0, 1]."""
    batch = tf.shape(images)[0]
    s_affine, s_thick, s_sign = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    transforms = _affine(batch, cfg, s_affine)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant([28, 28]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    if cfg.elastic_px > 0:
        # Its own seed folded from the batch's, so runs without it draw exactly as before.
        out = _elastic(out, cfg.elastic_px, tf.random.experimental.stateless_fold_in(seed, 1))
    thick = tf.nn.max_pool2d(out, 3, 1, "SAME")
    thin = -tf.nn.max_pool2d(-out, 3, 1, "SAME")
    amount = tf.random.stateless_uniform([batch, 1, 1, 1], s_thick, 0.0, cfg.thickness)
    sign = tf.random.stateless_uniform([batch, 1, 1, 1], s_sign, -1.0, 1.0)
    out = tf.where(sign > 0, out + amount * (thick - out), out + amount * (thin - out))
    return tf.clip_by_value(out, 0.0, 1.0)
