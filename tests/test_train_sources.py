"""Training sources beside MNIST (train/sources.py, train/splits.py) and the temperature
calibration (train/calibrate.py), on the real shared data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from digitkiosk.train.calibrate import expected_calibration_error, fit_temperature, nll
from digitkiosk.train.errors import DataError
from digitkiosk.train.sources import crop_box, load_pen, parse_source, pen_validation, scan_annotations
from digitkiosk.train.splits import is_validation_scan, is_validation_writer, pen_writer


def _every(path, n: int, out):
    """Every n-th record of a pen file (every writer still present, rendering n times faster)."""
    rows = [json.loads(line) for line in path.open()][::n]
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out, rows


def test_unipen_is_split_by_person_not_by_file(shared_data, tmp_path):
    path, rows = _every(shared_data / "unipen" / "train.jsonl", 8, tmp_path / "unipen.jsonl")
    src = load_pen(path, repeat=2)
    held = {pen_writer(r) for r in rows if is_validation_writer(r)}
    trained = {pen_writer(r) for r in src.records}
    # A person with several files ("app/app12/app1202", "app/app12/app1203") is on one side only.
    assert held and trained and not held & trained
    assert src.val_units == len(held) and src.train_units == len(trained)
    assert len(src.y_train) + len(src.y_val) == len(rows)
    assert 0.1 < len(src.y_val) / len(rows) < 0.3
    assert src.x_train.shape[1:] == (28, 28) and src.x_train.dtype == np.uint8
    entry = src.card_entry()
    assert entry["name"] == "unipen" and len(entry["sha256"]) == 64 and entry["repeat"] == 2


def test_pendigits_holds_out_fewer_writers_and_no_hold_out_trains_on_all(shared_data, tmp_path):
    path, _ = _every(shared_data / "pendigits" / "train.jsonl", 25, tmp_path / "pendigits.jsonl")
    src = load_pen(path, repeat=1)
    assert 2 <= src.val_units <= 6 and src.train_units + src.val_units == 30
    everything = load_pen(path, repeat=1, hold_out=False)
    assert len(everything.y_val) == 0 and everything.train_units == 30
    # The held-out writers alone (the gate, the pairs' validation), rendered without the rest.
    name, x, y = pen_validation(path)
    assert name == src.name and np.array_equal(x, src.x_val) and np.array_equal(y, src.y_val)


def test_the_split_does_not_depend_on_anything_but_the_name():
    a = {"writer": "app/app12/app1202"}
    b = {"writer": "app/app12/app1299"}
    assert is_validation_writer(a) == is_validation_writer(b)
    assert is_validation_scan("x.jpg") == is_validation_scan("x.jpg")


def test_scan_boxes_read_left_to_right_and_crop_within_the_image(shared_data):
    _, images = scan_annotations(shared_data / "orand_car_a")
    assert len(images) == 1080
    im = images[0]
    lefts = [b[0] for b in im["boxes"]]
    assert lefts == sorted(lefts) and len(im["labels"]) == len(im["boxes"]) >= 1
    gray = np.zeros((40, 100), np.uint8)
    assert crop_box(gray, [0, 0, 10, 10]).shape == (12, 12)  # margin cut by the edge
    assert crop_box(gray, [95, 30, 10, 20]).shape == (12, 7)
    assert 150 < sum(is_validation_scan(i["file"]) for i in images) < 280


def test_bad_sources_are_one_line_errors(tmp_path):
    assert parse_source("a.jsonl:3", 2) == ("a.jsonl", 3)
    assert parse_source("a.jsonl", 2) == ("a.jsonl", 2)
    with pytest.raises(DataError):
        parse_source("a.jsonl:0", 2)
    with pytest.raises(DataError, match="not found"):
        load_pen(tmp_path / "missing.jsonl", 1)
    bad = tmp_path / "train.json"
    bad.write_text('{"images": [{"id": 1}]}')
    with pytest.raises(DataError, match="malformed"):
        scan_annotations(tmp_path)


def test_temperature_fit_recovers_the_temperature_that_made_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(4000, 10))
    # Labels drawn from softmax(logits / 2): the logits are twice too confident.
    p = np.exp(logits / 2.0)
    p /= p.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(10, p=row) for row in p])
    t = fit_temperature(logits, y)
    assert 1.8 < t < 2.2
    assert nll(logits, y, t) < nll(logits, y, 1.0)
    sharp = np.exp(logits)
    sharp /= sharp.sum(axis=1, keepdims=True)
    assert expected_calibration_error(p, y) < expected_calibration_error(sharp, y)


def test_calibration_folds_into_the_model_without_changing_its_answers():
    keras = pytest.importorskip("keras")
    from digitkiosk.train.calibrate import calibrate
    from digitkiosk.train.model import build_model

    keras.utils.set_random_seed(0)
    model = build_model((4, 4, 4, 4, 4), head="gap")
    x = np.random.default_rng(1).random((64, 28, 28, 1)).astype(np.float32)
    y = np.random.default_rng(2).integers(0, 10, 64)
    before = model.predict(x, verbose=0)
    info = calibrate(model, x, y)
    after = model.predict(x, verbose=0)
    assert (before.argmax(1) == after.argmax(1)).all()
    assert info["nll_after"] <= info["nll_before"] + 1e-6
    if abs(info["temperature"] - 1.0) > 0.05:
        assert not np.allclose(before, after, atol=1e-4)
