"""The stroke model beside the digit model on the pen path: the bundled strokenet loaded through
the verified path, the pair's reading, and every way a stroke model can be missing or refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from digitkiosk.device.cli import main as digitkiosk
from digitkiosk.device.errors import ModelError, SignatureError
from digitkiosk.device.package import BUNDLED, TrustPolicy
from digitkiosk.device.recognizer import Recognizer
from digitkiosk.device.stroke_reader import (
    combine,
    default_stroke_model_path,
    load_stroke_model,
    open_stroke_model,
)
from digitkiosk.device.strokes import parse_strokes

from tests.model_files import copy_package, edit_card

DEVELOPMENT = TrustPolicy(allow_unsigned=True)


@pytest.fixture(scope="module")
def stroke_model():
    return load_stroke_model(default_stroke_model_path(), policy=TrustPolicy(Path("/nonexistent")))


def _copy(tmp_path: Path) -> Path:
    return copy_package(default_stroke_model_path().with_suffix(".json"), tmp_path)


def test_bundled_stroke_model_is_pinned_and_self_tested(stroke_model):
    assert stroke_model.trust == BUNDLED
    assert 0.0 < stroke_model.pair_threshold < 1.0
    # The card says which digit model the pair's threshold was chosen with.
    assert stroke_model.card.data["pair"]["digit_model"]["name"] == "digitnet"


def test_combine_is_a_normalised_geometric_mean():
    a = np.array([[0.7, 0.3] + [0.0] * 8, [0.1] * 10], np.float32)
    b = np.array([[0.3, 0.7] + [0.0] * 8, [0.91] + [0.01] * 9], np.float32)
    out = combine(a, b)
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert np.isclose(out[0, 0], out[0, 1])  # each sure of another digit: the pair is not
    assert out[1].argmax() == 0
    # "none": the chance that it is a digit at all is the geometric mean of the two models'.
    with_none = np.array([[0.5, 0.1] + [0.0] * 8 + [0.4]], np.float32)
    out = combine(with_none, b[:1])
    assert out.shape == (1, 11) and np.isclose(out[0, 10], 1 - np.sqrt(0.6)) and np.isclose(out[0].sum(), 1.0)
    piece = np.array([[0.0, 0.1] + [0.0] * 8 + [0.9]], np.float32)  # the stroke model: a piece
    out = combine(a[:1], piece)
    assert np.isclose(out[0, 10], 1 - np.sqrt(0.1)) and out[0, :10].max() < 0.4


def test_pair_reads_held_out_unipen_writers_better_than_the_digit_model_alone(
    loaded_model, stroke_model, shared_data
):
    """The reason the stroke model exists, on writers neither model trained on (the UNIPEN
    validation writers of train/splits.py): the pair misses clearly fewer digits."""
    from digitkiosk.train.sources import validation_rows

    rows = [json.loads(line) for line in (shared_data / "unipen/train.jsonl").read_text().splitlines()]
    held = [r for r, v in zip(rows, validation_rows(rows), strict=True) if v][::2]
    alone, pair = Recognizer(loaded_model), Recognizer(loaded_model, stroke_model=stroke_model)
    right = {"alone": 0, "pair": 0}
    for r in held:
        strokes = parse_strokes(r["strokes"])
        right["alone"] += alone.read_strokes(strokes).best_text == str(r["label"])
        right["pair"] += pair.read_strokes(strokes).best_text == str(r["label"])
    assert right["pair"] > right["alone"] and right["pair"] / len(held) >= 0.985, right


def test_pair_keeps_multi_digit_numbers_and_taps(loaded_model, stroke_model, pendigits_train):
    pair = Recognizer(loaded_model, stroke_model=stroke_model)
    by_label = {}
    for r in pendigits_train:
        by_label.setdefault(r["label"], parse_strokes(r["strokes"]))
    one, seven = by_label[1], by_label[7]
    shift = max(float(s[:, 0].max()) for s in one) - min(float(s[:, 0].min()) for s in seven) + 60.0
    offset = np.array([shift, 0.0])
    reading = pair.read_strokes([*one, *[s + offset for s in seven]])
    assert reading.best_text == "17"
    tap = np.array([[900.0, 900.0]])
    assert pair.read_strokes([*by_label[3], tap]).best_text == "3"


def test_unsigned_stroke_model_is_refused_unless_in_development(tmp_path, caplog):
    card = _copy(tmp_path)
    edit_card(card, version="9.9.9")  # no longer the pinned card
    with pytest.raises(SignatureError):
        load_stroke_model(card, policy=TrustPolicy(tmp_path / "keys"))
    assert open_stroke_model(card, TrustPolicy(tmp_path / "keys")) is None
    assert "stroke model not used" in caplog.text
    assert load_stroke_model(card, policy=DEVELOPMENT).card.version == "9.9.9"


def test_stroke_model_card_must_match_the_device(tmp_path):
    card = _copy(tmp_path)
    edit_card(card, preprocessing="trajectory-32x3-v0")
    with pytest.raises(ModelError, match="input preparation"):
        load_stroke_model(card, policy=DEVELOPMENT)
    edit_card(
        card,
        preprocessing=json.loads(default_stroke_model_path().with_suffix(".json").read_text())[
            "preprocessing"
        ],
    )
    for bad in (None, "0.5", 0.0, 1.0):  # not a number, or no threshold at all (0 is the default)
        edit_card(card, reject_threshold=bad)
        with pytest.raises(ModelError, match="reject_threshold"):
            load_stroke_model(card, policy=DEVELOPMENT)


def test_a_digit_model_is_not_a_stroke_model(default_model_path):
    with pytest.raises(ModelError):
        load_stroke_model(default_model_path, policy=DEVELOPMENT)


def test_strokes_command_reads_with_and_without_the_stroke_model(
    tmp_path, monkeypatch, capsys, caplog, pendigits_train
):
    feed = tmp_path / "in.jsonl"
    rows = pendigits_train[:20]
    feed.write_text(
        "".join(json.dumps({"id": i, "strokes": r["strokes"]}) + "\n" for i, r in enumerate(rows))
    )
    answers = {}
    for setting in ("", "off", str(tmp_path / "missing.json")):
        monkeypatch.setenv("DIGITKIOSK_STROKE_MODEL", setting)
        assert digitkiosk(["strokes", "--json", str(feed)]) == 0
        captured = capsys.readouterr()
        answers[setting] = [json.loads(line).get("digit") for line in captured.out.splitlines()]
        assert "Traceback" not in captured.err
        # A missing stroke model is one warning (the CLI logs it to stderr); the digits still read.
        assert ("stroke model not used" in caplog.text) == setting.endswith("missing.json")
        caplog.clear()
    labels = [str(r["label"]) for r in rows]
    for got in answers.values():
        assert sum(a == b for a, b in zip(got, labels, strict=True)) >= 18


TFLITE_PY = Path(__file__).resolve().parent.parent / ".venv-tflite" / "bin" / "python"
TFLITE_SCRIPT = r"""
import json, sys
from digitkiosk.device.stroke_reader import default_stroke_model_path, load_stroke_model
from digitkiosk.device.strokes import parse_strokes
model = load_stroke_model(default_stroke_model_path(), backend="tflite-runtime")  # self-test too
rows = [json.loads(line) for line in open(sys.argv[1])]
print(json.dumps(model.probs([parse_strokes(r["strokes"]) for r in rows]).argmax(1).tolist()))
"""


def test_stroke_model_runs_in_tflite_runtime(stroke_model, pendigits_test, tmp_path):
    """The 32-bit boards' interpreter (tflite-runtime 2.14, numpy < 2, its own venv) loads the
    bundled stroke model through the verified path and reads as LiteRT does."""
    import os
    import subprocess

    if not TFLITE_PY.exists():
        if os.environ.get("DIGITKIOSK_REQUIRE_TFLITE_RUNTIME"):
            pytest.fail(".venv-tflite missing: the test setup (.ci/setup.sh dev) builds it")
        pytest.skip(".venv-tflite not built (run `make test`)")
    rows = pendigits_test[::35]
    feed = tmp_path / "rows.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = subprocess.run(
        [str(TFLITE_PY), "-c", TFLITE_SCRIPT, str(feed)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    ours = stroke_model.probs([parse_strokes(r["strokes"]) for r in rows]).argmax(1).tolist()
    assert theirs == ours
