"""The paper model for pictures, with the digit model as partner where it is unsure: the bundled
papernet loaded through the verified path, the pair's reading, what reads with it and what does
not, and every way a paper model can be missing or refused."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from digitkiosk.device.cli import main as digitkiosk
from digitkiosk.device.errors import ModelError, SignatureError
from digitkiosk.device.package import BUNDLED, TrustPolicy
from digitkiosk.device.paper_reader import (
    PaperModel,
    default_paper_model_path,
    load_paper_model,
    open_paper_model,
    pair_probs,
)
from digitkiosk.device.recognizer import Recognizer
from digitkiosk.device.settings import Settings
from digitkiosk.device.stroke_reader import combine

from tests.model_files import copy_package, edit_card

DEVELOPMENT = TrustPolicy(allow_unsigned=True)


@pytest.fixture(scope="module")
def paper_model():
    return load_paper_model(default_paper_model_path(), policy=TrustPolicy(Path("/nonexistent")))


@pytest.fixture(scope="module")
def orand_validation(shared_data):
    """The ORAND validation images' digits, cut and prepared by the device (train/sources.py)."""
    from digitkiosk.train.sources import load_scans

    scans = load_scans(shared_data / "orand_car_a", 1)
    return scans.x_val.astype(np.float32) / 255.0, scans.y_val


def _copy(tmp_path: Path) -> Path:
    return copy_package(default_paper_model_path().with_suffix(".json"), tmp_path)


def test_bundled_paper_model_is_pinned_and_names_its_partner(paper_model, loaded_model):
    assert paper_model.model.trust == BUNDLED
    assert 0.0 < paper_model.pair_threshold < 1.0 and 0.0 < paper_model.gate <= 1.01
    # Chosen with the bundled digit model, so it pairs with it.
    assert paper_model.partner_sha256 == loaded_model.sha256 and paper_model.pairs_with(loaded_model)


def test_pair_probs_asks_the_partner_once_for_the_unsure_rows_only():
    sure = [0.95] + [0.05 / 9] * 9
    unsure = [0.5, 0.4] + [0.1 / 8] * 8
    paper = np.array([sure, unsure, sure, unsure], np.float32)
    partner = np.array(
        [[0.1] * 10, [0.2, 0.7] + [0.1 / 8] * 8, [0.1] * 10, [0.9] + [0.1 / 9] * 9], np.float32
    )
    asked = []

    def read(rows):
        asked.append(rows.tolist())
        return partner[rows]

    out, partnered = pair_probs(paper, read, 0.7)
    assert asked == [[1, 3]] and partnered.tolist() == [False, True, False, True]
    assert np.array_equal(out[[0, 2]], paper[[0, 2]])  # sure rows: the paper model's own answer
    assert np.allclose(out[[1, 3]], combine(paper[[1, 3]], partner[[1, 3]]))
    assert out[1].argmax() == 1 and out[3].argmax() == 0  # the partner tipped them
    asked.clear()
    out, partnered = pair_probs(paper[[0]], read, 0.7)
    assert asked == [] and not partnered.any() and np.array_equal(out, paper[[0]])


def test_pictures_read_by_the_paper_model_and_its_partner(paper_model, loaded_model, orand_validation):
    """The reason the paper model exists, on real scanned digits of cheque images neither model
    trained on (the ORAND validation images): the digit model alone reads about 92% of them."""
    x, y = orand_validation
    alone = Recognizer(loaded_model)
    paired = Recognizer(loaded_model, paper_model=paper_model)
    top = lambda r: [d.top3[0][0] for d in r.classify(x)]  # noqa: E731
    right_alone = float(np.mean(np.array(top(alone)) == y))
    right_paired = float(np.mean(np.array(top(paired)) == y))
    assert right_paired >= 0.97 and right_paired > right_alone + 0.03, (right_alone, right_paired)
    assert paired.reject_threshold == paper_model.pair_threshold
    # classify(paper=False): the digit model's raw reading, with or without a paper model; the
    # recognizer without one answers the same digits, by their calibrated confidence.
    raw = paired.classify(x[:50], paper=False)
    assert [d.to_json() for d in raw] == [d.to_json() for d in alone.classify(x[:50], paper=False)]
    assert [d.top3[0][0] for d in alone.classify(x[:50])] == [d.top3[0][0] for d in raw]


def test_with_another_digit_model_the_paper_model_reads_alone(paper_model, loaded_model, caplog):
    other = PaperModel(paper_model.model, paper_model.gate, paper_model.pair_threshold, "0" * 64)
    images = np.random.default_rng(0).random((4, 28, 28)).astype(np.float32)  # unsure: noise
    with caplog.at_level(logging.WARNING):
        probs, threshold = other.read(images, loaded_model)
        other.read(images, loaded_model)
    assert threshold == paper_model.card.reject_threshold
    assert np.array_equal(probs, paper_model.model.predict_probs(images))
    assert caplog.text.count("reads alone") == 1  # said once, not per picture


