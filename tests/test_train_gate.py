"""`digitkiosk-train gate NEW BASE` on real models (the bundled 1.4.0 and the candidate 2.0.0)
through the device interpreter, on MNIST test, held-out pen writers and held-out collected
samples; and `digitkiosk-deploy push` refusing a card without a passed gate."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from digitkiosk.deploy.cli import main as deploy
from digitkiosk.device.samples import Sample
from digitkiosk.device.samples.records import round_strokes, sample_to_json
from digitkiosk.train import cli


def copy_model(card: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy2(card, folder / card.name)
    shutil.copy2(card.with_suffix(".tflite"), folder / card.with_suffix(".tflite").name)
    return folder / card.name


@pytest.fixture()
def bundled(default_model_path) -> Path:
    return default_model_path.with_suffix(".json")


@pytest.fixture()
def candidate(repo_root, tmp_path) -> Path:
    return copy_model(
        repo_root / "models" / "candidates" / "digitnet-2.0.0" / "digitnet.json", tmp_path / "new"
    )


@pytest.fixture(scope="module")
def gate_data(tmp_path_factory, shared_data, pendigits_train):
    """Every 4th pendigits training record (all 30 writers, the held-out ones among them) and
    kiosk samples spread over 40 kiosk-days."""
    d = tmp_path_factory.mktemp("gate-data")
    pen = d / "pendigits.jsonl"
    pen.write_text("".join(json.dumps(r) + "\n" for r in pendigits_train[::4]))
    lines = []
    for i, r in enumerate(pendigits_train[1::6]):
        s = Sample(round_strokes(r["strokes"]), str(r["label"]), "?", "1.4.0", time.time() - (i % 5) * 86400)
        s.id, s.uid, s.kiosk = i + 1, f"{i:032x}", f"kiosk-{i % 8}"
        lines.append(json.dumps(sample_to_json(s)) + "\n")
    strokes = d / "collected.jsonl"
    strokes.write_text("".join(lines))
    return ["--data", str(shared_data / "mnist"), "--pen", str(pen), "--strokes", str(strokes)]


def test_gate_compares_every_figure_and_records_the_verdict(candidate, bundled, gate_data, capsys):
    code = cli.main(["gate", str(candidate), str(bundled), *gate_data])
    verdict = json.loads(capsys.readouterr().out)
    assert set(verdict["figures"]) == {"mnist-test", "pen:pendigits", "strokes:collected"}
    mnist = verdict["figures"]["mnist-test"]
    assert mnist["digits"] == 10000 and mnist["base"] == pytest.approx(0.9966, abs=5e-4)
    assert mnist["new"] == pytest.approx(0.9953, abs=5e-4)  # the candidate's card figure
    assert verdict["figures"]["pen:pendigits"]["digits"] > 100  # the held-out writers only
    assert verdict["figures"]["strokes:collected"]["digits"] > 20  # whole kiosk-days held out
    assert verdict["new"]["version"] == "2.0.0" and verdict["base"]["version"] == "1.4.2"  # the bundled
    assert code == (0 if verdict["passed"] else 1)
    card = json.loads(candidate.read_text())
    assert card["gate"] == verdict and card["gate"]["model_sha256"] == card["sha256"]


def test_a_drop_beyond_the_margin_fails_and_push_refuses_it(candidate, bundled, gate_data, capsys, tmp_path):
    code = cli.main(["gate", str(candidate), str(bundled), *gate_data, "--margin", "0.05"])
    verdict = json.loads(capsys.readouterr().out)
    assert code == 1 and not verdict["passed"] and "mnist-test" in verdict["failed"]
    from digitkiosk.deploy.keys import keygen, sign_model

    key = keygen(tmp_path / "key" / "signing_key.pem")[0]
    sign_model(candidate, key)
    code = deploy(["push", str(candidate), "--to", "127.0.0.1:9", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "no passed regression gate" in err and err.count("\n") == 1
    # --force lets the operator overrule it (the push itself then fails: nothing listens there).
    code = deploy(
        ["push", str(candidate), "--to", "127.0.0.1:9", "--force", "--json", "--connect-timeout", "2"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["hosts"][0]["status"] == "failed"
    # A signed card is not changed by the gate (its signature would break).
    before = candidate.read_bytes()
    code = cli.main(["gate", str(candidate), str(bundled), *gate_data])
    assert code == 2 and "already signed" in capsys.readouterr().err
    assert candidate.read_bytes() == before


def test_the_same_model_passes_and_bad_input_is_one_line(bundled, tmp_path, gate_data, capsys):
    same = copy_model(bundled, tmp_path / "same")
    code = cli.main(["gate", str(same), str(bundled), *gate_data, "--no-record"])
    verdict = json.loads(capsys.readouterr().out)
    assert code == 0 and verdict["passed"]
    assert all(f.get("drop_points", 0) == 0 for f in verdict["figures"].values())
    assert "gate" not in json.loads(same.read_text())
    for args, why in (
        ([str(tmp_path / "nope.json"), str(bundled)], "not found"),
        ([str(same), str(bundled), "--margin", "-1"], "--margin"),
    ):
        code = cli.main(["gate", *args, *gate_data])
        err = capsys.readouterr().err
        assert code == 2 and why in err and err.startswith("digitkiosk-train: error: ")
