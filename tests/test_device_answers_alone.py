"""The digit model answering alone (its partner models turned off) by its card's `answers_alone`
block: a temperature that divides its int8 logits' scale (bit-exact) and a threshold on the
calibrated confidence; the rules that decide where digits are keep its raw confidences."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from digitkiosk.device.errors import ModelCardError
from digitkiosk.device.loader import load_model
from digitkiosk.device.modelcard import read_card
from digitkiosk.device.outputs import (
    LOGITS,
    PROBABILITIES,
    softmax_float,
    softmax_quantized,
    to_probabilities,
)
from digitkiosk.device.package import TrustPolicy
from digitkiosk.device.recognizer import Recognizer
from digitkiosk.device.strokes import parse_strokes
from digitkiosk.train.calibrate import expected_calibration_error

from tests.model_files import copy_package, edit_card

DEVELOPMENT = TrustPolicy(Path("/nonexistent/trusted_keys"), allow_unsigned=True)
REPO = Path(__file__).resolve().parent.parent
CANDIDATE = REPO / "models" / "candidates" / "digitnet-2.0.0" / "digitnet.json"  # ends in SOFTMAX


@pytest.fixture(scope="module")
def validation(shared_data):
    """Validation digits (held-out writers and images, never a test split): the pendigits
    validation writers drawn as pictures and the ORAND validation images' digit crops."""
    from digitkiosk.train.sources import load_scans, pen_validation

    _, x_pen, y_pen = pen_validation(shared_data / "pendigits" / "train.jsonl")
    scans = load_scans(shared_data / "orand_car_a", 1)
    x = np.concatenate([x_pen, scans.x_val]).astype(np.float32) / 255.0
    return x, np.concatenate([y_pen, scans.y_val])


@pytest.fixture(scope="module")
def uncalibrated(tmp_path_factory, default_model_path):
    """The bundled digit model with its `answers_alone` block taken out (loaded in development)."""
    card = copy_package(default_model_path.with_suffix(".json"), tmp_path_factory.mktemp("raw"))
    data = json.loads(card.read_text())
    data.pop("answers_alone")
    card.write_text(json.dumps(data))
    return load_model(card, policy=DEVELOPMENT)


def test_a_temperature_divides_the_int8_logits_scale_bit_for_bit():
    scale, t = 0.030493376776576042, 0.5693
    q = np.random.default_rng(0).integers(-128, 128, (200, 10)).astype(np.int8)
    details = {"dtype": np.int8, "quantization": (scale, 0)}
    p = to_probabilities(q, details, LOGITS, t)
    assert np.array_equal(p, softmax_quantized(q, scale / t).astype(np.float32))
    assert np.abs(p - softmax_float(q * scale / t)).max() < 1e-6
    assert np.array_equal(p.argmax(axis=1), q.argmax(axis=1))  # the answer is unchanged
    assert np.array_equal(to_probabilities(q, details, LOGITS), to_probabilities(q, details, LOGITS, 1.0))
    with pytest.raises(ValueError, match="needs a model that outputs logits"):
        to_probabilities(q, details, PROBABILITIES, t)


def test_the_bundled_digit_model_alone_is_calibrated_on_validation_digits(
    loaded_model, uncalibrated, validation
):
    x, y = validation
    raw, alone = loaded_model.predict_probs_raw_and_alone(x)
    assert np.array_equal(raw, uncalibrated.predict_probs(x))
    assert np.array_equal(alone, loaded_model.predict_probs(x, alone=True))
    assert np.array_equal(raw.argmax(axis=1), alone.argmax(axis=1))
    before, after = expected_calibration_error(raw, y), expected_calibration_error(alone, y)
    assert before > 0.07 and after < 0.025, (before, after)
    # Its threshold answers about the digits the raw one did, no more often wrong.
    card = loaded_model.card
    assert card.alone_threshold != card.reject_threshold
    answered_raw, answered = (
        raw.max(axis=1) >= card.reject_threshold,
        alone.max(axis=1) >= card.alone_threshold,
    )
    assert abs(answered.mean() - answered_raw.mean()) < 0.01
    wrong = alone.argmax(axis=1) != y
    assert wrong[answered].mean() <= (raw.argmax(axis=1) != y)[answered_raw].mean() + 0.002


