"""Resizing in integer arithmetic: the same pixels on every processor.

OpenCV's `cv2.resize` gives other results on arm64 than on x86-64 for the resizes of the digit
preparation (README, "arm64"; `tests/arm64/trace_prep.py`): its float32 INTER_AREA and
INTER_LINEAR in the last bit, its uint8 INTER_LINEAR by a grey level; after quantization a
photo's 28x28 input then differed by up to 2 int8 steps. These functions compute the same
resampling exactly, in int64 numpy (integer weights, no floats, no BLAS), with one integer
rounding at the end; no step whose result depends on the processor.
They equal OpenCV's results up to OpenCV's own rounding (within one step,
tests/test_device_resample.py).

- `area`: OpenCV's INTER_AREA when shrinking. In one dimension, input pixel i covers [i*m, (i+1)*m)
  and output pixel j covers [j*n, (j+1)*n) (n pixels in, m out): their overlaps are integers, and
  output j is sum(overlap * v) / n.
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


def _along(axis: int, ndim: int, values: np.ndarray) -> np.ndarray:
    """A 1-D array shaped to broadcast along `axis` of an ndim-D array."""
    shape = [1] * ndim
    shape[axis] = len(values)
    return values.reshape(shape)


def _fitting(v: np.ndarray, weight: int) -> type:
    """int32 when every weighted sum (at most `weight` times the largest value) fits in it: half
    the memory traffic of int64, and numpy multiplies it with SIMD; int64 otherwise."""
    return np.int32 if v.size and int(v.max()) * weight < 2**31 else np.int64


def _area_axis(v: np.ndarray, m: int, axis: int) -> np.ndarray:
    """Area sums along `axis` (n → m <= n), int64: out[j] = sum_i overlap(i, j) * v[i], where
    input i covers [i*m, (i+1)*m) and output j covers [j*n, (j+1)*n); weights sum to n. An input
    pixel (length m <= n) overlaps output j0 = i*m // n and at most the next one: its two parts
    are summed per output over the runs of inputs that start in it (np.add.reduceat)."""
    n = v.shape[axis]
    i = np.arange(n, dtype=np.int64)
    j0 = i * m // n
    first = np.minimum((j0 + 1) * n - i * m, m)  # the part of input i inside output j0
    v = v.astype(_fitting(v, n), copy=False)
    first = first.astype(v.dtype)
    starts = np.searchsorted(j0, np.arange(m))  # every output holds the start of an input (m <= n)
    sums = np.add.reduceat(v * _along(axis, v.ndim, first), starts, axis=axis)
    rest = np.add.reduceat(v * _along(axis, v.ndim, m - first), starts, axis=axis)
    into, out_of = [slice(None)] * v.ndim, [slice(None)] * v.ndim
    into[axis], out_of[axis] = slice(1, None), slice(0, -1)
    sums[tuple(into)] += rest[tuple(out_of)]  # the rest of output j's inputs spills into j + 1
    return sums


def _linear_axis(v: np.ndarray, m: int, axis: int) -> np.ndarray:
    """Bilinear sums along `axis` (n → m), int64: out[j] = (2m - f) * v[i0] + f * v[i0 + 1], over
    2m, where output j samples the input at ((2j + 1) * n - m) / (2m), edge pixels repeated."""
    n = v.shape[axis]
    num = np.maximum((2 * np.arange(m, dtype=np.int64) + 1) * n - m, 0)  # left of the first centre
    i0, f = num // (2 * m), num % (2 * m)
    last = i0 >= n - 1  # right of the last pixel's centre: the last pixel
    i0, f = np.where(last, n - 1, i0), np.where(last, 0, f)
    v = v.astype(_fitting(v, 2 * m), copy=False)
    f = f.astype(v.dtype)
    low = np.take(v, i0, axis=axis) * _along(axis, v.ndim, 2 * m - f)
    return low + np.take(v, np.minimum(i0 + 1, n - 1), axis=axis) * _along(axis, v.ndim, f)


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
    if int(a.min()) < 0:
        raise ValueError("expected an image without negative values")
    if method == AREA:
        if new_w > w or new_h > h:
            raise ValueError(f"area resampling only shrinks: {w}x{h} → {new_w}x{new_h}")
        one, divisor = _area_axis, h * w
    elif method == LINEAR:
        one, divisor = _linear_axis, 4 * new_w * new_h
    else:
        raise ValueError(f"unknown resampling {method!r} (choose from {', '.join(METHODS)})")
    # Integer sums: either order gives the same result; the one with the smaller middle image
    # is the faster (rows first: numpy works along them faster).
    if new_h * w <= h * new_w:
        return one(one(a, new_h, 0), new_w, 1), divisor
    return one(one(a, new_w, 1), new_h, 0), divisor


def _round_div(sums: np.ndarray, divisor: int) -> np.ndarray:
    """sums / divisor rounded to the nearest integer, halves up (all non-negative)."""
    fits = not sums.size or 2 * int(sums.max()) + divisor < 2**31
    sums = sums.astype(np.int32 if fits else np.int64)  # numpy divides int32 by a scalar faster
    return (2 * sums + divisor) // (2 * divisor)


def resize_u8(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """uint8 image → uint8 image of `size` (width, height), exactly rounded."""
    sums, divisor = resize_sums(np.asarray(image, np.uint8), size, method)
    return _round_div(sums, divisor).astype(np.uint8)


def unit_levels(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """float image with values in [0, 1] → int64 grey levels 0..255 of `size` (width, height),
    exactly rounded; the input is read to 1/256 of a grey level (fixed point, UNIT)."""
    # float32 arithmetic, each operation rounded by IEEE rules alike everywhere; < 2**24, exact.
    q = np.rint(np.clip(np.asarray(image, np.float32), 0.0, 1.0) * np.float32(UNIT)).astype(np.int32)
    sums, divisor = resize_sums(q, size, method)
    return _round_div(sums, divisor * (UNIT // 255)).astype(np.int64)


def resize_unit(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """float image with values in [0, 1] → float32 image of `size` (width, height) whose values
    are whole grey levels n / 255: the device's models take int8 inputs of that scale, so this
    is exact all the way to the model's input."""
    return (unit_levels(image, size, method) / 255.0).astype(np.float32)
