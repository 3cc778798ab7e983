"""`digitkiosk camera --headless` uses a model installed in the store while it runs, as the kiosk
does (model_watch.py): a real process reading a real clip played paced, a real store, a signed
paper model installed through `digitkiosk model install --kind paper` halfway."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from digitkiosk.device.cli import main as digitkiosk
from digitkiosk.train.clips import write_clip
from digitkiosk.train.photo import random_look
from digitkiosk.train.scenes import make_scene

from tests.conftest import model_version_copy

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.slow
def test_a_paper_model_installed_while_the_camera_runs_is_used(tmp_path, signing_key, mnist_bank):
    trust = tmp_path / "trust"
    trust.mkdir()
    shutil.copy2(signing_key.with_name("signing_key.pub"), trust / "deploy.pub")
    store = tmp_path / "store"
    rng = np.random.default_rng(7)
    clip = tmp_path / "clip.avi"
    # Three scenes of 50 frames at 10 fps, played paced: 15 s, time for the watcher (1 s polls) to
    # see the install during the first scene or the second, and a new scene read after it.
    scenes = [make_scene(mnist_bank, rng, look=random_look(rng, dark_ink=True)) for _ in range(3)]
    write_clip(str(clip), scenes, 50, rng, fps=10.0)
    events = tmp_path / "events.jsonl"
    env = {**os.environ, "DIGITKIOSK_STORE": str(store), "DIGITKIOSK_TRUST_DIR": str(trust)}
    argv = [sys.executable, "-m", "digitkiosk.device", "camera", "--headless", "--source", str(clip)]
    proc = subprocess.Popen(
        [*argv, "--events", str(events)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while not (events.exists() and '"reading"' in events.read_text()):  # running, reading frames
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()[-2000:]
            time.sleep(0.1)
        card = model_version_copy(MODELS / "papernet.tflite", tmp_path / "paper", "2030.1.1", signing_key)
        install = [
            "model",
            "install",
            str(card),
            "--kind",
            "paper",
            "--store",
            str(store),
            "--trust-dir",
            str(trust),
        ]
        assert digitkiosk(install) == 0
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    log = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    changes = [e for e in log if e["event"].startswith("model_")]
    assert [(e["event"], e["message"]) for e in changes] == [
        ("model_reloaded", "paper model updated to papernet 2030.1.1")
    ]
    at = log.index(changes[0])
    after = [e for e in log[at:] if e["event"] == "reading"]
    assert after, "a scene was read after the new paper model came in"
    assert log[-1]["event"] == "summary" and log[-1]["state"] != "failed"
