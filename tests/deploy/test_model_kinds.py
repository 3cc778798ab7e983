"""Every kind of model (digit, paper, line, stroke: device/model_kinds.py) in its own store, through
the real `digitkiosk model ... --kind` command (in-process), real interpreters and signed copies of
the bundled models; and the device reading with what is installed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from digitkiosk.deploy.bundle import kind_of_card
from digitkiosk.device.cli import main as digitkiosk
from digitkiosk.device.commands.common import open_recognizer
from digitkiosk.device.model_kinds import KINDS, installed_card
from digitkiosk.device.settings import Settings
from digitkiosk.device.store import ModelStore

from tests.conftest import model_version_copy

MODELS = Path(__file__).resolve().parents[2] / "models"
BUNDLED = {"digit": "digitnet", "paper": "papernet", "line": "linenet", "stroke": "strokenet"}


@pytest.fixture()
def kiosk(tmp_path, signing_key):
    """A store and a trust directory holding the deploy key; `kiosk.copy(kind, version)` → the
    card of a signed copy of the bundled model of that kind with that version."""
    trust = tmp_path / "trust"
    trust.mkdir()
    shutil.copy2(signing_key.with_name("signing_key.pub"), trust / "deploy.pub")
    store = tmp_path / "store"

    class Kiosk:
        def __init__(self) -> None:
            self.store, self.trust = store, trust

        def model(self, *args: str) -> int:
            return digitkiosk(["model", *args, "--store", str(store), "--trust-dir", str(trust)])

        def copy(self, kind: str, version: str) -> Path:
            src = MODELS / f"{BUNDLED[kind]}.tflite"
            return model_version_copy(src, tmp_path / "copies" / f"{kind}-{version}", version, signing_key)

        def store_of(self, kind: str) -> ModelStore:
            return ModelStore(store, kind=kind, trust_dir=trust)

    return Kiosk()


def test_each_bundled_card_says_its_kind():
    for kind, name in BUNDLED.items():
        assert kind_of_card(json.loads((MODELS / f"{name}.json").read_text())) == kind


@pytest.mark.parametrize("kind", ["paper", "line", "stroke"])
def test_a_kind_installs_and_rolls_back_in_its_own_store(kiosk, kind, capsys):
    assert kiosk.model("install", str(kiosk.copy("digit", "2030.1.1"))) == 0
    assert kiosk.model("install", str(kiosk.copy(kind, "2030.1.1")), "--kind", kind) == 0
    assert kiosk.model("install", str(kiosk.copy(kind, "2030.2.1")), "--kind", kind) == 0
    assert f"installed {kind} model 2030.2.1 (previous: 2030.1.1)" in capsys.readouterr().out
    store = kiosk.store_of(kind)
    assert store.root == kiosk.store / kind
    assert os.readlink(store.current_link) == "versions/2030.2.1"
    assert installed_card(kiosk.store, kind) == store.root / "current" / f"{BUNDLED[kind]}.json"

    assert kiosk.model("status", "--kind", kind, "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["kind"] == kind and status["active"] == "2030.2.1" and status["healthy"]
    assert status["selftest"]["ok"] and status["selftest"]["trust"].startswith("key ")

    assert kiosk.model("rollback", "--kind", kind) == 0
    assert kiosk.store_of(kind).active_version == "2030.1.1"
    # The digit model's store is another store: untouched by all of it.
    assert kiosk.store_of("digit").active_version == "2030.1.1"
    assert kiosk.store_of("digit").previous_version is None
    assert kiosk.store_of("digit").versions() == ["2030.1.1"]


@pytest.mark.parametrize(
    ("model", "kind", "why"),
    [
        ("line", "paper", "input preparation"),  # another network altogether
        ("digit", "paper", "no 'pair' block"),  # a digit model without the pair's gate and threshold
        ("paper", "line", "input preparation"),
        ("digit", "stroke", "input preparation"),
        ("stroke", "digit", "input preparation"),
    ],
)
def test_a_model_of_another_kind_is_refused(kiosk, model, kind, why, capsys):
    assert kiosk.model("install", str(kiosk.copy(model, "2030.1.1")), "--kind", kind) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("digitkiosk: error: ") and why in err[0]
    store = kiosk.store_of(kind)
    assert store.active_version is None and store.versions() == []
    assert why in store.read_state()["last_error"]["message"]


def test_unsigned_models_of_every_kind_are_refused(kiosk, tmp_path, capsys):
    for kind in KINDS:
        card = model_version_copy(MODELS / f"{BUNDLED[kind]}.tflite", tmp_path / kind, "2030.1.1", None)
        assert kiosk.model("install", str(card), "--kind", kind) == 2
        assert "not signed" in capsys.readouterr().err
        assert kiosk.store_of(kind).active_version is None


def test_an_unknown_kind_is_a_clean_error(kiosk, capsys):
    with pytest.raises(SystemExit) as stop:
        kiosk.model("status", "--kind", "camera")
    assert stop.value.code == 2
    assert "invalid choice: 'camera'" in capsys.readouterr().err


def test_the_device_reads_with_the_installed_models_else_the_bundled_ones(kiosk):
    env = {"DIGITKIOSK_STORE": str(kiosk.store), "DIGITKIOSK_TRUST_DIR": str(kiosk.trust)}
    bundled = open_recognizer(Settings.resolve(env), fields=True, pen=True)
    assert bundled.paper_model.model.path == MODELS / "papernet.tflite"
    assert bundled.line_model.package.model_path == MODELS / "linenet.tflite"
    assert bundled.stroke_model.package.model_path == MODELS / "strokenet.tflite"

    for kind in ("paper", "line", "stroke"):
        assert kiosk.model("install", str(kiosk.copy(kind, "2030.1.1")), "--kind", kind) == 0
    r = open_recognizer(Settings.resolve(env), fields=True, pen=True)
    # Through the `current` link: the stable path that a later install or rollback switches.
    assert r.paper_model.model.path == kiosk.store / "paper" / "current" / "papernet.tflite"
    assert r.line_model.package.model_path == kiosk.store / "line" / "current" / "linenet.tflite"
    assert r.stroke_model.package.model_path == kiosk.store / "stroke" / "current" / "strokenet.tflite"
    assert r.paper_model.card.version == r.line_model.card.version == "2030.1.1"

    # A setting still wins: a named model, or none at all.
    named = open_recognizer(
        Settings.resolve({**env, "DIGITKIOSK_PAPER_MODEL": str(MODELS / "papernet.json")}), pen=True
    )
    assert named.paper_model.model.path == MODELS / "papernet.tflite"
    off = open_recognizer(Settings.resolve({**env, "DIGITKIOSK_LINE_MODEL": "off"}), fields=True)
    assert off.line_model is None


def test_the_pen_path_opens_its_companions_without_opencv():
    """Only the readers of the models used are imported: the line reader pulls in OpenCV, which
    the pen path (`digitkiosk strokes`) does without."""
    import subprocess
    import sys

    code = (
        "import sys; from digitkiosk.device.commands.common import open_recognizer; "
        "from digitkiosk.device.settings import Settings; "
        "r = open_recognizer(Settings.resolve({}), pen=True, pictures=False); "
        "print(r.stroke_model is not None, 'cv2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "True False", out.stderr
