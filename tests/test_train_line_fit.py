"""Training the line model (`train/line_fit.py`) with Keras ops only (the same recipe on any Keras
backend), `--no-export` leaving the net and its training record, and `line_ensemble` exporting
members as one int8 file whose members vote on the device."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from digitkiosk.device.line_reader import load_line_model
from digitkiosk.device.package import TrustPolicy
from digitkiosk.train import line_ensemble, line_fit

from .conftest import SHARED_DATA


@pytest.mark.slow
def test_no_export_then_posterior_export_loads_on_the_device(tmp_path: Path):
    run = tmp_path / "run"
    tiny = ["--epochs", "2", "--synthetic", "480", "--real-repeat", "0", "--widths", "4,8,8,8,8"]
    tiny += ["--lr", "0.01"]  # enough to learn the blank: the device's self-test reads an empty line
    data = ["--data", str(SHARED_DATA / "orand_car_a"), "--seed", "3"]
    assert line_fit.main([*tiny, *data, "--out", str(run), "--no-export"]) == 0
    record = json.loads((run / line_fit.FIT_RECORD).read_text())
    assert [row["epoch"] for row in record["history"]] == [1, 2]
    assert record["command"].endswith("--no-export") and record["host"]["keras_backend"] == "tensorflow"
    assert record["best"]["epoch"] in (1, 2) and not (run / "linenet.tflite").exists()

    member = str(run / "linenet.keras")
    out = tmp_path / "posterior"
    assert (
        line_ensemble.main(
            [member, member, "--out", str(out), "--version", "9.0.0", "--combine", "posterior"]
        )
        == 0
    )
    card = json.loads((out / "linenet.json").read_text())
    assert card["output"]["shape"] == [1, 2, 40, 11] and card["decode"] == "posterior"
    assert "members_by_job" not in card  # every member reads every job
    assert card["training"]["command"].startswith("python -m digitkiosk.train.line_ensemble ")
    assert [m["command"] for m in card["training"]["members"]] == [record["command"]] * 2
    model = load_line_model(out / "linenet.json", policy=TrustPolicy(out, allow_unsigned=True))
    assert model.members == 2 and model.decoder == "posterior"
    probs = model.probs(np.zeros((3, 32, 160), np.float32))
    assert probs.shape == (3, 2, 40, 11) and np.allclose(probs[:, 0], probs[:, 1])  # the same net twice

    # --job: the first member reads fields, the second the numbers in pictures.
    jobs = tmp_path / "jobs"
    argv = [member, member, "--out", str(jobs), "--combine", "vote"]
    assert line_ensemble.main([*argv, "--job", "fields=0", "--job", "pictures=1"]) == 0
    card = json.loads((jobs / "linenet.json").read_text())
    assert card["members_by_job"] == {"fields": [0], "pictures": [1]}
    model = load_line_model(jobs / "linenet.json", policy=TrustPolicy(jobs, allow_unsigned=True))
    assert model.members == 2 and model.probs(np.zeros((1, 32, 160), np.float32), "pictures").shape[1] == 1
