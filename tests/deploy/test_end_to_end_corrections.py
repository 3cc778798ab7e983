"""Corrections end to end, every component real: the kiosk under Xvfb with a digit drawn and
corrected by real xdotool taps, the sample collected from a real sshd on 127.0.0.1, a short
fine-tune that includes it, the regression gate, signing, push, and the running kiosk
hot-reloading the new model from its store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from digitkiosk.deploy.cli import main as deploy
from digitkiosk.deploy.keys import sign_model
from digitkiosk.train import cli as train

from tests.kiosk.kiosk_driver import Kiosk, xdotool

pytestmark = [pytest.mark.slow, pytest.mark.display, pytest.mark.ssh]


def tap(rect: dict) -> None:
    xdotool([f"mousemove {rect['x'] + rect['width'] // 2} {rect['y'] + rect['height'] // 2}", "click 1"])


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, mnist_dir) -> Path:
    """A short real training run (good enough for the device's self-test: >= 90%)."""
    out = tmp_path_factory.mktemp("e2e-base")
    args = ["fit", "--data", str(mnist_dir), "--limit", "8000", "--epochs", "2", "--batch-size", "64"]
    args += ["--seed", "2", "--name", "digitnet", "--version", "2030.1.5", "--out", str(out), "--quiet"]
    assert train.main(args) == 0
    return out


def test_correct_collect_finetune_gate_sign_push_reload(
    xdisplay,
    fleet_of,
    sshd_pool,
    make_model,
    signing_key,
    base_run,
    mnist_dir,
    pendigits_test,
    tmp_path,
    capsys,
):
    if shutil.which("xdotool") is None:
        pytest.fail("xdotool is not installed")
    fleet = fleet_of([sshd_pool[0]])
    (dev,) = fleet.devices
    inv = yaml.safe_load(fleet.inventory.read_text())
    inv["all"]["children"]["kiosks"]["hosts"][dev.name]["digitkiosk_samples"] = str(dev.root / "samples")
    fleet.inventory.write_text(yaml.safe_dump(inv))
    assert deploy(["push", str(make_model("2030.1.1")), *fleet.args()]) == 0
    capsys.readouterr()

    kiosk = Kiosk(
        tmp_path / "events.jsonl",
        "--model", str(dev.store_dir / "current" / "digitnet.json"),
        "--trust-dir", str(dev.trust_dir),
        "--samples", str(dev.root / "samples"),
        "--watch-interval", "0.3",
    )  # fmt: skip
    try:
        assert kiosk.ready["model"]["version"] == "2030.1.1"
        row = next(r for r in pendigits_test if r["label"] == 7)
        p = kiosk.prediction(kiosk.draw([row["strokes"]], keys_before=["Escape"]))
        tap(kiosk.ready["controls"]["wrong"])
        pad = kiosk.wait_for(lambda e: e["event"] == "correcting")
        tap(pad["keys"]["7"])
        done = kiosk.wait_for(lambda e: e["event"] == "corrected")
        assert done["text"] == "7" and done["was"] == p["text"]
        kiosk.wait_for(lambda e: e["event"] == "samples_stored")

        # Collected over SSH while the kiosk keeps its store open.
        out = tmp_path / "collected"
        assert deploy(["collect", *fleet.args(), "--out", str(out), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["new"] == 1
        (line,) = [json.loads(x) for f in out.glob("*/*.jsonl") for x in f.read_text().splitlines()]
        assert line["label"] == 7 and line["strokes"] == p["strokes"] and line["model"] == "2030.1.1"

        # A short fine-tune that includes it, the gate against its base, signing, push.
        tuned = tmp_path / "tuned"
        args = ["finetune", str(base_run), "--strokes", f"{out}:50", "--data", str(mnist_dir)]
        assert (
            train.main([*args, "--epochs", "1", "--version", "2030.2.1", "--out", str(tuned), "--quiet"]) == 0
        )
        card = json.loads((tuned / "digitnet.json").read_text())
        assert any(s["name"] == "collected-collected" for s in card["data"]["sources"])
        capsys.readouterr()
        gate = [
            "gate",
            str(tuned / "digitnet.json"),
            str(base_run / "digitnet.json"),
            "--data",
            str(mnist_dir),
        ]
        assert train.main([*gate, "--strokes", str(out)]) == 0, capsys.readouterr().out
        assert json.loads(capsys.readouterr().out)["passed"]
        sign_model(tuned / "digitnet.json", signing_key)
        assert deploy(["push", str(tuned / "digitnet.json"), *fleet.args(), "--json"]) == 0
        assert dev.active == "2030.2.1"

        # The running kiosk picks the new model up from its store and reads with it.
        reloaded = kiosk.wait_for(lambda e: e["event"] == "model_reloaded", timeout=30)
        assert reloaded["model"]["version"] == "2030.2.1"
        p = kiosk.prediction(kiosk.draw([row["strokes"]], keys_before=["Escape"]))
        assert p["model"] == "2030.2.1"
    finally:
        assert kiosk.stop() == 0
