"""Softmax outside the model (device/outputs.py): cards say what the output is, logits models get
the device's exact softmax, older softmax models keep loading, and a card that lies is refused."""

from __future__ import annotations

import decimal
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from digitkiosk.device.errors import ModelCardError, ModelShapeError, SelfTestFailedError
from digitkiosk.device.fileutil import sha256_bytes
from digitkiosk.device.loader import load_model
from digitkiosk.device.outputs import LOGITS, PROBABILITIES, output_kind, softmax_quantized
from digitkiosk.device.package import TrustPolicy

DEVELOPMENT = TrustPolicy(Path("/nonexistent/trusted_keys"), allow_unsigned=True)
REPO = Path(__file__).resolve().parent.parent
CANDIDATE = REPO / "models" / "candidates" / "digitnet-2.0.0" / "digitnet.json"  # ends in SOFTMAX


def _copy(card: Path, folder: Path, **changes) -> Path:
    """A model package copied with its card edited (digest and size kept right)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads(card.read_text())
    shutil.copy(card.parent / data["file"], folder / data["file"])
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    model = (folder / data["file"]).read_bytes()
    data["sha256"], data["size_bytes"] = sha256_bytes(model), len(model)
    out = folder / card.name
    out.write_text(json.dumps(data))
    return out


def test_output_kind_of_a_card():
    assert output_kind({}) == PROBABILITIES  # every card older than the field
    assert output_kind({"output_kind": "logits"}) == LOGITS
    with pytest.raises(
        ModelCardError, match=r"^card\.json: 'output_kind' must be one of logits, probabilities"
    ):
        output_kind({"output_kind": "softmax"}, "card.json")


def test_bundled_models_end_at_their_logits(loaded_model):
    assert loaded_model.card.output_kind == LOGITS
    assert loaded_model.runner.last_op == "FULLY_CONNECTED"
    card = json.loads((REPO / "models" / "linenet.json").read_text())
    assert card["output_kind"] == LOGITS


def test_softmax_of_int8_logits_is_the_decimal_one_bit_for_bit():
    scale = 0.030493376776576042  # digitnet 1.4.1's logits
    q = np.array([[90, 0, -5, 90, 12, -128, 127, 3, 3, 1], [-128] * 10], np.int8)
    p = softmax_quantized(q, scale)
    ctx = decimal.Context(prec=40)
    for row, probs in zip(q.astype(int), p, strict=True):
        e = [
            float(ctx.exp(ctx.multiply(decimal.Decimal(int(v) - int(row.max())), decimal.Decimal(scale))))
            for v in row
        ]
        total = 0.0
        for v in e:  # the same order of additions
            total += v
        assert probs.tolist() == [v / total for v in e]  # identical floats, not merely close
    assert np.allclose(p[0], np.exp(q[0] * scale) / np.exp(q[0] * scale).sum(), rtol=1e-12, atol=0)
    assert p[1].tolist() == [0.1] * 10
    # the zero point cancels: shifting every logit changes nothing
    assert np.array_equal(softmax_quantized(q.astype(int) + 7, scale), p)


def test_one_row_softmax_is_the_batch_softmax_bit_for_bit():
    """The kiosk's one digit at a time takes a pure-Python path; it must give the batch's bits."""
    rng = np.random.default_rng(3)
    for dtype, scale in ((np.int8, 0.030493376776576042), (np.int8, 0.06133794039487839), (np.uint8, 0.137)):
        info = np.iinfo(dtype)
        rows = rng.integers(info.min, info.max + 1, size=(400, 11)).astype(dtype)
        rows[:50, :] = rows[:50, :1]  # ties: every class alike
        batch = softmax_quantized(rows, scale)  # the array path (more than one row)
        for row, expected in zip(rows, batch, strict=True):
            one = softmax_quantized(row[None], scale)
            assert one.shape == (1, 11) and one.dtype == np.float64
            assert one[0].tobytes() == expected.tobytes()


def test_the_runners_quantization_is_round_half_to_even_and_clipped(loaded_model):
    runner = loaded_model.runner
    scale, zero = runner.input_details["quantization"]
    x = np.random.default_rng(4).uniform(-0.5, 1.5, size=(3, 28, 28)).astype(np.float32)
    x[0, 0, :4] = [0.0, 1.0, scale * 0.5, scale * 1.5]  # exact halves round to even
    expected = np.clip(np.round(x / np.float32(scale) + zero), -128, 127).astype(np.int8)
    assert np.array_equal(runner._quantize(x).reshape(3, 28, 28), expected)


def test_device_probabilities_are_within_half_a_step_of_the_int8_softmax(loaded_model, mnist_test):
    """What the reject threshold was chosen on (1.4.0's int8 softmax: steps of 1/256) against
    the device's softmax of the same logits: within 1/256 (measured 1/512)."""
    x, _ = mnist_test
    probs = loaded_model.predict_probs(x[:500] / 255.0)
    int8_softmax = np.clip(np.round(probs * 256), 0, 255) / 256  # the int8 softmax's grid
    assert np.abs(probs.sum(axis=1) - 1).max() < 1e-6
    assert np.abs(probs - int8_softmax).max() <= 1 / 512 + 1e-7


def test_a_softmax_model_whose_card_has_no_output_kind_still_loads(tmp_path, mnist_test):
    """The candidates (and every older or signed model) say nothing: probabilities."""
    model = load_model(_copy(CANDIDATE, tmp_path / "c"), policy=DEVELOPMENT)
    assert model.card.output_kind == PROBABILITIES and model.runner.last_op == "SOFTMAX"
    x, y = mnist_test
    probs = model.predict_probs(x[:300] / 255.0)
    assert np.abs(probs.sum(axis=1) - 1).max() < 0.05
    assert (probs.argmax(axis=1) == y[:300]).mean() > 0.97


def test_a_card_saying_logits_on_a_softmax_model_is_refused(tmp_path):
    card = _copy(CANDIDATE, tmp_path / "c", output_kind="logits")
    with pytest.raises(
        ModelShapeError, match="its card says the output is logits, but the model ends in a SOFTMAX"
    ):
        load_model(card, policy=DEVELOPMENT)


def test_a_logits_model_whose_card_says_probabilities_fails_its_self_test(tmp_path, default_model_path):
    # (its `answers_alone` taken out too: a card that says probabilities cannot hold a temperature)
    card = _copy(
        default_model_path.with_suffix(".json"), tmp_path / "b", output_kind=None, answers_alone=None
    )
    with pytest.raises(SelfTestFailedError, match="does not output probabilities"):
        load_model(card, policy=DEVELOPMENT)


def test_a_card_with_an_unknown_output_kind_is_refused_in_one_line(tmp_path, default_model_path):
    card = _copy(default_model_path.with_suffix(".json"), tmp_path / "b", output_kind="scores")
    with pytest.raises(ModelCardError, match="'output_kind' must be one of") as e:
        load_model(card, policy=DEVELOPMENT)
    assert "\n" not in str(e.value)


def test_strip_softmax_keeps_the_logits_bit_for_bit(mnist_test):
    """The trainer's export and the re-issue of 1.4.0 as 1.4.1: the stripped model's output is
    exactly the softmax model's logits (the SOFTMAX's input), and refuses a model without one."""
    pytest.importorskip("tensorflow")
    from ai_edge_litert.interpreter import Interpreter
    from digitkiosk.train.errors import DataError
    from digitkiosk.train.export import strip_softmax

    original = (CANDIDATE.parent / "digitnet.tflite").read_bytes()
    stripped = strip_softmax(original)
    x = (mnist_test[0][:200].astype(np.int16) - 128).astype(np.int8)[..., None]

    def run(data: bytes) -> tuple[np.ndarray, np.ndarray]:
        it = Interpreter(model_content=data, num_threads=1)
        d = it.get_input_details()[0]
        it.resize_tensor_input(d["index"], [len(x), 28, 28, 1])
        it.allocate_tensors()
        it.set_tensor(d["index"], x)
        it.invoke()
        out = it.get_output_details()[0]["index"]
        last = [o for o in it._get_ops_details() if out in o["outputs"] and o["op_name"] != "DELEGATE"][-1]
        return it.get_tensor(out).copy(), it.get_tensor(int(last["inputs"][0])).copy()

    _, logits = run(original)
    output, _ = run(stripped)
    assert np.array_equal(output, logits)
    with pytest.raises(DataError, match="does not end in a SOFTMAX"):
        strip_softmax(stripped)
