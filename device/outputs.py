"""What a model's output is, and its conversion to class probabilities: the one place for both.

A card's `output_kind` says what the model's output tensor holds:
- "logits" (models from digitnet 1.4.1 and linenet 1.0.1 on): the int8 logits; the device computes
  the softmax itself (`to_probabilities`);
- "probabilities" (a card without the field: every older card, signed ones included, and the
  candidates in models/candidates/): the model ends in its own int8 SOFTMAX; the output is only
  dequantized.

Why the device computes the softmax (README, "arm64"): LiteRT's optimized int8 SOFTMAX kernel gives
scores 1 step apart on arm64 and x86-64 for ~2% of digits although its input, the int8 logits, is
identical on both. Computed here from the int8 logits, the probabilities are bit-identical on every
processor: exp is taken from a table computed in decimal arithmetic (libmpdec: integer code,
correctly rounded), not from the platform's libm or numpy's SIMD exp, and the rest is IEEE
additions in a fixed order and divisions, which every processor rounds alike.
They differ from the int8 softmax's output by less than 1/256 (its step), which is what the
reject threshold was chosen on.
"""

from __future__ import annotations

import decimal
import functools

import numpy as np

from .errors import ModelCardError

LOGITS = "logits"
PROBABILITIES = "probabilities"
OUTPUT_KINDS = (LOGITS, PROBABILITIES)


def output_kind(card_data: dict, where: object = "model card") -> str:
    """A card's `output_kind`: "probabilities" when absent (cards older than the field)."""
    kind = card_data.get("output_kind", PROBABILITIES)
    if kind not in OUTPUT_KINDS:
        raise ModelCardError(f"{where}: 'output_kind' must be one of {', '.join(OUTPUT_KINDS)}, not {kind!r}")
    return kind


@functools.lru_cache(maxsize=16)
def _exp_table(scale: float, steps: int) -> np.ndarray:
    """exp(-k * scale) for k = 0 .. steps-1, as float64, the same bits on every processor."""
    ctx = decimal.Context(prec=40)
    s = decimal.Decimal(scale)  # the float's exact value
    return np.array([float(ctx.exp(ctx.multiply(decimal.Decimal(-k), s))) for k in range(steps)], np.float64)


@functools.lru_cache(maxsize=16)
def _exp_list(scale: float) -> list[float]:
    """`_exp_table(scale, 256)` as Python floats (the same float64 values), for one row."""
    return _exp_table(scale, 256).tolist()


def _softmax_one_row(row: list[int], scale: float) -> np.ndarray:
    """One row of 8-bit logits → its softmax (1, C), float64: the same IEEE operations in the same
    order as the array path (table lookup, a left-to-right running sum, divisions), so the same
    bits, at a fraction of its cost for the kiosk's one digit at a time (numpy's per-call overhead
    was most of the 10 us the array path took for 10 numbers)."""
    table, top = _exp_list(scale), max(row)
    e = [table[top - v] for v in row]
    total = 0.0
    for v in e:
        total += v
    return np.array([[v / total for v in e]], np.float64)


def softmax_quantized(q: np.ndarray, scale: float) -> np.ndarray:
    """Integer logits q (..., C) of one quantization scale (the zero point cancels) → softmax
    over the last axis, float64, bit-identical on every processor for the same q."""
    q = np.asarray(q)
    if q.ndim == 2 and q.shape[0] == 1 and q.dtype.itemsize == 1 and q.dtype.kind in "iu":
        return _softmax_one_row(q[0].tolist(), float(scale))
    if q.dtype.itemsize > 1 or q.dtype.kind not in "iu":
        q = q.astype(np.int64)
    k = q.max(axis=-1, keepdims=True).astype(np.int64) - q  # >= 0; the best class is exp(0) = 1
    # 8-bit logits never span more than 256 steps (the common case, read a digit at a time); for
    # wider ones the table is as long as their span.
    steps = 256 if q.dtype.itemsize == 1 else max(int(k.max()) + 1 if k.size else 1, 256)
    e = _exp_table(float(scale), steps)[k]
    # A running sum is added strictly left to right (np.sum's pairwise order is numpy's own).
    total = np.cumsum(e, axis=-1)[..., -1:]
    return e / total


def softmax_float(x: np.ndarray) -> np.ndarray:
    """Float logits (a float reference model) → softmax over the last axis (not claimed exact)."""
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def to_probabilities(raw: np.ndarray, details: dict, kind: str, temperature: float = 1.0) -> np.ndarray:
    """The output tensor as the interpreter returned it (`details`: its get_output_details entry)
    → class probabilities, float32, over the last axis. `temperature` T divides the logits
    (softmax(z / T), temperature scaling): for int8 logits it divides their scale, so the
    probabilities stay bit-identical on every processor; a model that outputs probabilities has
    no logits to scale (T must be 1)."""
    quantized = np.dtype(details["dtype"]) != np.float32
    scale, zero = details["quantization"] if quantized else (1.0, 0)
    if kind == PROBABILITIES:
        if temperature != 1.0:
            raise ValueError("a temperature needs a model that outputs logits")
        if not quantized:
            return raw.astype(np.float32)
        return ((raw.astype(np.float32) - zero) * scale).astype(np.float32)
    if quantized:
        return softmax_quantized(raw, scale / temperature).astype(np.float32)
    return softmax_float(np.asarray(raw, np.float64) / temperature).astype(np.float32)


def last_op(interpreter) -> str | None:
    """The name of the op that writes the model's output (None when the interpreter does not
    tell): all three TFLite packages have `_get_ops_details`; delegate nodes are skipped."""
    try:
        ops = interpreter._get_ops_details()
        output = interpreter.get_output_details()[0]["index"]
    except (AttributeError, ValueError, RuntimeError, IndexError, KeyError):
        return None
    names = [o["op_name"] for o in ops if output in list(o["outputs"]) and o["op_name"] != "DELEGATE"]
    return names[-1] if names else None
