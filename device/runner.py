"""Run a TFLite classifier on batches of prepared 28x28 images, hiding quantization.

Works for int8 models (the default) and float reference models alike: images go in as float32
in [0, 1], probabilities come out as float32. Whether the model's output is already
probabilities or logits (its card's `output_kind`) is the caller's to say; the conversion is
`outputs.to_probabilities`, the same for every backend.
"""

from __future__ import annotations

import threading

import numpy as np

from .backends import InterpreterLike
from .outputs import PROBABILITIES, last_op, to_probabilities


class Runner:
    def __init__(
        self, interpreter: InterpreterLike, output_kind: str = PROBABILITIES, max_batch: int | None = None
    ) -> None:
        self._it = interpreter
        self.output_kind = output_kind
        self.max_batch = max_batch  # the backend's (backends/base.py): None = any
        self._it.allocate_tensors()
        self._details()
        self._batch = int(self._in["shape"][0])
        # One interpreter is not thread-safe; the kiosk calls from a worker thread and the
        # status/self-test path from others.
        self._lock = threading.Lock()

    @property
    def input_details(self) -> dict:
        return self._in

    @property
    def output_details(self) -> dict:
        return self._out

    def _resize(self, n: int) -> None:
        if n != self._batch:
            shape = list(self._in["shape"])
            shape[0] = n
            self._it.resize_tensor_input(self._in["index"], shape)
            self._it.allocate_tensors()
            self._details()
            self._batch = n

    def _details(self) -> None:
        """The tensors' details, and what quantizing the input takes, read once per allocation
        (the kiosk reads one digit at a time: per call, these lookups were a tenth of its time)."""
        self._in = self._it.get_input_details()[0]
        self._out = self._it.get_output_details()[0]
        self._item_shape = tuple(int(v) for v in self._in["shape"][1:])
        dtype = np.dtype(self._in["dtype"])
        if dtype == np.float32:
            self._qin = None
        else:
            scale, zero = self._in["quantization"]
            info = np.iinfo(dtype)
            self._qin = (scale, zero, info.min, info.max, dtype)

    def _quantize(self, images: np.ndarray) -> np.ndarray:
        x = images.reshape((len(images), *self._item_shape))
        if self._qin is None:
            return x.astype(np.float32)
        scale, zero, lo, hi, dtype = self._qin
        # round(x / scale + zero) clipped, as before, in place: the same float32 operations, by
        # the ufuncs themselves (np.round and np.clip are Python wrappers around rint, maximum and
        # minimum: a few microseconds a call, which the kiosk pays for every digit).
        q = np.divide(x, scale)
        q += zero
        np.rint(q, out=q)
        np.maximum(q, lo, out=q)
        np.minimum(q, hi, out=q)
        return q.astype(dtype)

    @property
    def last_op(self) -> str | None:
        """The op that writes the output (e.g. "SOFTMAX"), None when the interpreter does not say."""
        return last_op(self._it)

    def predict(self, images: np.ndarray, batch_size: int = 256, temperature: float = 1.0) -> np.ndarray:
        """images (N, 28, 28) float in [0, 1] → probabilities (N, classes): 10, or 11 with "none";
        `temperature`: softmax(logits / T) (`outputs.to_probabilities`)."""
        raw = self.raw(images, batch_size)
        return to_probabilities(raw, self._out, self.output_kind, temperature)

    def raw(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """images (N, 28, 28) float in [0, 1] → the output tensor as the interpreter gave it
        (int8 scores or logits for an int8 model), (N, ...)."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 2:
            images = images[None]
        batch_size = min(batch_size, self.max_batch or batch_size)
        outs = []
        with self._lock:
            for start in range(0, len(images), batch_size):
                chunk = images[start : start + batch_size]
                self._resize(len(chunk))
                self._it.set_tensor(self._in["index"], self._quantize(chunk))
                self._it.invoke()
                outs.append(self._it.get_tensor(self._out["index"]))  # a copy of the tensor
        if len(outs) == 1:
            return outs[0]
        if not outs:
            return np.zeros((0, *(int(v) for v in self._out["shape"][1:])), self._out["dtype"])
        return np.concatenate(outs, axis=0)
