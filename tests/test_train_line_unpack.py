"""A shipped int8 line model read back as float Keras members (`train/line_unpack.py`), so that an
ensemble can grow after its members' `.keras` files are gone: on real validation fields the
unpacked members answer what the int8 file answers, their weights quantize back to the file's own
int8 values, and a file that is not a line model is one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from digitkiosk.device.backends import get_backend
from digitkiosk.device.outputs import LOGITS
from digitkiosk.device.runner import Runner
from digitkiosk.train import line_ensemble
from digitkiosk.train.line_data import load_fields, prepared
from digitkiosk.train.line_unpack import LAYERS, UnpackError, convolutions, members_from_tflite

from .conftest import REPO

MODELS_DIR = REPO / "models"
LINE_MODEL = MODELS_DIR / "linenet.tflite"


def _int8_logits(path: Path, x: np.ndarray) -> np.ndarray:
    """The file's own answer through the device's runner, dequantized: (fields, members, steps, labels)."""
    runner = Runner(get_backend("auto").interpreter(path.read_bytes()), LOGITS)
    scale, zero = runner.output_details["quantization"]
    return (runner.raw(x).astype(np.float32) - zero) * scale


def test_the_unpacked_members_answer_what_the_int8_file_answers(shared_data: Path):
    members = members_from_tflite(LINE_MODEL)
    _, validation = load_fields(shared_data / "orand_car_a")
    x = prepared(validation[:24]).astype(np.float32)[..., None] / 255.0
    unpacked = np.stack([m(x, training=False).numpy() for m in members], axis=1)
    int8 = _int8_logits(LINE_MODEL, x)
    assert unpacked.shape == int8.shape == (24, 12, 40, 11)  # linenet 1.3.0: every member, both jobs
    # The same labels step by step, but for the int8 file's rounding of its activations.
    assert (unpacked.argmax(-1) == int8.argmax(-1)).mean() > 0.99
    assert np.abs(unpacked - int8).mean() < 0.05 * np.abs(int8).mean()
    # Twelve different nets, two widths: not one member read twelve times.
    assert len({round(float(unpacked[:, k].sum()), 3) for k in range(12)}) == 12
    assert {m.get_layer("conv1").kernel.shape[-1] for m in members} == {12, 16}


def test_the_weights_quantize_back_to_the_files_own_values():
    """Exported again, each kernel's per-channel scale (its largest value over 127) is the one
    the file holds, so the members lose nothing more by being unpacked and packed again."""
    interpreter = get_backend("auto").interpreter(LINE_MODEL.read_bytes())
    interpreter.allocate_tensors()
    stored = {
        t["name"]: interpreter.get_tensor(t["index"])
        for t in interpreter.get_tensor_details()
        if t["name"].endswith("/convolution") and t["dtype"] == np.int8
    }
    member = convolutions(LINE_MODEL)[1]
    assert set(member) == set(LAYERS)
    for layer, (kernel, _) in member.items():
        scale = np.abs(kernel).max(axis=(0, 1, 2)) / 127.0
        again = np.rint(kernel / scale).astype(np.int8).transpose(3, 0, 1, 2)
        original = [v for name, v in stored.items() if f"member1_1/{layer}_1/" in name]
        assert len(original) == 1 and np.array_equal(again, original[0]), layer


def test_a_file_that_is_not_a_line_model_is_one_line(tmp_path: Path, capsys):
    with pytest.raises(UnpackError, match="not a line model"):
        convolutions(MODELS_DIR / "digitnet.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model at all")
    for path in (MODELS_DIR / "digitnet.tflite", junk):
        assert line_ensemble.main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("digitkiosk-train: error:") == 2 and "Traceback" not in err
    assert not (tmp_path / "out").exists()