def test_a_paper_card_needs_its_pair_block(tmp_path, default_model_path, caplog):
    card = _copy(tmp_path)
    data = json.loads(card.read_text())
    pair = data.pop("pair")
    card.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="no 'pair' block"):
        load_paper_model(card, policy=DEVELOPMENT)
    for bad in (
        {**pair, "reject_threshold": 1.0},
        {**pair, "read_with_partner_below": "0.7"},
        {**pair, "partner": {}},
    ):
        edit_card(card, pair=bad)
        with pytest.raises(ModelError, match="'pair' needs"):
            load_paper_model(card, policy=DEVELOPMENT)
    with pytest.raises(ModelError, match="no 'pair' block"):  # a digit model is not a paper model
        load_paper_model(default_model_path, policy=DEVELOPMENT)
    assert open_paper_model(card, DEVELOPMENT) is None and "paper model not used" in caplog.text


def test_unsigned_paper_model_is_refused_unless_in_development(tmp_path, caplog):
    card = _copy(tmp_path)
    edit_card(card, version="9.9.9")  # no longer the pinned card
    with pytest.raises(SignatureError):
        load_paper_model(card, policy=TrustPolicy(tmp_path / "keys"))
    assert open_paper_model(card, TrustPolicy(tmp_path / "keys")) is None
    assert "paper model not used" in caplog.text
    assert load_paper_model(card, policy=DEVELOPMENT).card.version == "9.9.9"


def test_setting_names_or_turns_off_the_paper_model():
    assert Settings.resolve({}).pictures_by_paper_model and Settings.resolve({}).paper_model is None
    off = Settings.resolve({"DIGITKIOSK_PAPER_MODEL": "off"})
    assert not off.pictures_by_paper_model
    named = Settings.resolve({"DIGITKIOSK_PAPER_MODEL": "/m/papernet.json"})
    assert named.paper_model == Path("/m/papernet.json") and named.pictures_by_paper_model


def _crops(shared_data: Path, tmp_path: Path, count: int) -> tuple[list[str], list[str]]:
    """Real digits cut from ORAND validation images, written as PNG files (and their labels)."""
    from digitkiosk.train.sources import crop_box, scan_amounts
    from digitkiosk.train.splits import is_validation_scan

    files, labels = [], []
    for path, _, boxes in scan_amounts(shared_data / "orand_car_a"):
        if not is_validation_scan(path.name):
            continue
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        for box, digit in boxes:
            files.append(str(tmp_path / f"{len(files):03d}.png"))
            cv2.imwrite(files[-1], crop_box(gray, box))
            labels.append(str(digit))
        if len(files) >= count:
            return files, labels
    return files, labels


def test_predict_single_reads_with_the_paper_model_unless_off(
    shared_data, tmp_path, monkeypatch, capsys, caplog
):
    files, labels = _crops(shared_data, tmp_path, 120)
    right = {}
    for setting in ("", "off", str(tmp_path / "missing.json")):
        monkeypatch.setenv("DIGITKIOSK_PAPER_MODEL", setting)
        assert digitkiosk(["predict", "--single", "--json", *files]) == 0
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        tops = [json.loads(line)["digits"][0]["top3"][0][0] for line in captured.out.splitlines()]
        right[setting] = sum(str(t) == label for t, label in zip(tops, labels, strict=True))
        # A missing paper model is one warning; the pictures still read, by the digit model.
        assert ("paper model not used" in caplog.text) == setting.endswith("missing.json")
        caplog.clear()
    assert right[""] > right["off"] == right[str(tmp_path / "missing.json")], right


def test_fields_are_read_as_without_the_paper_model(shared_data, monkeypatch, capsys):
    """A field (a cheque's amount) is read by the line model and by segmentation with the digit
    model (line_reader.read_field: its rule was chosen on the digit model's confidences), so the
    paper model changes none of its answers; with the line model off it reads the segments."""
    from digitkiosk.train.splits import is_validation_scan

    images = sorted(p for p in (shared_data / "orand_car_a").rglob("*.jpg") if is_validation_scan(p.name))[
        :25
    ]
    out = {}
    for setting in ("", "off"):
        monkeypatch.setenv("DIGITKIOSK_PAPER_MODEL", setting)
        assert digitkiosk(["predict", "--json", *map(str, images)]) == 0
        out[setting] = [
            {k: v for k, v in json.loads(line).items() if k != "latency_ms"}
            for line in capsys.readouterr().out.splitlines()
        ]
    assert out[""] == out["off"]


