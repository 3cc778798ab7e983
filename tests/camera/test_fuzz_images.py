"""Fuzz: 1,000+ generated awkward images through `digitkiosk predict`, `predict --single` and
the camera's per-frame analysis. Every file gets its own answer or one-line error, the batch
always finishes, and nothing ever prints a traceback."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from digitkiosk.device import cli
from digitkiosk.device.camera.pipeline import FrameAnalyzer
from PIL import Image

COUNT = 1040
KINDS = (
    "1x1",
    "1xN",
    "Nx1",
    "flat",
    "noise",
    "checkerboard",
    "digit cut by the edge",
    "specks",
    "stripes",
    "rgba",
    "cmyk jpeg",
    "16-bit png",
    "binary",
)


def _picture(rng: np.random.Generator, kind: str) -> np.ndarray:
    h, w = int(rng.integers(2, 120)), int(rng.integers(2, 160))
    if kind == "1x1":
        return np.full((1, 1), rng.integers(0, 256), np.uint8)
    if kind == "1xN":
        return rng.integers(0, 256, (1, w), dtype=np.uint8)
    if kind == "Nx1":
        return rng.integers(0, 256, (h, 1), dtype=np.uint8)
    if kind == "flat":
        return np.full((h, w), rng.integers(0, 256), np.uint8)
    if kind in ("noise", "cmyk jpeg", "16-bit png"):
        return rng.integers(0, 256, (h, w), dtype=np.uint8)
    if kind == "checkerboard":
        cell = int(rng.integers(1, 4))
        return (np.indices((h, w)).sum(axis=0) // cell % 2 * 255).astype(np.uint8)
    if kind in ("digit cut by the edge", "rgba"):
        a = np.full((h, w), int(rng.integers(150, 256)), np.uint8)
        origin = (int(rng.integers(-w // 2, w)), int(rng.integers(0, h + h // 2)))
        scale, thickness = float(rng.uniform(0.2, 3.0)), int(rng.integers(1, 6))
        cv2.putText(a, str(rng.integers(0, 100)), origin, cv2.FONT_HERSHEY_SIMPLEX, scale, 20, thickness)
        return a
    if kind == "specks":
        a = np.full((h, w), 210, np.uint8)
        a[rng.integers(0, h, 8), rng.integers(0, w, 8)] = 0
        return a
    if kind == "stripes":
        period = int(rng.integers(1, 5))
        return (np.arange(w)[None, :] // period % 2 * 255 * np.ones((h, 1))).astype(np.uint8)
    return (rng.random((h, w)) < 0.5).astype(np.uint8) * 255  # binary


def _save(a: np.ndarray, kind: str, path) -> str:
    if kind == "rgba":
        alpha = np.full_like(a, 128)
        name = f"{path}.png"
        Image.fromarray(np.dstack([a, a, a, alpha]), "RGBA").save(name)
    elif kind == "cmyk jpeg":
        name = f"{path}.jpg"
        Image.fromarray(a).convert("CMYK").save(name, quality=int(a.size % 90) + 5)
    elif kind == "16-bit png":
        name = f"{path}.png"
        Image.fromarray(a.astype(np.uint16) * 257).save(name)
    elif kind == "binary":
        name = f"{path}.png"
        Image.fromarray(a).convert("1").save(name)
    else:
        name = f"{path}.png"
        Image.fromarray(a).save(name)
    return name


@pytest.fixture(scope="module")
def fuzz_files(tmp_path_factory) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(16)
    folder = tmp_path_factory.mktemp("fuzz")
    out = []
    for i in range(COUNT):
        kind = KINDS[i % len(KINDS)]
        a = _picture(rng, kind)
        out.append((_save(a, kind, folder / f"{i:04d}"), a))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("single", [False, True], ids=["predict", "predict --single"])
def test_predict_answers_every_file_without_a_traceback(fuzz_files, capsys, single):
    paths = [p for p, _ in fuzz_files]
    code = cli.main(["predict", "--json", *(["--single"] if single else []), *paths])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [o["path"] for o in lines] == paths  # one line per file, in order: none lost
    failed = [o for o in lines if "error" in o]
    assert all("\n" not in o["error"] and "cannot read this image" not in o["error"] for o in failed)
    assert all(o["text"] and o["digits"] for o in lines if "error" not in o)
    assert code == (1 if failed else 0)
    assert "Traceback" not in out + err and err.count("\n") <= 2  # the interpreter's INFO line


@pytest.mark.slow
def test_camera_frames_never_fail(fuzz_files, recognizer):
    analyzer = FrameAnalyzer(recognizer)
    for i, (_, a) in enumerate(fuzz_files):
        frame = cv2.cvtColor(a, cv2.COLOR_GRAY2BGR) if i % 2 else a
        result = analyzer.analyze(frame, i)
        assert result.status and result.status != "unreadable frame", (i, a.shape)
