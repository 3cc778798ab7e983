"""The stroke model's trainer end to end on real pen digits: a short run → int8 .tflite and card →
loaded by the device's own verified loader (self-test included), pieces taught as "none"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from digitkiosk.device.package import TrustPolicy
from digitkiosk.device.stroke_reader import STROKE_PREP_ID, load_stroke_model
from digitkiosk.train import stroke_fit


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, shared_data: Path, default_model_path: Path) -> Path:
    out = tmp_path_factory.mktemp("stroke_run")
    rows = (shared_data / "pendigits/train.jsonl").read_text().splitlines()[::2]  # every writer
    pen = out / "pen.jsonl"
    pen.write_text("\n".join(rows) + "\n")
    code = stroke_fit.main(
        ["--pen", str(pen), "--digit-model", str(default_model_path.with_suffix(".json")),
         "--epochs", "3", "--out", str(out), "--model-version", "0.0.1"]
    )  # fmt: skip
    assert code == 0
    return out / "strokenet.json"


@pytest.mark.slow
def test_short_run_writes_a_card_the_device_loads(short_run: Path):
    card = json.loads(short_run.read_text())
    assert card["labels"] == [*map(str, range(10)), "none"] and card["preprocessing"] == STROKE_PREP_ID
    assert 0.4 <= card["reject_threshold"] <= 0.9  # chosen on the validation writers
    figures = card["metrics"]["int8"]
    assert figures["all"]["digits"] > 0 and figures["pieces"]["strokes"] > 0
    assert figures["all"]["stroke_model"] > 0.5  # far above chance after three short epochs
    assert card["pair"]["digit_model"]["name"] == "digitnet"
    assert card["training"]["sources"][0]["validation_digits"] > 0
    model = load_stroke_model(short_run, policy=TrustPolicy(short_run.parent, allow_unsigned=True))
    assert model.card.version == "0.0.1"


def test_bad_pen_file_is_one_line(tmp_path: Path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"label": 3, "strokes": [[[1, 2], [3, 4]]]}\n{"label": 3, "strokes": "no"}\n')
    assert stroke_fit.main(["--pen", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:2" in err and "Traceback" not in err


def test_digit_model_that_does_not_load_is_one_line(tmp_path: Path, shared_data: Path, capsys):
    pen = tmp_path / "pen.jsonl"
    pen.write_text("\n".join((shared_data / "pendigits/train.jsonl").read_text().splitlines()[::20]) + "\n")
    missing = tmp_path / "nowhere.json"
    assert (
        stroke_fit.main(["--pen", str(pen), "--digit-model", str(missing), "--out", str(tmp_path / "o")]) == 2
    )
    err = capsys.readouterr().err
    assert "--digit-model" in err and "nowhere.json" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing written