TFLITE_PY = Path(__file__).resolve().parent.parent / ".venv-tflite" / "bin" / "python"
TFLITE_SCRIPT = r"""
import json, sys
import numpy as np
from digitkiosk.device.loader import load_model
from digitkiosk.device.paper_reader import default_paper_model_path, load_paper_model
from digitkiosk.device.recognizer import Recognizer
paper = load_paper_model(default_paper_model_path(), backend="tflite-runtime")  # self-test too
recognizer = Recognizer(load_model(backend="tflite-runtime"), paper_model=paper)
x = np.load(sys.argv[1])
print(json.dumps([[d.top3[0][0], round(d.confidence, 6)] for d in recognizer.classify(x)]))
"""


def test_paper_model_runs_in_tflite_runtime(paper_model, loaded_model, orand_validation, tmp_path):
    """The 32-bit boards' interpreter (tflite-runtime 2.14, numpy < 2, its own venv) loads the
    bundled paper model through the verified path and reads pictures with its partner as LiteRT
    does."""
    import os
    import subprocess

    if not TFLITE_PY.exists():
        if os.environ.get("DIGITKIOSK_REQUIRE_TFLITE_RUNTIME"):
            pytest.fail(".venv-tflite missing: the test setup (.ci/setup.sh dev) builds it")
        pytest.skip(".venv-tflite not built (run `make test`)")
    x = orand_validation[0][::8]
    np.save(tmp_path / "x.npy", x)
    out = subprocess.run(
        [str(TFLITE_PY), "-c", TFLITE_SCRIPT, str(tmp_path / "x.npy")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    ours = [
        [d.top3[0][0], round(d.confidence, 6)]
        for d in Recognizer(loaded_model, paper_model=paper_model).classify(x)
    ]
    # The same digits; confidences within a few int8 steps (the two interpreters' kernels
    # requantize differently; each is exact across processors, which the arm64 check demands).
    assert [d for d, _ in theirs] == [d for d, _ in ours]
    assert max(abs(a - b) for (_, a), (_, b) in zip(theirs, ours, strict=True)) < 0.02


def test_paper_pair_chooses_and_writes_a_card_the_device_loads(
    paper_model, loaded_model, mnist_test, tmp_path
):
    """train/paper_pair.py end to end on a few hundred digits: the gate and threshold chosen by
    its rules, a card written atomically beside the .tflite, and that card loaded by the device."""
    import argparse

    from digitkiosk.train.paper_pair import GATES, choose, choose_threshold, write_paper_card

    images, labels = mnist_test
    sets = {"a": (images[:300], labels[:300]), "b": (images[300:500], labels[300:500])}
    chosen = choose(paper_model.model, loaded_model, sets)
    assert chosen["gate"] in GATES and set(chosen["alone"]) == {"a", "b"}
    best = max(v["mean_accuracy"] for v in chosen["grid"].values())
    assert chosen["grid"][str(chosen["gate"])]["mean_accuracy"] == best
    assert all(chosen["grid"][str(g)]["mean_accuracy"] < best for g in GATES if g < chosen["gate"])
    args = argparse.Namespace(name="papernet", version="9.0.0", out=tmp_path)
    card = write_paper_card(paper_model.model, loaded_model, chosen, {"digits": 0}, args)
    written = load_paper_model(card, policy=DEVELOPMENT)
    assert written.card.version == "9.0.0" and written.gate == chosen["gate"]
    assert written.partner_sha256 == loaded_model.sha256
    assert not list(tmp_path.glob("*.tmp*"))  # nothing half-written left behind

    # The threshold rule: 1 in 200 wrong where reachable, else no worse than the digit model alone.
    y = np.zeros(400, int)
    sure_right = np.eye(10)[y] * 0.98 + 0.002
    assert choose_threshold(y, sure_right, sure_right, 0.5)["threshold"] == 0.4
    pair = sure_right.copy()
    pair[:8] = np.eye(10)[1] * 0.98 + 0.002  # 2% confidently wrong: 0.5% is out of reach
    pair[8:16] = [0.3, 0.0125, 0.6] + [0.0125] * 7  # 2% more wrong, unsure (0.6)
    partner = sure_right.copy()
    partner[:9] = np.eye(10)[1] * 0.98 + 0.002  # the digit model alone: 9 of 400 wrong
    detail = choose_threshold(y, pair, partner, 0.5)
    # At 0.61 the unsure wrong answers become "?": 8 wrong of 392 answered, under 9 of 400.
    assert detail["target_error"] == 0.0225 and detail["threshold"] == 0.61
