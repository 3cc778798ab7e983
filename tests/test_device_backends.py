"""Backends chosen by name: `litert-ref` is LiteRT with its reference kernels, a real interpreter;
tflite-runtime is invoked one digit at a time (its batched kernel differs on arm64, tests/arm64)."""

from __future__ import annotations

import numpy as np
import pytest
from digitkiosk.device.backends import CHOICES, get_backend
from digitkiosk.device.loader import load_model, selftest_digits

pytest.importorskip("ai_edge_litert")


def _int8_scores(backend: str) -> np.ndarray:
    model = load_model(backend=backend, num_threads=1)  # the verified path, self-test included
    it = get_backend(backend).interpreter(model.path.read_bytes(), num_threads=1)
    images = selftest_digits()[0]
    details = it.get_input_details()[0]
    it.resize_tensor_input(details["index"], [len(images), *details["shape"][1:]])
    it.allocate_tensors()
    x = (images.astype(np.int16) - 128).astype(np.int8)  # scale 1/255, zero point -128
    it.set_tensor(details["index"], x.reshape(len(images), 28, 28, 1))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).astype(int)


def test_litert_ref_is_a_backend_chosen_by_name():
    assert "litert-ref" in CHOICES
    backend = get_backend("litert-ref")
    assert (backend.name, backend.op_resolver) == ("litert-ref", "BUILTIN_REF")
    assert get_backend("litert").op_resolver is None  # the default keeps XNNPACK
    model = load_model(backend="litert-ref", num_threads=1)
    assert model.backend == "litert-ref" and model.selftest_accuracy >= 0.9


def test_litert_ref_runs_other_kernels_than_the_default():
    """The option takes effect: XNNPACK's int8 arithmetic rounds differently from the reference
    kernels (some of the 50 self-test digits get logits 1 step apart), the digits agree."""
    ref, default = _int8_scores("litert-ref"), _int8_scores("litert")
    assert (ref != default).any()
    assert np.abs(ref - default).max() <= 2
    assert (ref.argmax(1) == default.argmax(1)).all()


def test_tflite_runtime_invokes_one_digit_at_a_time():
    """Its batched dense layer gives other logits on arm64 (README, "arm64"): the device's runner
    invokes it with one digit per call, and a runner limited so gives what a batch gives here."""
    from digitkiosk.device.backends import BACKENDS
    from digitkiosk.device.runner import Runner

    assert BACKENDS["tflite-runtime"].max_batch == 1 and BACKENDS["litert"].max_batch is None
    data = load_model(backend="litert", num_threads=1).path.read_bytes()
    sizes: list[int] = []

    class Recording:
        def __init__(self, it) -> None:
            self._it = it

        def __getattr__(self, name):
            return getattr(self._it, name)

        def set_tensor(self, index, value) -> None:
            sizes.append(len(value))
            self._it.set_tensor(index, value)

    images = selftest_digits()[0][:7].astype(np.float32) / 255.0
    one = Runner(Recording(get_backend("litert").interpreter(data)), "logits", max_batch=1).raw(images)
    assert sizes == [1] * 7
    batched = Runner(get_backend("litert").interpreter(data), "logits").raw(images)
    assert np.array_equal(one, batched)
