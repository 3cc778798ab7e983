"""`digitkiosk-train evaluate` on a stroke model: its report on pen digits of unseen writers (the
bundled strokenet and its partner digitnet, real pendigits test rows; report only)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from digitkiosk.train import cli

REPO = Path(__file__).resolve().parent.parent

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


@pytest.fixture()
def stroke_package(tmp_path: Path) -> Path:
    """The bundled stroke model, its card and its partner digit model, copied side by side."""
    for name in ("strokenet.tflite", "strokenet.json", "digitnet.tflite"):
        shutil.copy(REPO / "models" / name, tmp_path / name)
    return tmp_path / "strokenet.tflite"


def test_evaluate_writes_a_stroke_models_report_on_pen_digits(
    stroke_package, pendigits_test, tmp_path, capsys
):
    data = tmp_path / "pen.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in pendigits_test[:400]))
    assert cli.main(["evaluate", str(stroke_package), "--data", str(data)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    report = stroke_package.with_name("strokenet.report")
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["metrics"]["n"] == 400 and metrics["metrics"]["accuracy"] == out["accuracy"]
    assert out["accuracy"] > 0.97 and out["pair_accuracy"] > 0.97
    assert "with digitnet.tflite, the pair (kiosk, strokes)" in metrics["summary"]
    html = (report / "report.html").read_text()
    assert "Per class (int8, pen test digits)" in html and html.count("data:image/png;base64,") >= 3


def test_evaluate_without_its_partner_reports_the_stroke_model_alone(
    stroke_package, pendigits_test, tmp_path, capsys
):
    stroke_package.with_name("digitnet.tflite").unlink()
    data = tmp_path / "pen.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in pendigits_test[:100]))
    assert (
        cli.main(["evaluate", str(stroke_package), "--data", str(data), "--report", str(tmp_path / "r")]) == 0
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["pair_accuracy"] is None and (tmp_path / "r" / "report.html").is_file()


def test_evaluate_stroke_model_on_bad_pen_data_is_one_line(stroke_package, tmp_path, capsys):
    data = tmp_path / "pen.jsonl"
    data.write_text('{"strokes": "not strokes", "label": 3}\n')
    assert cli.main(["evaluate", str(stroke_package), "--data", str(data)]) != 0
    err = capsys.readouterr().err.strip()
    assert "not pen digits" in err and "\n" not in err and "Traceback" not in err
    data.write_text("{not json\n")  # a line that is no JSON at all: the same one line
    assert cli.main(["evaluate", str(stroke_package), "--data", str(data)]) != 0
    err = capsys.readouterr().err.strip()
    assert "not pen digits" in err and "pen.jsonl:1" in err and "\n" not in err
    assert cli.main(["evaluate", str(stroke_package), "--data", str(tmp_path / "missing.jsonl")]) != 0
    assert "pen test data not found" in capsys.readouterr().err
