"""`digitkiosk-train --strokes`: samples collected from kiosks as a training source, split by
kiosk and day; malformed files stop the run with their file and line, before TensorFlow."""

from __future__ import annotations

import json
import time

import pytest
from digitkiosk.device.samples import Sample
from digitkiosk.device.samples.records import round_strokes, sample_to_json
from digitkiosk.train import cli
from digitkiosk.train.collected import load_collected
from digitkiosk.train.errors import DataError
from digitkiosk.train.splits import pen_writer


def export_lines(rows: list[dict], kiosks: int = 12, days: int = 5) -> list[dict]:
    """Real pen digits as kiosks would export them: spread over kiosks and days."""
    out = []
    start = time.time() - days * 86400
    for i, r in enumerate(rows):
        s = Sample(round_strokes(r["strokes"]), str(r["label"]), "?", "1.4.0", start + (i % days) * 86400)
        s.id, s.uid, s.kiosk = i + 1, f"{i:032x}", f"kiosk-{i % kiosks:02d}"
        out.append(sample_to_json(s))
    return out


def write(path, lines: list) -> str:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return str(path)


def test_collected_samples_are_split_by_kiosk_and_day(tmp_path, pendigits_train):
    lines = export_lines(pendigits_train[:600:3])
    lines[5] = {**lines[5], "label": None, "not_a_digit": True}  # not trained on
    lines[6] = {**lines[6], "label": None, "confirmed": False}
    src = load_collected(write(tmp_path / "fleet.jsonl", lines) + ":3")
    assert src.name == "collected-fleet" and src.repeat == 3 and src.skipped == 2
    assert len(src.y_train) + len(src.y_val) == len(lines) - 2
    held = {w for w in {pen_writer(r) for r in lines}} - {pen_writer(r) for r in src.records}
    assert held and src.val_units == len(held)  # whole kiosk-days held out
    trained = {pen_writer(r) for r in src.records}
    assert all(w.count("/") == 1 and w.startswith("kiosk-") for w in trained | held)
    assert not trained & held


def test_a_collect_folder_is_read_whole(tmp_path, pendigits_train):
    lines = export_lines(pendigits_train[:200:2])
    for host in ("kiosk-a", "kiosk-b"):
        (tmp_path / "out" / host).mkdir(parents=True)
    write(tmp_path / "out" / "kiosk-a" / "000001-000050.jsonl", lines[:50])
    write(tmp_path / "out" / "kiosk-b" / "000001-000050.jsonl", lines[50:])
    (tmp_path / "out" / "state.json").write_text("{}")
    src = load_collected(str(tmp_path / "out"), hold_out=False)
    assert len(src.y_train) == 100 and src.name == "collected-out"


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("{not json", "malformed sample"),
        ('{"label": 12, "strokes": [[[0, 0], [1, 1]]]}', "label must be a digit"),
        ('{"label": 3}', "missing field"),
        ('{"label": 3, "strokes": [[["x", 1]]]}', "malformed sample"),
        ("[1, 2, 3]", "not a JSON object"),
    ],
)
def test_a_malformed_line_names_file_and_line(tmp_path, pendigits_train, capsys, bad, why):
    lines = [*export_lines(pendigits_train[:4]), bad, *export_lines(pendigits_train[4:6])]
    path = write(tmp_path / "bad.jsonl", lines)
    with pytest.raises(DataError, match=rf"bad\.jsonl:5: .*{why}"):
        load_collected(path)
    started = time.monotonic()
    code = cli.main(["fit", "--data", "nowhere", "--strokes", path, "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"{path}:5: malformed sample" in err
    assert time.monotonic() - started < 20  # refused before TensorFlow and the data load


def test_missing_and_empty_sources_are_clean_errors(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for target, why in ((tmp_path / "nope.jsonl", "not found"), (tmp_path / "empty", "no .jsonl files")):
        code = cli.main(["fit", "--strokes", str(target)])
        err = capsys.readouterr().err
        assert code == 2 and why in err and err.startswith("digitkiosk-train: error: ")
    write(tmp_path / "none.jsonl", [{"label": None, "strokes": [[[0, 0], [1, 1]]], "not_a_digit": True}])
    with pytest.raises(DataError, match="no collected samples with a digit"):
        load_collected(str(tmp_path / "none.jsonl"))


@pytest.mark.slow
def test_fit_with_collected_samples_then_finetune(tmp_path, mnist_dir, pendigits_train):
    """A tiny real run trains with --strokes; `finetune` continues it with more collected
    samples, from the run's own best model and recipe."""
    first = write(tmp_path / "week1.jsonl", export_lines(pendigits_train[:400:2]))
    second = write(tmp_path / "week2.jsonl", export_lines(pendigits_train[400:800:2], kiosks=8))
    base = tmp_path / "base"
    tiny = ["--data", str(mnist_dir), "--limit", "2000", "--epochs", "1", "--quiet"]
    fit = ["fit", *tiny, "--batch-size", "64", "--seed", "3", "--name", "tiny", "--version", "0.0.1"]
    assert cli.main([*fit, "--out", str(base), "--strokes", first + ":2"]) == 0
    card = json.loads((base / "tiny.json").read_text())
    (entry,) = [s for s in card["data"]["sources"] if s["name"] == "collected-week1"]
    assert entry["repeat"] == 2 and entry["train_digits"] + entry["validation_digits"] == 200
    assert entry["validation_writers"] >= 1 and "collected-week1" in card["metrics"]["validation"]

    out = tmp_path / "tuned"
    tune = ["finetune", str(base), "--strokes", second, *tiny, "--version", "0.0.2"]
    assert cli.main([*tune, "--out", str(out)]) == 0
    tuned = json.loads((out / "tiny.json").read_text())
    config = tuned["training"]["config"]
    assert config["initial"] == str(base / "tiny.keras") and config["strokes"] == [first + ":2", second]
    assert config["epochs"] == 1 and config["learning_rate"] == 3e-4 and config["batch_size"] == 64
    assert {"collected-week1", "collected-week2"} <= {s["name"] for s in tuned["data"]["sources"]}
    assert tuned["training"]["command"].startswith("digitkiosk-train finetune ")
    # Continued, not started over: one more epoch from the base beats a fresh net's first epoch.
    assert tuned["metrics"]["int8"]["accuracy"] >= card["metrics"]["int8"]["accuracy"] - 0.01
