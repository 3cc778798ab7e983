"""`digitkiosk-deploy push|status|rollback` of the paper, line and stroke models (each in its own
store on a kiosk: device/model_kinds.py) against real sshd instances running the real device CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from digitkiosk.deploy.cli import main as deploy
from digitkiosk.device.store import ModelStore

from tests.conftest import model_version_copy

pytestmark = pytest.mark.ssh

MODELS = Path(__file__).resolve().parents[2] / "models"


def run_json(capsys, argv: list[str]) -> tuple[int, dict]:
    code = deploy([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def kind_store(device, kind: str) -> ModelStore:
    return ModelStore(device.store_dir, kind=kind, trust_dir=device.trust_dir)


def test_push_takes_the_kind_from_the_card_and_rolls_back_that_kind_alone(
    fleet, make_model, signing_key, tmp_path, capsys
):
    digit = make_model("2030.1.1")
    assert run_json(capsys, ["push", str(digit), *fleet.args()])[0] == 0
    papers = [
        model_version_copy(MODELS / "papernet.tflite", tmp_path / f"paper-{v}", v, signing_key)
        for v in ("2030.1.1", "2030.2.1")
    ]
    for card in papers:
        code, report = run_json(capsys, ["push", str(card), *fleet.args()])
        assert code == 0, report
        assert report["kind"] == "paper"
    for dev in fleet.devices:
        paper = kind_store(dev, "paper")
        assert paper.root == dev.store_dir / "paper"
        assert paper.active_version == "2030.2.1" and paper.previous_version == "2030.1.1"
        assert (paper.root / "current" / "papernet.tflite").is_file()
        assert dev.active == "2030.1.1" and dev.store().versions() == ["2030.1.1"]  # the digit model's

    code, report = run_json(capsys, ["status", "--kind", "paper", *fleet.args()])
    assert code == 0
    assert {(h["active"], h["healthy"]) for h in report["hosts"]} == {("2030.2.1", True)}

    code, report = run_json(capsys, ["rollback", "--kind", "paper", *fleet.args()])
    assert code == 0, report
    assert all(kind_store(d, "paper").active_version == "2030.1.1" for d in fleet.devices)
    assert all(d.active == "2030.1.1" for d in fleet.devices)
    code, report = run_json(capsys, ["status", *fleet.args()])  # the digit model, as always
    assert code == 0 and {h["active"] for h in report["hosts"]} == {"2030.1.1"}


def test_a_model_pushed_as_the_wrong_kind_is_refused_by_every_kiosk(fleet, signing_key, tmp_path, capsys):
    line = model_version_copy(MODELS / "linenet.tflite", tmp_path / "line", "2030.1.1", signing_key)
    code, report = run_json(capsys, ["push", str(line), "--kind", "paper", *fleet.args()])
    assert code == 1
    for host in report["hosts"]:
        assert host["status"] == "failed" and "refused" in host["message"]
        assert "input preparation" in host["message"]
    assert all(kind_store(d, "paper").active_version is None for d in fleet.devices)
    # Pushed as what its card says, it is a line model and installs as one.
    code, report = run_json(capsys, ["push", str(line), *fleet.args()])
    assert code == 0 and report["kind"] == "line"
    assert all(kind_store(d, "line").active_version == "2030.1.1" for d in fleet.devices)
