"""Verified model loading on the real bundled model through the real interpreter: every refusal
has its own message, a refused model never reaches an interpreter again, and a model file
mutated hundreds of ways is never loaded and never crashes the process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from digitkiosk.device import loader
from digitkiosk.device.errors import (
    ChecksumMismatchError,
    ModelCardError,
    ModelError,
    ModelMissingError,
    ModelShapeError,
    NotATFLiteModelError,
    SelfTestFailedError,
)
from digitkiosk.device.fileutil import sha256_bytes
from digitkiosk.device.loader import load_model as _load_model
from digitkiosk.device.package import TrustPolicy

# These tests edit cards to reach the checks after trust; trust has its own tests
# (tests/deploy/test_trust_*.py), so unsigned models are allowed here (development mode).
DEVELOPMENT = TrustPolicy(Path("/nonexistent/trusted_keys"), allow_unsigned=True)


def load_model(path, **kwargs):
    return _load_model(path, policy=DEVELOPMENT, **kwargs)


def rewrite_card(model: Path, **changes) -> None:
    card_path = model.with_suffix(".json")
    card = json.loads(card_path.read_text())
    data = model.read_bytes()
    card["sha256"], card["size_bytes"] = sha256_bytes(data), len(data)
    for key, value in changes.items():
        card[key] = value
    card_path.write_text(json.dumps(card))


def test_bundled_model_loads_and_reads_digits(loaded_model, mnist_test):
    assert loaded_model.card.name == "digitnet"
    assert loaded_model.selftest_accuracy >= 0.9
    x, y = mnist_test
    acc = (loaded_model.predict_probs(x[:1000] / 255.0).argmax(1) == y[:1000]).mean()
    assert acc > 0.98


def test_default_path_needs_no_argument(default_model_path):
    assert default_model_path.name == "digitnet.tflite" and default_model_path.is_file()
    assert default_model_path.with_suffix(".json").is_file()


def test_load_by_card_path(model_copy):
    assert load_model(model_copy.with_suffix(".json")).card.version


def test_missing_model_and_card(tmp_path, model_copy):
    with pytest.raises(ModelMissingError, match="model card not found"):
        load_model(tmp_path / "nothing.tflite")
    model_copy.unlink()
    with pytest.raises(ModelMissingError, match="model file not found"):
        load_model(model_copy)


def test_checksum_mismatch(model_copy):
    data = bytearray(model_copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    model_copy.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match="checksum mismatch"):
        load_model(model_copy)


def test_size_mismatch(model_copy):
    model_copy.write_bytes(model_copy.read_bytes() + b"\0")
    with pytest.raises(ChecksumMismatchError, match="size mismatch"):
        load_model(model_copy)


def test_not_a_tflite_model(model_copy):
    model_copy.write_bytes(b"PNG\x89 certainly not a flatbuffer" * 10)
    rewrite_card(model_copy)
    with pytest.raises(NotATFLiteModelError, match="not a TFLite model"):
        load_model(model_copy)


def test_bad_card(model_copy):
    card = model_copy.with_suffix(".json")
    card.write_text("{not json")
    with pytest.raises(ModelCardError, match="not valid JSON"):
        load_model(model_copy)
    card.write_text(json.dumps({"name": "x"}))
    with pytest.raises(ModelCardError, match="lacks 'version'"):
        load_model(model_copy)


def test_card_cannot_point_outside_its_folder(model_copy):
    rewrite_card(model_copy, file="../../etc/passwd")
    with pytest.raises(ModelCardError, match="file name beside the card"):
        load_model(model_copy)


def test_shape_mismatch(model_copy):
    card = json.loads(model_copy.with_suffix(".json").read_text())
    card["input"]["shape"] = [1, 32, 32, 1]
    model_copy.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelShapeError, match="shape mismatch"):
        load_model(model_copy)


def test_quantization_mismatch(model_copy):
    card = json.loads(model_copy.with_suffix(".json").read_text())
    card["input"]["quantization"]["zero_point"] += 3
    model_copy.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelShapeError, match="quantization mismatch"):
        load_model(model_copy)


@pytest.fixture(scope="module")
def untrained_model(tmp_path_factory) -> Path:
    """A real, well-formed int8 model with the right tensors but untrained weights, exported as
    the trainer exports (ending at its logits, like the bundled model)."""
    import keras
    from digitkiosk.train.export import convert, strip_softmax
    from digitkiosk.train.model import build_model

    keras.utils.set_random_seed(0)
    d = tmp_path_factory.mktemp("untrained")
    rng = np.random.default_rng(0)
    data = strip_softmax(convert(build_model(), rng.integers(0, 255, (50, 28, 28), dtype=np.uint8)))
    (d / "untrained.tflite").write_bytes(data)
    return d / "untrained.tflite"


def test_self_test_refuses_untrained_model_and_never_retries(
    untrained_model, default_model_path, tmp_path, monkeypatch
):
    model = tmp_path / untrained_model.name
    shutil.copy(untrained_model, model)
    card = json.loads(default_model_path.with_suffix(".json").read_text())
    it = loader.get_backend("litert").interpreter(model.read_bytes())
    it.allocate_tensors()
    for key, details in (("input", it.get_input_details()[0]), ("output", it.get_output_details()[0])):
        card[key]["shape"] = [int(v) for v in details["shape"]]
        card[key]["quantization"] = {
            "scale": float(details["quantization"][0]),
            "zero_point": int(details["quantization"][1]),
        }
    card["file"] = model.name
    card["labels"] = card["labels"][: card["output"]["shape"][-1]]  # whichever model is bundled
    model.with_suffix(".json").write_text(json.dumps(card))
    rewrite_card(model)
    with pytest.raises(SelfTestFailedError, match="self-test failed"):
        load_model(model)
    # Refused once: never handed to an interpreter again in this process, even from another path.
    calls = []
    monkeypatch.setattr(loader, "_build", lambda *a, **k: calls.append(a))
    other = tmp_path / "again"
    other.mkdir()
    shutil.copy(model, other / model.name)
    shutil.copy(model.with_suffix(".json"), other / model.with_suffix(".json").name)
    with pytest.raises(ModelError, match="refused earlier in this process"):
        load_model(other / model.name)
    assert calls == []


FUZZ = r"""
import json, random, sys, shutil
from pathlib import Path
import numpy as np
from digitkiosk.device.loader import load_model, selftest_digits
from digitkiosk.device.errors import DigitkioskError
from digitkiosk.device.fileutil import sha256_bytes
from digitkiosk.device.package import TrustPolicy
src, work = Path(sys.argv[1]), Path(sys.argv[2])
count, seed, rehash = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
development = TrustPolicy(Path("/nonexistent/trusted_keys"), allow_unsigned=True)
images, labels = selftest_digits()
rng = random.Random(seed)
original = src.read_bytes()
card = json.loads(src.with_suffix(".json").read_text())
tried = loaded = refused = 0
worst = 1.0
for i in range(count):
    data = bytearray(original)
    kind = rng.choice(["flip", "byte", "truncate", "insert", "zero-run", "header"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "byte":
        data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == "truncate":
        data = data[: rng.randrange(len(data))]
    elif kind == "insert":
        p = rng.randrange(len(data)); data[p:p] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif kind == "zero-run":
        p = rng.randrange(len(data)); data[p : p + rng.randint(4, 256)] = b"\0" * 256
    else:
        data[rng.randrange(min(64, len(data)))] = rng.randrange(256)
    if bytes(data) == original:
        continue
    tried += 1
    d = work / f"m{i}"; d.mkdir()
    (d / src.name).write_bytes(bytes(data))
    c = dict(card)
    if rehash:  # a consistent card: the mutation reaches the flatbuffer verifier and the self-test
        c["sha256"], c["size_bytes"] = sha256_bytes(bytes(data)), len(data)
    (d / src.with_suffix(".json").name).write_text(json.dumps(c))
    try:
        m = load_model(d / src.name, policy=development)
    except DigitkioskError:
        refused += 1
    else:
        # Measured here, not taken from the loader: a model that loads reads real digits.
        accuracy = float((m.predict_probs(images / 255.0).argmax(1) == labels).mean())
        worst = min(worst, accuracy)
        loaded += 1
    shutil.rmtree(d)
print(json.dumps({"tried": tried, "loaded": loaded, "refused": refused, "worst_loaded_accuracy": worst}))
"""


def _fuzz(default_model_path: Path, tmp_path: Path, count: int, rehash: bool) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            FUZZ,
            str(default_model_path),
            str(tmp_path),
            str(count),
            "7",
            "1" if rehash else "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # A crash (segfault, abort) would show as a negative return code.
    assert out.returncode == 0, (out.returncode, out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_tampered_models_are_never_loaded(default_model_path, tmp_path):
    result = _fuzz(default_model_path, tmp_path, 300, rehash=False)
    assert result["tried"] >= 290 and result["refused"] == result["tried"] and result["loaded"] == 0


@pytest.mark.slow
def test_corrupt_but_consistent_models_never_crash(default_model_path, tmp_path):
    """Mutations with a matching card reach the interpreter's verifier and the self-test: the
    process survives them all, and anything that loads has passed the self-test."""
    result = _fuzz(default_model_path, tmp_path, 200, rehash=True)
    # Every mutation was tried to the end (none skipped by an exception of another kind), the
    # checks refused some, and whatever loaded reads the shipped digits as the self-test demands.
    assert result["tried"] >= 190 and result["loaded"] + result["refused"] == result["tried"]
    assert result["refused"] > 0 and result["worst_loaded_accuracy"] >= 0.9
