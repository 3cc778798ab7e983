"""The `digitkiosk` command in-process (sqlite-utils style), on real data and the real model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from digitkiosk.device import cli


def run(args, capsys, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        import io

        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in ("kiosk", "predict", "strokes", "camera", "bench", "model"):
        assert name in out


def test_strokes_json_lines(pendigits_test, tmp_path, capsys):
    rows = pendigits_test[:30]
    lines = [json.dumps({"id": i, "strokes": r["strokes"]}) for i, r in enumerate(rows)]
    lines.insert(5, "{broken json")
    lines.insert(9, json.dumps({"id": "empty", "strokes": []}))
    lines.insert(12, json.dumps({"id": "bad", "strokes": [[["x", 1]]]}))
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(lines) + "\n")
    code, out, _err = run(["strokes", str(f), "--json"], capsys)
    outs = [json.loads(line) for line in out.splitlines()]
    assert len(outs) == 33 and code == 1
    assert outs[5] == {"line": 6, "error": outs[5]["error"]} and "line 6" in outs[5]["error"]
    assert outs[9]["id"] == "empty" and "nothing to read" in outs[9]["error"]
    assert outs[12]["id"] == "bad" and "line 13" in outs[12]["error"]
    answered = [o for o in outs if "error" not in o]
    assert len(answered) == 30
    correct = sum(o["digit"] == str(rows[o["id"]]["label"]) for o in answered)
    assert correct >= 27
    for o in answered:
        assert set(o) >= {"id", "digit", "confidence", "top3", "latency_ms"}
        assert len(o["top3"]) == 3


def test_strokes_stdin_and_number(pendigits_train, capsys, monkeypatch):
    four = next(r for r in pendigits_train if r["label"] == 4)
    seven = next(r for r in pendigits_train if r["label"] == 7 and len(r["strokes"]) == 1)
    shifted = [[[x + 600, y] for x, y in s] for s in seven["strokes"]]
    line = json.dumps({"strokes": four["strokes"] + shifted})
    code, out, _ = run(["strokes", "-", "--json"], capsys, stdin=line + "\n", monkeypatch=monkeypatch)
    o = json.loads(out)
    assert code == 0 and o["text"] == "47" and len(o["digits"]) == 2


def test_strokes_missing_file(tmp_path, capsys):
    code, _out, err = run(["strokes", str(tmp_path / "nope.jsonl")], capsys)
    assert code == 2 and err.startswith("digitkiosk: error: cannot read") and "Traceback" not in err


def test_bad_model_is_one_line(tmp_path, capsys, pendigits_test):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"strokes": pendigits_test[0]["strokes"]}) + "\n")
    code, _, err = run(["strokes", str(f), "--model", str(tmp_path / "missing.tflite")], capsys)
    assert code == 2 and err.count("\n") == 1 and "model card not found" in err


def test_unknown_backend(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["strokes", "--backend", "onnx"])
    assert "invalid choice" in capsys.readouterr().err


def test_bench_json(capsys):
    code, out, _ = run(["bench", "--repeats", "30"], capsys)
    result = json.loads(out)
    assert code == 0
    for key in ("cold_start", "inference_one_digit_1_thread", "strokes_to_prediction", "peak_rss_mb"):
        assert key in result
    assert result["inference_one_digit_1_thread"]["n"] == 30
    # The paper model is loaded as the camera loads it; a picture's digit is timed through it.
    assert result["paper_model"]["name"] == "papernet" and result["picture_digit_paper_model"]["n"] == 30
    # A short run (the emulated arm64 check's) times fewer readings of the slower kinds too.
    assert result["strokes_to_prediction"]["n"] == 20 and result["image_640x480_to_digits"]["n"] == 10
    assert result["field_to_digits"]["n"] == 3


def test_device_side_never_imports_tensorflow():
    """Import the whole device side (every command module too) in a fresh interpreter."""
    code = (
        "import sys, pkgutil, importlib, digitkiosk.device as d\n"
        "for m in pkgutil.walk_packages(d.__path__, 'digitkiosk.device.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "from digitkiosk.device.cli import build_parser; build_parser()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "bad += sorted(m for m in sys.modules if m.startswith(('digitkiosk.train', 'digitkiosk.deploy')))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_device_extra_does_not_pull_tensorflow():
    from importlib.metadata import requires

    reqs = [r for r in requires("digitkiosk") or [] if 'extra == "device"' in r]
    assert reqs and not any(r.lower().startswith(("tensorflow", "keras")) for r in reqs)


def _page(mnist_test, indices, dark_ink: bool):
    """A 640x480 photo-like page of real MNIST digits in a row, with a lighting gradient."""
    import cv2
    import numpy as np

    x, _ = mnist_test
    page = np.zeros((480, 640), np.float32)
    for i, idx in enumerate(indices):
        d = cv2.resize(x[idx].astype(np.float32), (90, 90))
        page[180:270, 60 + i * 75 : 150 + i * 75] = np.maximum(page[180:270, 60 + i * 75 : 150 + i * 75], d)
    light = np.linspace(0.75, 1.0, 640)[None, :]
    img = (235 - 0.8 * page) * light if dark_ink else (25 + 0.8 * page) * light
    return np.clip(img + np.random.default_rng(0).normal(0, 3, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("dark_ink", [True, False])
def test_predict_page_json(mnist_test, tmp_path, capsys, dark_ink):
    import cv2

    _, y = mnist_test
    indices = [3, 2, 1, 18, 4]  # MNIST test digits 0 1 2 3 4
    path = tmp_path / "page.png"
    cv2.imwrite(str(path), _page(mnist_test, indices, dark_ink))
    code, out, _ = run(["predict", str(path), "--json"], capsys)
    o = json.loads(out)
    assert code == 0
    assert o["path"] == str(path) and o["text"] == "".join(str(y[i]) for i in indices)
    assert [d["box"][0] for d in o["digits"]] == sorted(d["box"][0] for d in o["digits"])
    assert o["model"].startswith("digitnet") and o["latency_ms"] > 0


def test_predict_single_and_bad_files(mnist_test, recognizer, tmp_path, capsys):
    from digitkiosk.device.imageio import read_image
    from PIL import Image

    x, y = mnist_test
    good = tmp_path / "seven.png"
    Image.fromarray(255 - x[0]).resize((200, 200)).save(good)  # dark on light, filling the image
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    Image.new("L", (300, 200), 240).save(tmp_path / "blank.png")
    files = [tmp_path / n for n in ("empty.png", "seven.png", "text.png", "blank.png")]
    code, out, err = run(["predict", "--single", *map(str, files)], capsys)
    assert code == 1
    confidence = recognizer.read_single(read_image(good)).digits[0].confidence  # read here, not by the CLI
    assert out.strip() == f"{good}: {y[0]}  (confidence {confidence:.2f})"
    lines = err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("digitkiosk: ") for line in lines)
    assert "empty file" in lines[0] and "not an image" in lines[1] and "nothing to read" in lines[2]
    assert "Traceback" not in err
