"""Resizing in integer arithmetic: the same pixels on every processor.

OpenCV's `cv2.resize` gives other results on arm64 than on x86-64 for the resizes of the digit
preparation (README, "arm64"; `tests/arm64/trace_prep.py`): its float32 INTER_AREA and
INTER_LINEAR in the last bit, its uint8 INTER_LINEAR by a grey level; after quantization a
photo's 28x28 input then differed by up to 2 int8 steps. These functions compute the same
resampling exactly, in int64 numpy (no floats, no BLAS, no SIMD-dependent rounding), so they
equal OpenCV's results up to OpenCV's own rounding (within one step, tests/test_resample.py).

- `area`: OpenCV's INTER_AREA when shrinking. In one dimension, input pixel i covers [i*m, (i+1)*m)
  and output pixel j covers [j*n, (j+1)*n) (n pixels in, m out): their overlaps are integers, and
  output j is sum(overlap * v) / n. Computed from prefix sums, so its cost is one pass over the
  image whatever the ratio.
- `linear`: OpenCV's INTER_LINEAR (half-pixel centres, edge pixels repeated): output j samples
  the input at ((2j + 1) * n - m) / (2m), a rational number, so its weights are integers over 2m.
"""

from __future__ import annotations

import numpy as np

AREA = "area"
LINEAR = "linear"
METHODS = (AREA, LINEAR)
# Fixed point for `resize_unit`'s float input in [0, 1]: 256 sub-steps per output grey level.
UNIT = 255 * 256


def _area_axis(v: np.ndarray, m: int, axis: int) -> np.ndarray:
    """Area sums along `axis` (n → m <= n): out[j] = sum_i overlap(i, j) * v[i], weights sum to n."""
    v = np.moveaxis(v, axis, 0)
    n = v.shape[0]
    prefix = np.zeros((n + 2, *v.shape[1:]), np.int64)
    np.cumsum(v, axis=0, out=prefix[1 : n + 1])
    padded = np.concatenate([v.astype(np.int64), np.zeros((1, *v.shape[1:]), np.int64)])
    # F(t) = integral of v over [0, t) in units of 1/m pixel: whole pixels from the prefix sums,
    # plus the part of pixel t // m before t.
    t = np.arange(m + 1, dtype=np.int64) * n
    idx, rem = t // m, (t % m).reshape(-1, *([1] * (v.ndim - 1)))
    integral = m * prefix[idx] + rem * padded[idx]
    return np.moveaxis(integral[1:] - integral[:-1], 0, axis)


def _linear_axis(v: np.ndarray, m: int, axis: int) -> np.ndarray:
    """Bilinear sums along `axis` (n → m): out[j] = (2m - f) * v[i0] + f * v[i0 + 1], over 2m."""
    v = np.moveaxis(v, axis, 0)
    n = v.shape[0]
    # int32 where the sums fit (half the memory traffic of int64: the upscaled background of a
    # 640x480 page), int64 otherwise.
    fits = v.size and int(v.max()) * 2 * m < 2**31 and int(v.min()) >= 0
    v = v.astype(np.int32 if fits else np.int64)
    num = (2 * np.arange(m, dtype=np.int64) + 1) * n - m  # the source position times 2m
    num = np.maximum(num, 0)  # left of the first pixel's centre: the first pixel
    i0, f = num // (2 * m), num % (2 * m)
    last = i0 >= n - 1  # right of the last pixel's centre: the last pixel
    i0, f = np.where(last, n - 1, i0), np.where(last, 0, f)
    i1 = np.minimum(i0 + 1, n - 1)
    shape = (-1, *([1] * (v.ndim - 1)))
    out = (2 * m - f).astype(v.dtype).reshape(shape) * v[i0] + f.astype(v.dtype).reshape(shape) * v[i1]
    return np.moveaxis(out, 0, axis)


def resize_sums(a: np.ndarray, size: tuple[int, int], method: str) -> tuple[np.ndarray, int]:
    """Integer image (h, w) → (sums (new_h, new_w) int64, divisor): the resized image is
    sums / divisor exactly. `size` is (width, height), as for cv2.resize."""
    a = np.asarray(a)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"expected a non-empty 2-D image, got shape {a.shape}")
    if a.dtype.kind not in "iub":
        raise ValueError(f"expected an integer image, got {a.dtype}")
    new_w, new_h = (int(v) for v in size)
    h, w = a.shape
    if new_w < 1 or new_h < 1:
        raise ValueError(f"bad size {size}")
    if method == AREA:
        if new_w > w or new_h > h:
            raise ValueError(f"area resampling only shrinks: {w}x{h} → {new_w}x{new_h}")
        return _area_axis(_area_axis(a, new_w, 1), new_h, 0), h * w
    if method == LINEAR:
        return _linear_axis(_linear_axis(a, new_w, 1), new_h, 0), 4 * new_w * new_h
    raise ValueError(f"unknown resampling {method!r} (choose from {', '.join(METHODS)})")


def _round_div(sums: np.ndarray, divisor: int) -> np.ndarray:
    """sums / divisor rounded to the nearest integer, halves up (all non-negative). Kept in
    int32 where 2 * sums + divisor fits (numpy divides int32 by a scalar several times faster)."""
    if sums.size and 2 * int(sums.max()) + divisor >= 2**31:
        sums = sums.astype(np.int64)
    return (2 * sums + divisor) // (2 * divisor)


def resize_u8(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """uint8 image → uint8 image of `size` (width, height), exactly rounded."""
    sums, divisor = resize_sums(np.asarray(image, np.uint8), size, method)
    return _round_div(sums, divisor).astype(np.uint8)


def unit_levels(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """float image with values in [0, 1] → int64 grey levels 0..255 of `size` (width, height),
    exactly rounded; the input is read to 1/256 of a grey level (fixed point, UNIT)."""
    q = np.rint(np.clip(np.asarray(image, np.float64), 0.0, 1.0) * UNIT).astype(np.int64)
    sums, divisor = resize_sums(q, size, method)
    return _round_div(sums, divisor * (UNIT // 255)).astype(np.int64)


def resize_unit(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """float image with values in [0, 1] → float32 image of `size` (width, height) whose values
    are whole grey levels n / 255: the device's models take int8 inputs of that scale, so this
    is exact all the way to the model's input."""
    return (unit_levels(image, size, method) / 255.0).astype(np.float32)
