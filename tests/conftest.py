"""Shared fixtures over real components: the real data in ../shared/data, the real bundled model
through the real interpreter, a real X server (Xvfb) for the Tk tests."""

from __future__ import annotations

import gzip
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("DIGITKIOSK_SHARED_DATA", REPO.parent / "shared" / "data"))


def _program_variables() -> tuple[str, ...]:
    """Every environment variable the three commands read (their settings, read at the CLI edge)."""
    from digitkiosk.deploy.keys import ENV_KEY, ENV_PASSPHRASE
    from digitkiosk.device.settings import ENV_VARS

    return (*ENV_VARS, ENV_KEY, ENV_PASSPHRASE)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """No test sees the developer's DIGITKIOSK_* settings (a trust directory, development mode,
    another model): what a test needs, it sets itself. The test suite's own variables
    (DIGITKIOSK_SHARED_DATA, DIGITKIOSK_ARTIFACTS, DIGITKIOSK_REQUIRE_*) are not settings and stay."""
    for name in _program_variables():
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA} (set DIGITKIOSK_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mnist_dir(shared_data: Path) -> Path:
    return shared_data / "mnist"


def _idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


@pytest.fixture(scope="session")
def mnist_test(mnist_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (10000, 28, 28) uint8, labels (10000,) uint8)"""
    x = _idx(mnist_dir / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    y = _idx(mnist_dir / "t10k-labels-idx1-ubyte.gz", 8)
    return x, y


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def pendigits_train(shared_data: Path) -> list[dict]:
    """Real pen digits ({"label", "writer", "strokes"}), train split: for development tests."""
    return _jsonl(shared_data / "pendigits" / "train.jsonl")


@pytest.fixture(scope="session")
def pendigits_test(shared_data: Path) -> list[dict]:
    """Real pen digits by writers unseen in training: for measuring only."""
    return _jsonl(shared_data / "pendigits" / "test.jsonl")


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    from digitkiosk.device.loader import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def loaded_model():
    from digitkiosk.device.loader import load_model

    return load_model()


@pytest.fixture(scope="session")
def recognizer(loaded_model):
    """Pictures as `predict` and the camera read them: the bundled paper model, the bundled digit
    model its partner (paper_reader.py)."""
    from digitkiosk.device.paper_reader import default_paper_model_path, load_paper_model
    from digitkiosk.device.recognizer import Recognizer

    return Recognizer(loaded_model, paper_model=load_paper_model(default_paper_model_path()))


@pytest.fixture(scope="session")
def pen_recognizer(loaded_model):
    """The pen path as the kiosk and `digitkiosk strokes` run it: the bundled digit model and
    the bundled stroke model read together (stroke_reader.py)."""
    from digitkiosk.device.recognizer import Recognizer
    from digitkiosk.device.stroke_reader import default_stroke_model_path, load_stroke_model

    return Recognizer(loaded_model, stroke_model=load_stroke_model(default_stroke_model_path()))


@pytest.fixture()
def model_copy(tmp_path: Path, default_model_path: Path) -> Path:
    """A private copy of the bundled model and its card, safe to tamper with."""
    from tests.model_files import copy_package

    return copy_package(default_model_path.with_suffix(".json"), tmp_path).with_suffix(".tflite")


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory) -> Path:
    from digitkiosk.deploy.keys import keygen

    private, _public, _kid = keygen(tmp_path_factory.mktemp("signing") / "signing_key.pem")
    return private


@pytest.fixture(scope="session")
def other_signing_key(tmp_path_factory) -> Path:
    """A valid key that no kiosk trusts."""
    from digitkiosk.deploy.keys import keygen

    return keygen(tmp_path_factory.mktemp("rogue") / "rogue_key.pem")[0]


def model_version_copy(src: Path, folder: Path, version: str, key: Path | None) -> Path:
    """Copy model `src` and its card into `folder` with the card's version set (the .tflite is
    unchanged, so its sha256 still matches), signed with `key` unless None. → the card path."""
    from digitkiosk.deploy.keys import sign_model

    folder.mkdir(parents=True)
    shutil.copy2(src, folder / src.name)
    card = json.loads(src.with_suffix(".json").read_text())
    card["version"] = version
    # The regression gate's verdict that `push` requires (the same model: nothing to compare).
    card["gate"] = {"passed": True, "model_sha256": card["sha256"], "figures": {}}
    card_path = folder / src.with_suffix(".json").name
    card_path.write_text(json.dumps(card, indent=1))
    if key is not None:
        sign_model(card_path, key)
    return card_path


@pytest.fixture()
def make_model(tmp_path: Path, default_model_path: Path, signing_key: Path):
    """make_model("2030.1.1") → the card of a signed copy of the bundled model, with that version."""

    def make(version: str, key: Path | None = signing_key, folder: str | None = None) -> Path:
        return model_version_copy(default_model_path, tmp_path / "models" / (folder or version), version, key)

    return make


@pytest.fixture(scope="session")
def xdisplay(tmp_path_factory) -> str:
    """A real X server (Xvfb, 1280x800) for this test session; sets DISPLAY and returns it."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.fail("Xvfb is not installed: run the README's test command (it installs xvfb)")
    # Xvfb picks a free display itself and writes its number once it accepts connections
    # (-displayfd): no race with another Xvfb starting at the same time (pytest -n workers).
    log = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        pass_fds=(write_fd,),
    )
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + 10
    while not number.endswith(b"\n"):
        ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(read_fd, 16) if ready else b""
        if not chunk:  # Xvfb exited, or 10 s went by
            proc.kill()
            os.close(read_fd)
            pytest.fail(f"Xvfb did not start: {log.read_text()[-500:]}")
        number += chunk
    os.close(read_fd)
    display = f":{int(number)}"
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    yield display
    if old is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = old
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save artifacts for people (screenshots): artifacts/ in the repo (git-ignored)."""
    d = Path(os.environ.get("DIGITKIOSK_ARTIFACTS", REPO / "artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Test files holding a slow or arm64 test first, each file's tests kept together and in
    order: with `make test`'s workers (pytest-xdist, a file per worker at a time) the long runs
    start at once, and the short files fill the workers' time around them, instead of a training
    run collected last keeping one worker busy while the other has nothing left to do."""
    heavy = {
        item.path for item in items if item.get_closest_marker("slow") or item.get_closest_marker("arm64")
    }
    items.sort(key=lambda item: item.path not in heavy)  # stable: the order within each group stays