def test_pictures_read_alone_show_the_calibrated_confidence(loaded_model, uncalibrated, shared_data):
    """Without a paper model a picture's digits are answered by the calibrated confidence and
    threshold; where they are (segmentation's rules) is decided as before, on the raw ones."""
    from digitkiosk.device.imageio import read_image

    alone, raw = Recognizer(loaded_model), Recognizer(uncalibrated)
    assert alone.reject_threshold == loaded_model.card.alone_threshold
    assert raw.reject_threshold == loaded_model.card.reject_threshold
    from digitkiosk.train.splits import is_validation_scan

    files = [
        p for p in sorted((shared_data / "orand_car_a" / "train").glob("*.jpg")) if is_validation_scan(p.name)
    ][:12]
    assert len(files) == 12
    calibrated_shown = 0
    for path in files:
        image = read_image(path)
        a, r = alone.read_by_segmentation(image), raw.read_by_segmentation(image)
        assert a.best_text == r.best_text and len(a.digits) == len(r.digits)
        for da, dr in zip(a.digits, r.digits, strict=True):
            p = loaded_model.predict_probs(da.image[None], alone=True)[0]
            assert da.confidence == pytest.approx(float(p.max()), abs=1e-6)
            assert (da.digit is None) == (da.confidence < loaded_model.card.alone_threshold)
            calibrated_shown += da.confidence > dr.confidence
    assert calibrated_shown > 0  # under-confident alone: calibrated, its confidences rise


def test_pen_read_alone_groups_as_before_and_shows_the_calibrated_confidence(
    loaded_model, uncalibrated, pendigits_train
):
    from digitkiosk.train.sources import validation_rows

    rows = [r for r, held in zip(pendigits_train, validation_rows(pendigits_train), strict=True) if held][
        :150
    ]
    assert rows
    alone, raw = Recognizer(loaded_model), Recognizer(uncalibrated)
    rose = 0
    for row in rows:
        strokes = parse_strokes(row["strokes"])
        a, r = alone.read_strokes(strokes), raw.read_strokes(strokes)
        assert a.best_text == r.best_text and len(a.digits) == len(r.digits)  # grouped alike
        for d in a.digits:
            assert (d.digit is None) == (d.confidence < loaded_model.card.alone_threshold)
        rose += a.digits[0].confidence > r.digits[0].confidence
    assert rose > len(rows) // 2


@pytest.mark.parametrize(
    "block, message",
    [
        ({"temperature": 0.5}, "needs a temperature and a reject_threshold"),
        ({"temperature": "0.5", "reject_threshold": 0.7}, "needs a temperature and a reject_threshold"),
        ({"temperature": True, "reject_threshold": 0.7}, "needs a temperature and a reject_threshold"),
        ({"temperature": 0, "reject_threshold": 0.7}, "temperature must be within"),
        ({"temperature": 0.5, "reject_threshold": 1.0}, "within \\(0, 1\\)"),
        ("0.5", "needs a temperature and a reject_threshold"),
    ],
)
def test_a_bad_answers_alone_block_is_refused_in_one_line(tmp_path, default_model_path, block, message):
    card = copy_package(default_model_path.with_suffix(".json"), tmp_path)
    edit_card(card, answers_alone=block)
    with pytest.raises(ModelCardError, match=message) as e:
        read_card(card)
    assert "\n" not in str(e.value)


def test_answers_alone_needs_a_model_that_outputs_logits(tmp_path):
    folder = tmp_path / "c"
    shutil.copytree(CANDIDATE.parent, folder)
    edit_card(folder / CANDIDATE.name, answers_alone={"temperature": 0.5, "reject_threshold": 0.7})
    with pytest.raises(ModelCardError, match="'answers_alone' needs a model that outputs logits"):
        read_card(folder / CANDIDATE.name)


@pytest.mark.slow
def test_the_bundled_block_is_what_the_tool_fits_again(default_model_path, shared_data, tmp_path):
    """`train/answers_alone.py` on the bundled card: the same temperature and threshold as the
    card holds (the exact command in the README), the model file the same, the card loadable."""
    from digitkiosk.train.answers_alone import main

    card = default_model_path.with_suffix(".json")
    args = [str(card), "--version", "9.9.9", "--out", str(tmp_path), "--data", str(shared_data)]
    assert main(args) == 0
    new, old = json.loads((tmp_path / card.name).read_text()), json.loads(card.read_text())
    for key in ("temperature", "reject_threshold", "validation_coverage", "validation_error"):
        assert new["answers_alone"][key] == old["answers_alone"][key], key
    assert (tmp_path / old["file"]).read_bytes() == default_model_path.read_bytes()
    assert new["version"] == "9.9.9" and "answers_alone" in new["changes"]
    assert (
        load_model(tmp_path / card.name, policy=DEVELOPMENT).card.alone_threshold
        == old["answers_alone"]["reject_threshold"]
    )


def test_the_tool_refuses_a_model_without_logits_in_one_line(tmp_path, shared_data, capsys):
    from digitkiosk.train.answers_alone import main

    assert main([str(CANDIDATE), "--version", "1", "--out", str(tmp_path), "--data", str(shared_data)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("digitkiosk.train.answers_alone: ") and "\n" not in err
