"""Companion models (the stroke and paper models the kiosk reads with) installed in the model
store while the kiosk runs are used without a restart, as the digit model is: first through the
watcher with a real store and real models, then in the real kiosk under Xvfb."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from digitkiosk.device.cli import main as digitkiosk
from digitkiosk.device.commands.common import companion_paths, open_recognizer
from digitkiosk.device.model_watch import ModelWatcher
from digitkiosk.device.settings import Settings

from tests.conftest import model_version_copy
from tests.kiosk.kiosk_driver import Kiosk

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture()
def kiosk_store(tmp_path, signing_key):
    """(environment naming a store and a trust directory with the deploy key, install(kind, version))."""
    trust = tmp_path / "trust"
    trust.mkdir()
    shutil.copy2(signing_key.with_name("signing_key.pub"), trust / "deploy.pub")
    env = {"DIGITKIOSK_STORE": str(tmp_path / "store"), "DIGITKIOSK_TRUST_DIR": str(trust)}

    def install(kind: str, version: str, *more: str) -> int:
        name = {"paper": "papernet", "stroke": "strokenet"}[kind]
        card = model_version_copy(
            MODELS / f"{name}.tflite", tmp_path / f"{kind}-{version}", version, signing_key
        )
        argv = ["model", "install", str(card), "--kind", kind, *more]
        return digitkiosk(
            [*argv, "--store", env["DIGITKIOSK_STORE"], "--trust-dir", env["DIGITKIOSK_TRUST_DIR"]]
        )

    return env, install


def settle(watcher: ModelWatcher):
    first = watcher.poll()
    return first if first is not None else watcher.poll()


def test_a_companion_installed_later_is_swapped_in_and_a_rollback_too(kiosk_store):
    env, install = kiosk_store
    settings = Settings.resolve(env)
    recognizer = open_recognizer(settings, pen=True)
    assert recognizer.paper_model.card.version == "1.0.0"  # the bundled one: none installed
    where = companion_paths(settings, pen=True)
    assert set(where) == {"stroke", "paper"}
    changes = []
    watcher = ModelWatcher(
        recognizer, where["paper"], kind="paper", on_change=changes.append, policy=settings.policy()
    )
    assert watcher.poll() is None

    assert install("paper", "2030.1.1") == 0  # the first install: from the bundled one to the store's
    change = settle(watcher)
    assert change is not None and change.kind == "reloaded"
    assert change.message == "paper model updated to papernet 2030.1.1"
    assert recognizer.paper_model.card.version == "2030.1.1"
    assert recognizer.model.card.name == "digitnet"  # the digit model is another watcher's

    assert install("paper", "2030.2.1") == 0
    assert settle(watcher).kind == "reloaded" and recognizer.paper_model.card.version == "2030.2.1"
    store, trust = env["DIGITKIOSK_STORE"], env["DIGITKIOSK_TRUST_DIR"]
    assert digitkiosk(["model", "rollback", "--kind", "paper", "--store", store, "--trust-dir", trust]) == 0
    assert settle(watcher).kind == "reloaded" and recognizer.paper_model.card.version == "2030.1.1"
    assert [c.kind for c in changes] == ["reloaded"] * 3


def test_an_installed_companion_that_is_no_longer_trusted_is_refused_and_the_old_one_stays(
    kiosk_store, tmp_path
):
    env, install = kiosk_store
    assert install("stroke", "2030.1.1") == 0
    settings = Settings.resolve(env)
    recognizer = open_recognizer(settings, pen=True)
    assert recognizer.stroke_model.card.version == "2030.1.1"
    watcher = ModelWatcher(
        recognizer, companion_paths(settings, pen=True)["stroke"], kind="stroke", policy=settings.policy()
    )
    assert install("stroke", "2030.2.1") == 0
    for key in Path(env["DIGITKIOSK_TRUST_DIR"]).iterdir():
        key.unlink()  # the key is revoked: what the store installed is not loaded any more
    change = settle(watcher)
    assert change.kind == "refused" and "still using strokenet 2030.1.1" in change.message
    assert change.message.startswith("new stroke model refused")
    assert recognizer.stroke_model.card.version == "2030.1.1"


@pytest.mark.display
def test_the_running_kiosk_uses_a_pushed_stroke_model_without_a_restart(
    xdisplay, tmp_path, kiosk_store, pendigits_train
):
    if shutil.which("xdotool") is None:
        pytest.fail("xdotool is not installed")
    env, install = kiosk_store
    k = Kiosk(tmp_path / "events.jsonl", "--windowed", "--watch-interval", "0.2", env={**os.environ, **env})
    try:
        assert install("stroke", "2030.1.1") == 0
        event = k.wait_for(lambda e: e["event"].startswith("model_"), timeout=20)
        assert event["event"] == "model_reloaded"
        assert event["message"] == "stroke model updated to strokenet 2030.1.1"
        rows = pendigits_train[200:206]
        read = [k.prediction(k.draw([r["strokes"]], keys_before=["Escape"])) for r in rows]
        assert sum(p["text"] == str(r["label"]) for p, r in zip(read, rows, strict=True)) >= 5
    finally:
        k.stop()
