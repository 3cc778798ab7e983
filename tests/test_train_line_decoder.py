"""The line model's decoder, measured and chosen (`train/line_decoder.py`): both decoders on the
ORAND validation scans through the device's loader, the bundled card's figures are what the tool
measures again, a re-issued card keeps the model file and loads with its decoder, and bad use is
one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from digitkiosk.device.line_reader import default_line_model_path, load_line_model
from digitkiosk.device.package import TrustPolicy
from digitkiosk.train import line_decoder


@pytest.fixture(scope="module")
def measured(shared_data: Path) -> dict:
    return line_decoder.reissue_decoder(default_line_model_path().with_suffix(".json"),
                                        shared_data / "orand_car_a", None, None, None)  # fmt: skip


def test_the_bundled_cards_figures_are_what_the_tool_measures(measured: dict):
    card = json.loads(default_line_model_path().with_suffix(".json").read_text())
    assert measured["members"] == card["members"] > 1
    figures = card["metrics"]["decoders"]
    assert {k: measured[k] for k in ("vote", "posterior")} == {k: figures[k] for k in ("vote", "posterior")}
    # the choice: the decoder the card names reads the validation fields at least as well as
    # every other (linenet 1.3.0: posterior 90.78%, vote 90.29%; 1.2.0: vote; 1.1.1: posterior)
    key = ("amounts_exactly_right", "digits_right")
    chosen = [figures[card["decode"]][k] for k in key]
    assert all(chosen >= [figures[name][k] for k in key] for name in ("vote", "posterior"))
    assert figures[card["decode"]]["amounts_exactly_right"] >= 0.89  # README: 89.81% of 206


def test_a_reissued_card_keeps_the_model_and_loads_with_its_decoder(
    tmp_path: Path, shared_data: Path, capsys
):
    src = default_line_model_path().with_suffix(".json")
    other = "posterior" if json.loads(src.read_text())["decode"] == "vote" else "vote"
    code = line_decoder.main([str(src), "--decode", other, "--version", "9.9.9", "--out", str(tmp_path),
                              "--data", str(shared_data / "orand_car_a")])  # fmt: skip
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    card = json.loads((tmp_path / "linenet.json").read_text())
    old = json.loads(src.read_text())
    assert printed["card"] == str(tmp_path / "linenet.json")
    assert card["decode"] == other and card["version"] == "9.9.9" and card["sha256"] == old["sha256"]
    assert (tmp_path / "linenet.tflite").read_bytes() == default_line_model_path().read_bytes()
    assert card["metrics"]["decoders"][other] == printed[other] and card["changes"].startswith(
        "9.9.9: linenet"
    )
    model = load_line_model(tmp_path / "linenet.json", policy=TrustPolicy(tmp_path, allow_unsigned=True))
    assert model.decoder == other


def test_bad_use_is_one_line(tmp_path: Path, shared_data: Path, capsys):
    src = str(default_line_model_path().with_suffix(".json"))
    data = ["--data", str(shared_data / "orand_car_a")]
    assert line_decoder.main([src, "--decode", "posterior", *data]) == 1
    assert line_decoder.main([src, "--data", str(tmp_path)]) == 1
    assert line_decoder.main([str(tmp_path / "none.json"), *data]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "Traceback" not in "".join(err), err
    assert "--decode needs --version and --out" in err[0] and all("line_decoder" in e for e in err)
